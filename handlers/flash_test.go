package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

// flashText is the layout's one-shot message, as the page shows it.
var flashText = regexp.MustCompile(`<p class="flash-message" id="flash" role="status">([^<]*)</p>`)

// flashOf returns the flash message on page, or "".
func flashOf(page string) string {
	if m := flashText.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

// followDone follows an action's 303 and returns the flash of the page it
// leads to, checking that the redirect carries no notice in its query and
// that a second visit shows the message no more.
func (b *browser) followDone(r response) string {
	t := b.h.t
	t.Helper()
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || loc == "" {
		t.Fatalf("action answered %d %q, want 303:\n%s", r.status, loc, r.body)
	}
	if strings.Contains(loc, "?") {
		t.Errorf("the action redirects to %q: its notice should be the flash, not the query", loc)
	}
	said := flashOf(b.get(loc).body)
	if again := flashOf(b.get(loc).body); again != "" {
		t.Errorf("the flash %q shows again on the next visit to %s", again, loc)
	}
	return said
}

// TestFlashSaysWhatHappened checks the messages after the link's actions and
// the account's, each shown once by the layout in #flash, and that viewers
// and other people's pages do not see them.
func TestFlashSaysWhatHappened(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	other := h.loggedIn("other@shop.cl", models.RoleStaff)

	r := staff.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {"OC-FLASH"}, "order_amount": {"5000"}, "customer_email": {"ana@cliente.cl"}})
	page := r.header.Get("Location")
	if said := staff.followDone(r); !strings.Contains(said, "Link creado") {
		t.Errorf("after making a link: %q", said)
	}
	steps := []struct {
		name   string
		page   string
		action string
		form   url.Values
		want   string
	}{
		{"expiry", page, page + "/expiry", url.Values{"expires_at": {"2030-12-31T18:00"}}, "Vencimiento guardado"},
		{"no expiry", page, page + "/expiry", url.Values{"expires_at": {""}}, "Vencimiento quitado"},
		{"send again", page, page + "/email", url.Values{"lang": {"es"}}, "no hay servidor SMTP"},
		{"language", "/admin/account", "/admin/account/lang", url.Values{"lang": {"es"}}, "Idioma guardado"},
		{"alerts", "/admin/account", "/admin/account/alerts", url.Values{"alerts": {"on"}}, "Avisos por correo activados"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if said := staff.followDone(staff.submit(s.page, s.action, s.form)); !strings.Contains(said, s.want) {
				t.Errorf("%s: the next page says %q, want %q", s.action, said, s.want)
			}
		})
	}
	t.Run("only the one who acted", func(t *testing.T) {
		staff.submit(page, page+"/expiry", url.Values{"expires_at": {""}})
		if said := flashOf(other.get(page).body); said != "" {
			t.Errorf("another user sees %q", said)
		}
		if said := flashOf(staff.get(page).body); !strings.Contains(said, "Vencimiento quitado") {
			t.Errorf("the flash did not wait for the actor's next page: %q", said)
		}
	})
}
