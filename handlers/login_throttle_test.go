package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

// Client addresses the tests log in from; loopback is trusted as a proxy, so
// each browser's X-Forwarded-For is its address.
const (
	guesserAddr = "203.0.113.7"
	ownerAddr   = "198.51.100.20"
	adminAddr   = "192.0.2.1"
)

func throttleHarness(t *testing.T) *harness {
	t.Helper()
	return newHarness(t, withEnv("TRUSTED_PROXIES", "127.0.0.1/32"))
}

// guess posts a wrong password for email and returns the status.
func (b *browser) guess(email string) int {
	b.h.t.Helper()
	return b.loginWith(email, "not the password at all").status
}

func TestGuessesFromOneAddressDoNotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	h := throttleHarness(t)
	owner := h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("admin@shop.cl", models.RoleAdmin)

	guesser := h.browserFrom(guesserAddr)
	for i := range 5 {
		if s := guesser.guess("staff@shop.cl"); s != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, s)
		}
	}
	for i := range 3 {
		if r := guesser.loginWith("staff@shop.cl", testPassword); r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Demasiados intentos") {
			t.Fatalf("the guessing address, attempt %d after its 5 failures: %d, want 429 with the throttled message", i+1, r.status)
		}
	}

	// The owner, elsewhere, gets in with the right password...
	ownerBrowser := h.browserFrom(ownerAddr)
	ownerBrowser.login("staff@shop.cl")
	// ...and that does not reopen the door for the guesser.
	if r := guesser.loginWith("staff@shop.cl", testPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("the guessing address after the owner's login: %d, want 429", r.status)
	}

	// The audit log shows each failure with the address it came from.
	admin := h.browserFrom(adminAddr)
	admin.login("admin@shop.cl")
	failures := 0
	for _, row := range auditRows(admin.get("/admin/audit").body) {
		if row[1] == models.AuditLoginFailed {
			if !strings.Contains(row[2], "staff@shop.cl") || !strings.Contains(row[2], guesserAddr) {
				t.Errorf("failed-login row lacks the email or the address %s:\n%s", guesserAddr, row[2])
			}
			failures++
		}
	}
	if failures != 5 {
		t.Errorf("audit log lists %d failed logins, want the 5 checked guesses", failures)
	}

	// Only an admin may unlock, and only with the page's CSRF token.
	if r := ownerBrowser.submit("/admin/account", userPath(owner, "/unlock"), url.Values{}); r.status != http.StatusForbidden {
		t.Fatalf("staff unlocking: %d, want 403", r.status)
	}
	if r := admin.post(userPath(owner, "/unlock"), url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Fatalf("unlock with a forged token: %d, want 403", r.status)
	}
	if r := guesser.loginWith("staff@shop.cl", testPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("refused unlocks unlocked: %d", r.status)
	}

	page := admin.get(userPath(owner, ""))
	if !strings.Contains(page.body, `action="/admin/users/`+itoa(owner.ID)+`/unlock"`) || !strings.Contains(page.body, "Intentos fallidos de inicio de sesión en los últimos 15 minutos: 5.") {
		t.Fatalf("the user page does not show the failures and the unlock button:\n%s", page.body)
	}
	r := admin.submit(userPath(owner, ""), userPath(owner, "/unlock"), url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != userPath(owner, "") {
		t.Fatalf("unlock: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	page = admin.get(r.header.Get("Location"))
	if !strings.Contains(page.body, "Inicio de sesión desbloqueado") || strings.Contains(page.body, "/unlock") {
		t.Fatalf("after unlocking, the page still offers it or does not confirm:\n%s", page.body)
	}
	if r := guesser.loginWith("staff@shop.cl", testPassword); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions" {
		t.Fatalf("the unlocked address with the right password: %d %s, want 303 /admin/sessions", r.status, r.header.Get("Location"))
	}
	unlocks := 0
	for _, row := range auditRows(admin.get("/admin/audit").body) {
		if row[1] == models.AuditUnlock && strings.Contains(row[2], "admin@shop.cl") && strings.Contains(row[2], "staff@shop.cl") {
			unlocks++
		}
	}
	if unlocks != 1 {
		t.Errorf("audit log lists %d unlocks by the admin of staff@shop.cl, want 1", unlocks)
	}
}

func TestDistributedGuessesGetOneAttemptPerAddress(t *testing.T) {
	t.Parallel()
	h := throttleHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	// Four addresses use their five guesses each: 20 failures at the account.
	for _, addr := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"} {
		b := h.browserFrom(addr)
		for i := range 5 {
			if s := b.guess("staff@shop.cl"); s != http.StatusUnauthorized {
				t.Fatalf("%s guess %d: %d, want 401", addr, i+1, s)
			}
		}
	}
	// From now on each new address gets one guess at this account...
	late := h.browserFrom("203.0.113.5")
	if s := late.guess("staff@shop.cl"); s != http.StatusUnauthorized {
		t.Fatalf("a new address's first guess: %d, want 401", s)
	}
	if s := late.guess("staff@shop.cl"); s != http.StatusTooManyRequests {
		t.Fatalf("a new address's second guess at an account under attack: %d, want 429", s)
	}
	// ...and the owner, from an address that has not been failing, still gets in.
	h.browserFrom(ownerAddr).login("staff@shop.cl")
	// Other accounts are not affected.
	h.addUser("other@shop.cl", models.RoleStaff)
	h.browserFrom("203.0.113.6").login("other@shop.cl")
}

func TestOneAddressGuessingManyAccountsIsThrottled(t *testing.T) {
	t.Parallel()
	h := throttleHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	tests := []struct {
		name string
		// addrs are the addresses of the 20 guesses, in turn; next is the 21st.
		addrs []string
		next  string
	}{
		{"one IPv4 address", []string{"203.0.113.9"}, "203.0.113.9"},
		{"one IPv6 /64", []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"}, "2001:db8:1:2::abcd"},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 20 {
				// Four guesses at each of five unknown accounts stay under the per-account limit.
				email := "nobody" + itoa(uint(n)) + "-" + itoa(uint(i/4)) + "@shop.cl"
				if s := h.browserFrom(tt.addrs[i%len(tt.addrs)]).guess(email); s != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d, want 401", i+1, s)
				}
			}
			if r := h.browserFrom(tt.next).loginWith("staff@shop.cl", testPassword); r.status != http.StatusTooManyRequests {
				t.Fatalf("the 21st attempt from the same address: %d, want 429", r.status)
			}
		})
	}
	h.browserFrom("2001:db8:1:3::1").login("staff@shop.cl") // the next /64 is another address
}
