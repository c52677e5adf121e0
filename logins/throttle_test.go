package logins

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

// kinds are the two throttles, each made new on the clock now: the rules
// must be the same in memory and in the database (on the test run's engine).
var kinds = map[string]func(t *testing.T, now *time.Time) Limiter{
	"memory": func(t *testing.T, now *time.Time) Limiter {
		th := New()
		th.now = func() time.Time { return *now }
		return th
	},
	"database": func(t *testing.T, now *time.Time) Limiter {
		store, err := models.Open(context.Background(), testdb.URL(t, "t.db"), models.WithPasswordCost(bcrypt.MinCost))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		return &Shared{Store: store, Now: func() time.Time { return *now }}
	},
}

// TestLoginThrottleRules drives the throttle on a fake clock: the window, what
// a success forgives and what an unlock clears.
func TestLoginThrottleRules(t *testing.T) {
	for kind, newLimiter := range kinds {
		t.Run(kind, func(t *testing.T) { t.Parallel(); throttleRules(t, newLimiter) })
	}
}

func throttleRules(t *testing.T, newLimiter func(*testing.T, *time.Time) Limiter) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newLimiter(t, &now)
	const a, b, acct = "203.0.113.7", "198.51.100.20", "staff@shop.cl"
	tries := func(ip, email string, n int) (allowed int) {
		for range n {
			if th.Allow(ip, email) {
				allowed++
			}
		}
		return allowed
	}

	if got := tries(a, acct, 8); got != 5 {
		t.Fatalf("one address at one account: %d attempts allowed, want 5", got)
	}
	if !th.Allow(b, acct) {
		t.Fatal("another address was refused at the account")
	}
	th.Succeed(b, acct) // b's attempt was the right password
	if got, refused := th.Failures(acct); got != 5 || refused != 1 {
		t.Fatalf("failures = %d, %d refused; want 5 failures, 1 address refused", got, refused)
	}
	now = now.Add(14 * time.Minute)
	if th.Allow(a, acct) {
		t.Fatal("the window forgot a's failures after 14 minutes")
	}
	now = now.Add(time.Minute + time.Second)
	if !th.Allow(a, acct) {
		t.Fatal("a is still refused once its failures are 15 minutes old")
	}

	// An unlock clears the account's failures and their share of the
	// addresses' own counts, but not what an address did elsewhere.
	th = newLimiter(t, &now)
	tries(a, acct, 5)
	for i := range 15 {
		tries(a, "nobody"+string(rune('a'+i))+"@shop.cl", 1)
	}
	if th.Allow(a, "someone@shop.cl") {
		t.Fatal("20 attempts from one address did not throttle it")
	}
	th.Unlock(acct)
	if got, _ := th.Failures(acct); got != 0 {
		t.Fatalf("failures after unlock = %d", got)
	}
	if got := tries(a, acct, 10); got != 5 {
		t.Fatalf("after unlock, a got %d attempts at the account, want 5 again", got)
	}
}

// TestPassedKeepsEarlierFailures: a right password before a second factor
// costs nothing, but neither does it forgive the wrong codes before it.
func TestPassedKeepsEarlierFailures(t *testing.T) {
	for kind, newLimiter := range kinds {
		t.Run(kind, func(t *testing.T) { t.Parallel(); passedKeeps(t, newLimiter) })
	}
}

func passedKeeps(t *testing.T, newLimiter func(*testing.T, *time.Time) Limiter) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newLimiter(t, &now)
	const a, acct = "203.0.113.7", "staff@shop.cl"
	for round := range 4 {
		if !th.Allow(a, acct) {
			t.Fatalf("round %d: the password attempt was refused", round)
		}
		th.Passed(a, acct) // the password was right
		if !th.Allow(a, acct) {
			t.Fatalf("round %d: the code attempt was refused", round)
		}
		// the code was wrong: it stays counted
	}
	if got, _ := th.Failures(acct); got != 4 {
		t.Fatalf("failures = %d, want the 4 wrong codes", got)
	}
	th.Allow(a, acct)
	th.Passed(a, acct)
	if !th.Allow(a, acct) { // a fifth wrong code
		t.Fatal("the fifth code was refused")
	}
	if th.Allow(a, acct) {
		t.Fatal("after 5 wrong codes, with right passwords between them, the address still gets attempts")
	}
}
