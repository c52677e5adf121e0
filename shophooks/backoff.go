package shophooks

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Schedule is the wait after each failed attempt, the specification's
// example: the first attempt at once, then 5 s, 5 min, 30 min, 2 h, 5 h,
// 10 h, 14 h, 20 h and 24 h after each failure. Ten attempts span 75 h 35 min,
// more than three days; after the tenth the delivery fails.
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// Backoff is the wait after failed attempt n (from 1), plus up to a tenth
// of it at random, so that endpoints failing together are not retried in
// step; false after the last attempt.
func Backoff(n int) (time.Duration, bool) {
	if n < 1 || n > len(Schedule) {
		return 0, false
	}
	d := Schedule[n-1]
	return d + rand.N(d/10+1), true
}

// maxRetryAfter caps how long an endpoint's Retry-After may postpone an attempt.
const maxRetryAfter = 24 * time.Hour

// retryAfter is the wait a 429 or 503 answer asks for in seconds (zero when
// none), which the next attempt honours if longer than the schedule's.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs <= 0 {
		return 0
	}
	// Capped in seconds, before the multiplication could overflow.
	return time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
}
