package logins

import (
	"context"
	"log/slog"
	"time"

	"etpay-dashboard/models"
)

// Limiter is what the login pages need of a throttle: Throttle in memory
// (one instance, SQLite), or Shared in the database (instances sharing one
// PostgreSQL). Both keep the same rules; see Throttle.
type Limiter interface {
	// Allow counts an attempt from ip at email and reports whether it may go ahead.
	Allow(ip, email string) bool
	// Succeed gives back a right attempt and forgets the address's failures at the account.
	Succeed(ip, email string)
	// Passed gives back a right attempt that only leads to a second-factor code.
	Passed(ip, email string)
	// Failures reports the account's failures and how many addresses are refused at it.
	Failures(email string) (attempts, refused int)
	// Unlock forgets every failure at the account.
	Unlock(email string)
	// Window is how far back attempts are counted.
	Window() time.Duration
}

// For is the throttle of an instance on store: in memory on SQLite (one
// instance: no query per attempt), in the database on PostgreSQL, where
// several instances may serve the panel and a lock-out must hold on all.
func For(store *models.Store, logger *slog.Logger) Limiter {
	if store != nil && store.OnPostgres() {
		return &Shared{Store: store, Logger: logger}
	}
	return New()
}

// limits are the rules both throttles apply (see Throttle).
var limits = models.LoginLimits{Window: 15 * time.Minute, PerAddr: 20, PerPair: 5, AlarmAcct: 20}

// sharedTimeout bounds each of Shared's queries: a login never hangs on them.
const sharedTimeout = 5 * time.Second

// Shared is Throttle's rules over attempts kept in the database
// (models.LoginAttempt), counted one at a time across instances. A query
// that fails refuses the attempt (Allow) and is logged: a database that
// cannot count attempts cannot check a password either.
type Shared struct {
	Store  *models.Store
	Logger *slog.Logger
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time
}

func (s *Shared) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Shared) failed(what string, err error) {
	if err != nil && s.Logger != nil {
		s.Logger.Error("login throttle: "+what+" failed", "err", err)
	}
}

// Allow implements Limiter.
func (s *Shared) Allow(ip, email string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	ok, err := s.Store.AllowLoginAttempt(ctx, throttleAddr(ip), email, s.now(), limits)
	s.failed("counting an attempt", err)
	return ok && err == nil
}

// Succeed implements Limiter.
func (s *Shared) Succeed(ip, email string) { s.forgive(ip, email, true) }

// Passed implements Limiter.
func (s *Shared) Passed(ip, email string) { s.forgive(ip, email, false) }

func (s *Shared) forgive(ip, email string, forget bool) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	s.failed("giving back an attempt", s.Store.ForgiveLoginAttempt(ctx, throttleAddr(ip), email, forget))
}

// Failures implements Limiter.
func (s *Shared) Failures(email string) (attempts, refused int) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	attempts, refused, err := s.Store.LoginFailures(ctx, email, s.now(), limits)
	s.failed("reading failures", err)
	return attempts, refused
}

// Unlock implements Limiter.
func (s *Shared) Unlock(email string) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	s.failed("unlocking", s.Store.UnlockLogins(ctx, email))
}

// Window implements Limiter.
func (s *Shared) Window() time.Duration { return limits.Window }
