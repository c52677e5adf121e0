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
		a.Logger.Warn("login failed", "ip", ip)
		a.auditAs(c, nil, email, models.AuditLoginFailed, "")
		return failed(fiber.StatusUnauthorized, "login.failed")
	}
	a.throttle.succeed(ip, email)
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

// loginThrottle limits password attempts per client address and per account
// over a sliding window, in memory (one process serves the panel). An attempt
// is counted before the password is checked, so parallel guesses cannot
// slip past the limit while bcrypt runs; a successful login gives it back.
type loginThrottle struct {
	mu      sync.Mutex
	byIP    map[string][]time.Time
	byUser  map[string][]time.Time
	window  time.Duration
	perIP   int
	perUser int
	now     func() time.Time
}

// maxThrottleKeys bounds each map's memory under a spray of addresses or names.
const maxThrottleKeys = 100_000

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{
		byIP: map[string][]time.Time{}, byUser: map[string][]time.Time{},
		window: 15 * time.Minute, perIP: 20, perUser: 5, now: time.Now,
	}
}

// allow counts an attempt for ip and email and reports whether it may go
// ahead; a refused attempt is not counted.
func (t *loginThrottle) allow(ip, email string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.recent(t.byIP, ip, now) >= t.perIP || t.recent(t.byUser, email, now) >= t.perUser {
		return false
	}
	t.add(t.byIP, ip, now)
	t.add(t.byUser, email, now)
	return true
}

// succeed clears the account's failures and gives the address its attempt back.
func (t *loginThrottle) succeed(ip, email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byUser, email)
	if times := t.byIP[ip]; len(times) > 0 {
		t.byIP[ip] = times[:len(times)-1]
	}
}

func (t *loginThrottle) add(m map[string][]time.Time, key string, now time.Time) {
	if _, ok := m[key]; !ok && len(m) >= maxThrottleKeys {
		t.prune(m, now)
	}
	m[key] = append(m[key], now)
}

// prune drops expired entries; if the map is still full, the oldest half of
// what remains goes, so one flood cannot wipe every account's count at once.
func (t *loginThrottle) prune(m map[string][]time.Time, now time.Time) {
	for key := range m {
		t.recent(m, key, now)
	}
	if len(m) < maxThrottleKeys {
		return
	}
	cutoff := now.Add(-t.window / 2)
	for key, times := range m {
		if times[len(times)-1].Before(cutoff) {
			delete(m, key)
		}
	}
}

// recent counts key's attempts inside the window, dropping older ones.
func (t *loginThrottle) recent(m map[string][]time.Time, key string, now time.Time) int {
	cutoff := now.Add(-t.window)
	times := m[key]
	i := 0
	for i < len(times) && times[i].Before(cutoff) {
		i++
	}
	times = times[i:]
	if len(times) == 0 {
		delete(m, key)
	} else {
		m[key] = times
	}
	return len(times)
}
