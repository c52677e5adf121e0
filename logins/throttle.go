// Package logins throttles password guesses without letting them lock an
// owner out: attempts are counted per client address and per account from
// each address, never per account alone. It keeps its counts in memory on
// SQLite (Throttle) and in the database on PostgreSQL (Shared), where several
// instances serve the panel; it knows nothing of HTTP.
package logins

import (
	"net"
	"sync"
	"time"
)

// Throttle limits password guesses over a sliding window, in memory (one
// process serves the panel; Shared is the same rules in the database). No limit refuses an account as such, so failures
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
type Throttle struct {
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

// New returns a throttle with the limits described on Throttle.
func New() *Throttle {
	return &Throttle{
		byIP: map[string][]time.Time{}, byPair: map[pairKey][]time.Time{}, byAccount: map[string][]time.Time{},
		window: limits.Window, perIP: limits.PerAddr, perPair: limits.PerPair, alarmAccount: limits.AlarmAcct, now: time.Now,
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

// Allow counts an attempt from ip at email and reports whether it may go
// ahead; a refused attempt is not counted.
func (t *Throttle) Allow(ip, email string) bool {
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

// Succeed gives back the attempt that turned out right and forgets the
// address's failures at the account. The account's failures from elsewhere
// stay: a login by the owner must not reopen the door to a distributed guess.
func (t *Throttle) Succeed(ip, email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	addr := throttleAddr(ip)
	delete(t.byPair, pairKey{email, addr})
	dropLast(t.byIP, addr, 1)
	dropLast(t.byAccount, email, 1)
}

// Passed gives back an attempt that turned out right without forgetting the
// failures before it: a password that opens only the way to a second-factor
// code. The codes then count as attempts of their own, and a new password
// entry cannot clear the wrong codes (only Succeed, at a whole login, does).
func (t *Throttle) Passed(ip, email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	addr := throttleAddr(ip)
	dropLast(t.byPair, pairKey{email, addr}, 1)
	dropLast(t.byIP, addr, 1)
	dropLast(t.byAccount, email, 1)
}

// Failures reports how many failed attempts the account has had in the
// window, from every address, and how many addresses are now refused at it.
func (t *Throttle) Failures(email string) (attempts, refused int) {
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

// Unlock forgets every failure at the account, and takes them off the
// addresses' own counts too, since they were counted there as well.
func (t *Throttle) Unlock(email string) {
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

// Window is how far back attempts are counted.
func (t *Throttle) Window() time.Duration { return t.window }
