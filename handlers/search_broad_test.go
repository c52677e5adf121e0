package handlers_test

import (
	"context"
	"net/url"
	"testing"

	"etpay-dashboard/models"
	"etpay-dashboard/seed"
)

// A search matching more than models.BroadSearch rows says "more than
// 1,000" on both lists, in both languages, with no paid total (the page
// says why), and still shows its first page and the way on.
func TestBroadSearchSaysMoreThan(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := seed.Run(context.Background(), h.store, models.BroadSearch+60); err != nil {
		t.Fatal(err)
	}
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	sessions := b.get("/admin/sessions?q=demo")
	if got, want := listCount(sessions.body), "Sesiones: más de 1.000 · Afina la búsqueda para ver el total pagado."; got != want {
		t.Errorf("sessions count %q, want %q", got, want)
	}
	if n := len(tableOrders(sessions.body)); n != 50 || !nextLink.MatchString(sessions.body) {
		t.Errorf("first page of a broad search: %d rows, next link %v", n, nextLink.MatchString(sessions.body))
	}
	links := b.get("/admin/links?q=DEMO")
	if got, want := listCount(links.body), "Links: más de 1.000"; got != want {
		t.Errorf("links count %q, want %q", got, want)
	}
	if n := len(linkOrders(links.body)); n != 50 {
		t.Errorf("links: %d rows, want 50", n)
	}
	// Narrowed below the bound, the count and total are exact again.
	exact := b.get("/admin/sessions?q=demo&status=failed")
	if got, all := listCount(exact.body), listCount(b.get("/admin/sessions?status=failed").body); got != all {
		t.Errorf("demo and failed: %q, want the failed sessions' %q", got, all)
	}
	b.submit("/admin/account", "/admin/account/lang", url.Values{"lang": {"en"}})
	if got, want := listCount(b.get("/admin/sessions?q=demo").body), "Sessions: more than 1,000 · Narrow the search to see the total paid."; got != want {
		t.Errorf("in English: %q, want %q", got, want)
	}
	if got, want := listCount(b.get("/admin/links?q=demo").body), "Links: more than 1,000"; got != want {
		t.Errorf("links in English: %q, want %q", got, want)
	}
}
