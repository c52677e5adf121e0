package handlers

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

func (a *app) showLogin(c *fiber.Ctx) error {
	l := a.locale(c)
	return a.render(c, fiber.StatusOK, "auth/login", fiber.Map{"Title": l.T("login.title")})
}

// login checks the password. Unknown users, disabled users and wrong
// passwords get the same answer after the same bcrypt work.
func (a *app) login(c *fiber.Ctx) error {
	l := a.locale(c)
	email := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
	password := c.FormValue("password")
	ip := a.clientIP(c)
	failed := func(status int, key string) error {
		return a.render(c, status, "auth/login", fiber.Map{"Title": l.T("login.title"), "Error": l.T(key), "Email": email})
	}
	if !a.throttle.allow(ip, email) {
		return failed(fiber.StatusTooManyRequests, "login.throttled")
	}
	user, err := a.Store.UserByEmail(c.UserContext(), email)
	if err != nil && err != models.ErrNotFound {
		return err
	}
	ok := false
	if user != nil {
		ok = models.PasswordMatches(user.PasswordHash, password) && !user.Disabled
	} else {
		models.PasswordMatches(a.dummyHash(), password)
	}
	if !ok {
		a.throttle.fail(ip, email)
		a.Logger.Warn("login failed", "ip", ip)
		a.auditAs(c, nil, email, models.AuditLoginFailed, "")
		return failed(fiber.StatusUnauthorized, "login.failed")
	}
	a.throttle.succeed(email)
	sid := rand.Text() + rand.Text()
	if err := a.Store.CreateStaffSession(c.UserContext(), sid, user.ID, sessionTTL*time.Second); err != nil {
		return err
	}
	session(c).startLogin(sid)
	a.Logger.Info("login", "user_id", user.ID, "ip", ip)
	a.auditAs(c, user, "", models.AuditLogin, "")
	return c.Redirect("/admin/sessions", fiber.StatusSeeOther)
}

func (a *app) logout(c *fiber.Ctx) error {
	sess := session(c)
	if id := sess.staffSessionID(); id != "" {
		user, _ := a.Store.UserBySession(c.UserContext(), id)
		if err := a.Store.DeleteStaffSession(c.UserContext(), id); err != nil {
			return err
		}
		if user != nil {
			a.auditAs(c, user, "", models.AuditLogout, "")
		}
	}
	sess.clear()
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// loginThrottle counts failed logins per client address and per account over
// a sliding window, in memory (one process serves the panel).
type loginThrottle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	window   time.Duration
	perIP    int
	perUser  int
	now      func() time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{failures: map[string][]time.Time{}, window: 15 * time.Minute, perIP: 20, perUser: 5, now: time.Now}
}

func (t *loginThrottle) allow(ip, email string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recent("ip:"+ip) < t.perIP && t.recent("user:"+email) < t.perUser
}

func (t *loginThrottle) fail(ip, email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.failures["ip:"+ip] = append(t.failures["ip:"+ip], now)
	t.failures["user:"+email] = append(t.failures["user:"+email], now)
	if len(t.failures) > 100_000 {
		t.failures = map[string][]time.Time{} // bound memory under a spray of addresses
	}
}

func (t *loginThrottle) succeed(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "user:"+email)
}

// recent counts failures inside the window, dropping older ones.
func (t *loginThrottle) recent(key string) int {
	cutoff := t.now().Add(-t.window)
	times := t.failures[key]
	i := 0
	for i < len(times) && times[i].Before(cutoff) {
		i++
	}
	times = times[i:]
	if len(times) == 0 {
		delete(t.failures, key)
	} else {
		t.failures[key] = times
	}
	return len(times)
}
