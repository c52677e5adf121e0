package config

import (
	"fmt"
	"strconv"
)

// DefaultAPIRateLimit is API_RATE_LIMIT's default (Settings says the same).
const DefaultAPIRateLimit = 10

// MaxAPIRateLimit bounds API_RATE_LIMIT: more would be no limit at all.
const MaxAPIRateLimit = 10_000

// loadAPI reads the API's settings.
func (c *Config) loadAPI(src *source) {
	raw := src.orDefault("API_RATE_LIMIT")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxAPIRateLimit {
		src.fail(fmt.Errorf("API_RATE_LIMIT %q is not a whole number of requests a second from 1 to %d", raw, MaxAPIRateLimit))
		return
	}
	c.APIRateLimit = n
}
