package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

// twoInstances are two apps, each with its own Store, on one database, as
// two instances behind a load balancer. Their hosts differ only by port, so
// a browser's cookies (kept per host, whatever the port) go to both.
func twoInstances(t *testing.T) (*harness, *harness) {
	t.Helper()
	url := testdb.URL(t, "test.db")
	opts := []harnessOption{withEnv("DATABASE_URL", url), withEnv("TRUSTED_PROXIES", "127.0.0.1/32")}
	return newHarness(t, opts...), newHarness(t, opts...)
}

// TestLoginsAcrossInstances: a login made on A works on B, a role changed on
// A holds on B, and a logout on B ends the login on A.
func TestLoginsAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	admin := a.loggedIn("admin@shop.cl", models.RoleAdmin)
	staff := a.loggedIn("staff@shop.cl", models.RoleStaff)
	if r := staff.get(b.base + "/admin/links/new"); r.status != http.StatusOK {
		t.Fatalf("A's login on B: %d, want 200", r.status)
	}
	user, err := a.store.UserByEmail(t.Context(), "staff@shop.cl")
	if err != nil {
		t.Fatal(err)
	}
	admin.submit(userPath(user, ""), userPath(user, "/role"), url.Values{"role": {models.RoleViewer}})
	if r := staff.get(b.base + "/admin/links/new"); r.status != http.StatusForbidden {
		t.Fatalf("on B after A made the user a viewer: %d, want 403", r.status)
	}
	if r := staff.submit(b.base+"/admin/sessions", b.base+"/logout", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("logout on B: %d", r.status)
	}
	if r := staff.get(a.base + "/admin/sessions"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("on A after the logout on B: %d %s, want 303 to /login", r.status, r.header.Get("Location"))
	}
}

// TestLockOutAcrossInstances: an address that used up its guesses at an
// account on A is refused on B too, while the owner still gets in on B.
func TestLockOutAcrossInstances(t *testing.T) {
	t.Parallel()
	testdb.RequirePostgres(t, "on SQLite one instance serves the panel and counts attempts in memory")
	a, b := twoInstances(t)
	a.addUser("staff@shop.cl", models.RoleStaff)
	onA := a.browserFrom(guesserAddr)
	for i := range 5 {
		if s := onA.guess("staff@shop.cl"); s != http.StatusUnauthorized {
			t.Fatalf("guess %d on A: %d, want 401", i+1, s)
		}
	}
	if s := b.browserFrom(guesserAddr).guess("staff@shop.cl"); s != http.StatusTooManyRequests {
		t.Fatalf("a sixth guess, on B: %d, want 429", s)
	}
	owner := b.browserFrom(ownerAddr)
	owner.login("staff@shop.cl")
}
