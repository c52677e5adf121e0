package handlers

import (
	"crypto/rand"
	"net"
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

// loginThrottle limits password guesses over a sliding window, in memory (one
// process serves the panel). No limit refuses an account as such, so failures
// from other addresses can never keep its owner out. The limits are:
//
//   - per address: perIP attempts at any accounts (one address spraying);
//   - per account and address: perPair attempts (one address guessing one
//     account's password);
//   - per account, from every address: once an account has collected
//     alarmAccount failures it is under a distributed guess, and each address
//     gets a single attempt at it instead of perPair.
//
// An address that has not been failing therefore always gets an attempt, and
// a correct password then gets in. IPv6 addresses are counted by /64, the
// block one customer of a provider usually holds.
//
// An attempt is counted before the password is checked, so parallel guesses
// cannot slip past a limit while bcrypt runs; a successful login gives it back
// and forgets that address's failures at the account.
type loginThrottle struct {
	mu           sync.Mutex
	byIP         map[string][]time.Time
	byPair       map[pairKey][]time.Time
	byAccount    map[string][]time.Time
	window       time.Duration
	perIP        int
	perPair      int
	alarmAccount int
	now          func() time.Time
}

// pairKey is one address guessing at one account.
type pairKey struct{ email, addr string }

// maxThrottleKeys bounds each map's memory under a spray of addresses or names.
const maxThrottleKeys = 100_000

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{
		byIP: map[string][]time.Time{}, byPair: map[pairKey][]time.Time{}, byAccount: map[string][]time.Time{},
		window: 15 * time.Minute, perIP: 20, perPair: 5, alarmAccount: 20, now: time.Now,
	}
}

// throttleAddr is the part of a client address that is counted: the address
// itself for IPv4, its /64 for IPv6, where one host can pick any of 2^64.
func throttleAddr(ip string) string {
	parsed := net.ParseIP(ip)
	if parsed == nil || parsed.To4() != nil {
		return ip
	}
	return parsed.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// allow counts an attempt from ip at email and reports whether it may go
// ahead; a refused attempt is not counted.
func (t *loginThrottle) allow(ip, email string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	addr := throttleAddr(ip)
	pair := pairKey{email, addr}
	perPair := t.perPair
	if recent(t.byAccount, email, now, t.window) >= t.alarmAccount {
		perPair = 1
	}
	if recent(t.byIP, addr, now, t.window) >= t.perIP || recent(t.byPair, pair, now, t.window) >= perPair {
		return false
	}
	add(t.byIP, addr, now, t.window)
	add(t.byPair, pair, now, t.window)
	add(t.byAccount, email, now, t.window)
	return true
}

// succeed gives back the attempt that turned out right and forgets the
// address's failures at the account. The account's failures from elsewhere
// stay: a login by the owner must not reopen the door to a distributed guess.
func (t *loginThrottle) succeed(ip, email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	addr := throttleAddr(ip)
	delete(t.byPair, pairKey{email, addr})
	dropLast(t.byIP, addr, 1)
	dropLast(t.byAccount, email, 1)
}

// failures reports how many failed attempts the account has had in the
// window, from every address, and how many addresses are now refused at it.
func (t *loginThrottle) failures(email string) (attempts, refused int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	attempts = recent(t.byAccount, email, now, t.window)
	perPair := t.perPair
	if attempts >= t.alarmAccount {
		perPair = 1
	}
	for key := range t.byPair {
		if key.email == email && recent(t.byPair, key, now, t.window) >= perPair {
			refused++
		}
	}
	return attempts, refused
}

// unlock forgets every failure at the account, and takes them off the
// addresses' own counts too, since they were counted there as well.
func (t *loginThrottle) unlock(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	delete(t.byAccount, email)
	for key := range t.byPair {
		if key.email == email {
			dropLast(t.byIP, key.addr, recent(t.byPair, key, now, t.window))
			delete(t.byPair, key)
		}
	}
}

// add records an attempt at key, making room first when the map is full.
func add[K comparable](m map[K][]time.Time, key K, now time.Time, window time.Duration) {
	if _, ok := m[key]; !ok && len(m) >= maxThrottleKeys {
		prune(m, now, window)
	}
	m[key] = append(m[key], now)
}

// dropLast removes key's n most recent attempts.
func dropLast[K comparable](m map[K][]time.Time, key K, n int) {
	times := m[key]
	if n >= len(times) {
		delete(m, key)
		return
	}
	m[key] = times[:len(times)-n]
}

// prune drops expired entries; if the map is still full, the oldest half of
// what remains goes, so one flood cannot wipe every account's count at once.
func prune[K comparable](m map[K][]time.Time, now time.Time, window time.Duration) {
	for key := range m {
		recent(m, key, now, window)
	}
	if len(m) < maxThrottleKeys {
		return
	}
	cutoff := now.Add(-window / 2)
	for key, times := range m {
		if times[len(times)-1].Before(cutoff) {
			delete(m, key)
		}
	}
}

// recent counts key's attempts inside the window, dropping older ones.
func recent[K comparable](m map[K][]time.Time, key K, now time.Time, window time.Duration) int {
	cutoff := now.Add(-window)
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
