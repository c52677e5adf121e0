package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

// TestActionsAskFirst checks each action that is hard to take back: its
// button on the page is a link to a GET confirmation that says what will
// happen and changes nothing; that page's form POSTs, with the CSRF token,
// to the unchanged action, and has a way back; the next page says what
// happened, once.
func TestActionsAskFirst(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	enrolled := h.loggedIn("enrolled@shop.cl", models.RoleViewer)
	enrolled.enrol(clock)
	leaver := h.addUser("leaver@shop.cl", models.RoleStaff)
	forgetful := h.addUser("forgetful@shop.cl", models.RoleStaff)
	enrolledUser, err := h.store.UserByEmail(context.Background(), "enrolled@shop.cl")
	if err != nil {
		t.Fatal(err)
	}
	link := linkOf(t, h, staff.createLink("OC-ASK-1", "12990"))
	linkPage := "/admin/links/" + itoa(link.ID)

	tests := []struct {
		name      string
		b         *browser
		page      string // where the button is
		confirm   string // the GET confirmation, also the POST target
		what      string // a sentence of what will happen
		form      url.Values
		flash     string
		unchanged func() bool // true while nothing has happened
	}{
		{"cancel a link", staff, linkPage, linkPage + "/cancel", "dejará de iniciar pagos", url.Values{}, "Link cancelado",
			func() bool {
				l, _ := h.store.LinkByID(context.Background(), link.ID)
				return l.Status == models.LinkOpen
			}},
		{"disable a user", admin, userPath(leaver, ""), userPath(leaver, "/disable"), "cierra al instante todas sus sesiones", url.Values{}, "Usuario desactivado",
			func() bool { u, _ := h.store.UserByID(context.Background(), leaver.ID); return !u.Disabled }},
		{"reset a password", admin, userPath(forgetful, ""), userPath(forgetful, "/password"), "Todas sus sesiones abiertas se cerrarán",
			url.Values{"password": {"a brand new passphrase"}}, "Contraseña restablecida",
			func() bool {
				return h.browser().loginWith("forgetful@shop.cl", testPassword).status == http.StatusSeeOther
			}},
		{"reset a second factor", admin, userPath(enrolledUser, ""), userPath(enrolledUser, "/2fa/reset"), "quita su verificación en dos pasos", url.Values{}, "Verificación en dos pasos restablecida",
			func() bool { on, _ := h.store.HasSecondFactor(context.Background(), enrolledUser.ID); return on }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := tt.b.get(tt.page).body
			if !strings.Contains(page, `href="`+tt.confirm+`"`) {
				t.Errorf("%s has no link to the confirmation %s", tt.page, tt.confirm)
			}
			if strings.Contains(page, `action="`+tt.confirm+`"`) {
				t.Errorf("%s still posts to %s without asking", tt.page, tt.confirm)
			}
			ask := tt.b.get(tt.confirm)
			if ask.status != http.StatusOK || !strings.Contains(ask.body, tt.what) {
				t.Fatalf("GET %s: %d, want 200 saying %q\n%s", tt.confirm, ask.status, tt.what, ask.body)
			}
			for _, want := range []string{`method="post" action="` + tt.confirm + `"`, `name="csrf"`, `href="` + tt.page + `"`} {
				if !strings.Contains(ask.body, want) {
					t.Errorf("the confirmation lacks %s", want)
				}
			}
			if !tt.unchanged() {
				t.Fatal("opening the confirmation did it already")
			}
			tt.form.Set("csrf", csrfToken(t, ask.body))
			said := tt.b.followDone(tt.b.post(tt.confirm, tt.form))
			if !strings.Contains(said, tt.flash) {
				t.Errorf("after the action the page says %q, want %q", said, tt.flash)
			}
			if tt.unchanged() {
				t.Error("the confirmed action did nothing")
			}
		})
	}

	t.Run("a refused password comes back to its form", func(t *testing.T) {
		r := admin.submit(userPath(forgetful, "/password"), userPath(forgetful, "/password"), url.Values{"password": {"short"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "al menos 12 caracteres") || !strings.Contains(r.body, `action="`+userPath(forgetful, "/password")+`"`) {
			t.Errorf("a short password: %d, want 422 on the reset form with the rule\n%s", r.status, r.body)
		}
	})
	t.Run("nothing to ask about", func(t *testing.T) {
		if r := staff.get(linkPage + "/cancel"); r.status != http.StatusSeeOther || r.header.Get("Location") != linkPage {
			t.Errorf("confirming a cancelled link's cancel: %d %s, want 303 to the link", r.status, r.header.Get("Location"))
		}
		self, _ := h.store.UserByEmail(context.Background(), "admin@shop.cl")
		if r := admin.get(userPath(self, "/disable")); r.status != http.StatusConflict || !strings.Contains(r.body, "No puedes desactivar tu propia cuenta.") {
			t.Errorf("confirming one's own disabling: %d, want 409", r.status)
		}
		if r := admin.get(userPath(leaver, "/2fa/reset")); r.status != http.StatusConflict {
			t.Errorf("confirming the reset of a second factor nobody set up: %d, want 409", r.status)
		}
	})
}
