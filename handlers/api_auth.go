package handlers

import (
	"cmp"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/ratelimit"
)

// The API's door: a key in Authorization: Bearer, looked up by its hash on
// every request (no cache, so a revocation holds from the next request on),
// in the mode it was made in, within its rate. No session or CSRF: the
// key is the credential, and browsers never send it by themselves.

// localAPIKey is where requireAPIKey leaves the request's key.
const localAPIKey = "apiKey"

// apiRealm is the realm of every WWW-Authenticate challenge.
const apiRealm = `Bearer realm="etpay-dashboard"`

// newAPILimiter is the per-key limiter API_RATE_LIMIT asks for (0, in a
// Config not made by config.Load: the default).
func newAPILimiter(perSecond int) *ratelimit.Limiter {
	perSecond = cmp.Or(perSecond, config.DefaultAPIRateLimit)
	return ratelimit.New(float64(perSecond), 2*perSecond)
}

// apiKeyOf is the key of an API request that passed requireAPIKey.
func apiKeyOf(c *fiber.Ctx) *models.APIKey {
	k, _ := c.Locals(localAPIKey).(*models.APIKey)
	return k
}

// bearerToken reads "Bearer <token>" (the scheme in any case).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// requireAPIKey lets a request through only with a live key of this mode,
// within its rate limit.
func (a *app) requireAPIKey(c *fiber.Ctx) error {
	token, ok := bearerToken(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return newAPIError(fiber.StatusUnauthorized, "missing_key").with(fiber.HeaderWWWAuthenticate, apiRealm)
	}
	invalid := apiRealm + `, error="invalid_token"`
	key, err := a.Store.APIKeyByKey(c.UserContext(), token)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return newAPIError(fiber.StatusUnauthorized, "invalid_key").with(fiber.HeaderWWWAuthenticate, invalid)
	case err != nil:
		return err
	case key.Revoked():
		return newAPIError(fiber.StatusUnauthorized, "revoked_key").with(fiber.HeaderWWWAuthenticate, invalid)
	case key.Mode != a.mode:
		return newAPIError(fiber.StatusUnauthorized, "key_mode", key.Mode, a.mode).
			with(fiber.HeaderWWWAuthenticate, invalid)
	}
	now := a.now()
	if ok, wait := a.apiLimit.Take(key.ID, now); !ok {
		seconds := strconv.Itoa(int(math.Ceil(wait.Seconds())))
		return newAPIError(fiber.StatusTooManyRequests, "rate_limited", seconds).with(fiber.HeaderRetryAfter, seconds)
	}
	if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) >= models.APIKeyTouchEvery {
		if err := a.Store.TouchAPIKey(c.UserContext(), key.ID, now); err != nil {
			a.Logger.Warn("api key use not recorded", "api_key_id", key.ID, "err", err)
		}
	}
	c.Locals(localAPIKey, key)
	return c.Next()
}

// apiWrite lets only write keys through.
func apiWrite(c *fiber.Ctx) error {
	if apiKeyOf(c).Scope != models.APIScopeWrite {
		return newAPIError(fiber.StatusForbidden, "insufficient_scope").
			with(fiber.HeaderWWWAuthenticate, apiRealm+`, error="insufficient_scope", scope="write"`)
	}
	return c.Next()
}

// auditAPI records a change made through the API, its key named as the author.
func (a *app) auditAPI(c *fiber.Ctx, action, detail string) {
	a.auditAs(c, nil, apiKeyOf(c).AuditName(), action, detail)
}
