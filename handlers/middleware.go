package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// Keys of values kept in c.Locals.
const (
	localSession = "session"
	localUser    = "user"
)

func (a *app) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.Logger.Error("panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fiber.ErrInternalServerError
		}
	}()
	return c.Next()
}

// secretInPath matches the parts of our paths that are secrets: link codes and
// ETpay session tokens. Logs show a short hash instead.
var secretInPath = regexp.MustCompile(`^(/pay/|/sandbox/session/)([^/]+)`)

// logRequests writes one line per request, without the query string (it may
// carry a JWT) and with secret path parts masked.
func (a *app) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		if fe, ok := err.(*fiber.Error); ok {
			status = fe.Code
		} else {
			status = fiber.StatusInternalServerError
		}
	}
	a.Logger.Info("request",
		"method", c.Method(),
		"path", maskPath(c.Path()),
		"status", status,
		"duration_ms", time.Since(start).Milliseconds(),
		"ip", a.clientIP(c))
	return err
}

func maskPath(path string) string {
	return secretInPath.ReplaceAllStringFunc(path, func(m string) string {
		parts := secretInPath.FindStringSubmatch(m)
		return parts[1] + shortHash(parts[2])
	})
}

// shortHash names a secret in logs without revealing it.
func shortHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "h:" + hex.EncodeToString(sum[:4])
}

// securityHeaders applies to every answer: no inline script, no framing.
func securityHeaders(c *fiber.Ctx) error {
	if !strings.HasPrefix(c.Path(), SandboxPrefix+"/") { // the simulator sets its own, as ETpay would
		c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
	}
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: our own form posts keep their Referer.
	c.Set("Referrer-Policy", "same-origin")
	return c.Next()
}

// noStore keeps staff pages out of every cache.
func noStore(c *fiber.Ctx) error {
	c.Set("Cache-Control", "no-store")
	return c.Next()
}

// withSession loads the gorilla session for this request and saves it back
// after the handler, so handlers only read and set values.
func (a *app) withSession(c *fiber.Ctx) error {
	sess := a.cookies.load(c)
	c.Locals(localSession, sess)
	if sess.csrfToken() == "" {
		sess.newCSRFToken()
	}
	err := c.Next()
	if saveErr := a.cookies.save(c, sess); saveErr != nil && err == nil {
		err = saveErr
	}
	return err
}

func session(c *fiber.Ctx) *cookieSession {
	s, _ := c.Locals(localSession).(*cookieSession)
	return s
}

// currentUser is the logged-in user, or nil on public pages.
func currentUser(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(localUser).(*models.User)
	return u
}

// requireLogin sends anyone without a live staff session to /login.
func (a *app) requireLogin(c *fiber.Ctx) error {
	sess := session(c)
	id := sess.staffSessionID()
	if id == "" {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	user, err := a.Store.UserBySession(c.UserContext(), id)
	if err == models.ErrNotFound {
		// A password without its second factor is no login: it may only
		// answer the code (or log out).
		awaiting, err := a.awaitsCode(c, id)
		if err != nil {
			return err
		}
		if awaiting {
			return c.Redirect(loginCodePath, fiber.StatusSeeOther)
		}
		sess.clear()
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	c.Locals(localUser, user)
	return a.requireSecondFactor(c, user)
}

// errCSRF is answered when a form's token does not match the session's.
var errCSRF = fiber.NewError(fiber.StatusForbidden, "csrf")

// checkCSRF refuses every state-changing request whose form token does not
// match the one kept in the session cookie.
func (a *app) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	want := session(c).csrfToken()
	got := c.FormValue("csrf")
	if got == "" {
		got = c.Get("X-CSRF-Token")
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return errCSRF
	}
	return c.Next()
}

// clientIP is the caller's address, believing X-Forwarded-For only from TRUSTED_PROXIES.
func (a *app) clientIP(c *fiber.Ctx) string {
	remote := net.ParseIP(c.Context().RemoteIP().String())
	if !a.trusted(remote) {
		return remote.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip := net.ParseIP(strings.TrimSpace(hops[i]))
		if ip == nil {
			break
		}
		if !a.trusted(ip) {
			return ip.String()
		}
		remote = ip
	}
	return remote.String()
}

func (a *app) trusted(ip net.IP) bool {
	for _, n := range a.Config.TrustedProxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
