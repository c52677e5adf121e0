package handlers_test

import (
	"context"
	"etpay-dashboard/testdb"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// TestShopNamePromptAndPage checks the prompt for the shop's name (admins
// only, until it is set, "not now" for one login, never blocking a page)
// and that the name saved on the Tienda page reaches the link's email and
// the customer's page at once, audited.
func TestShopNamePromptAndPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	const prompt = `id="shop-prompt"`

	page := admin.get("/admin/overview")
	if page.status != http.StatusOK || !strings.Contains(page.body, prompt) || !strings.Contains(page.body, `href="/admin/shop"`) || !strings.Contains(page.body, "Ahora no") {
		t.Fatalf("an admin's page before the shop has a name: %d, want the prompt\n%s", page.status, page.body)
	}
	if strings.Contains(staff.get("/admin/overview").body, prompt) {
		t.Error("staff are asked for the shop's name")
	}
	if strings.Contains(admin.get("/admin/shop").body, prompt) {
		t.Error("the shop's page asks for what it is about")
	}

	t.Run("not now", func(t *testing.T) {
		other := h.loggedIn("other@shop.cl", models.RoleAdmin)
		r := other.submit("/admin/overview?mode=all", "/admin/shop/later", url.Values{"back": {"/admin/overview?mode=all"}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/overview?mode=all" {
			t.Fatalf("not now: %d %s, want 303 back to the page", r.status, r.header.Get("Location"))
		}
		if strings.Contains(other.get("/admin/sessions").body, prompt) {
			t.Error("the prompt is back after not now")
		}
		again := h.browser()
		again.login("other@shop.cl")
		if !strings.Contains(again.get("/admin/sessions").body, prompt) {
			t.Error("a new login is not asked again")
		}
		for _, back := range []string{"https://evil.example/admin/", "//evil.example/admin/x", "/login", `/\evil.example`} {
			if r := again.submit("/admin/sessions", "/admin/shop/later", url.Values{"back": {back}}); r.header.Get("Location") != "/admin/sessions" {
				t.Errorf("not now with back=%q went to %q", back, r.header.Get("Location"))
			}
		}
	})

	for _, tt := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no name", url.Values{"merchant_name": {"  "}}, "Escribe el nombre de la tienda."},
		{"two lines", url.Values{"merchant_name": {"Tienda\nÑuñoa"}}, "una sola línea"},
		{"long", url.Values{"merchant_name": {strings.Repeat("ñ", 101)}}, "hasta 100 caracteres"},
		{"bad reply-to", url.Values{"merchant_name": {"Tienda"}, "reply_to": {"Tienda <hola@tienda.cl>"}}, "Escribe un correo válido"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := admin.submit("/admin/shop", "/admin/shop", tt.form); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tt.want) {
				t.Errorf("%v: %d, want 422 with %q\n%s", tt.form, r.status, tt.want, r.body)
			}
		})
	}
	if r := staff.get("/admin/shop"); r.status != http.StatusForbidden {
		t.Errorf("staff GET /admin/shop: %d, want 403", r.status)
	}

	r := admin.submit("/admin/shop", "/admin/shop", url.Values{"merchant_name": {" Tienda Ñuñoa "}, "reply_to": {"Hola@Tienda.cl"}})
	if said := admin.followDone(r); !strings.Contains(said, "Datos de la tienda guardados") {
		t.Errorf("after saving: %q", said)
	}
	if page := admin.get("/admin/shop").body; !strings.Contains(page, `value="Tienda Ñuñoa"`) || !strings.Contains(page, `value="hola@tienda.cl"`) {
		t.Errorf("the page does not show what was saved:\n%s", page)
	}
	if strings.Contains(admin.get("/admin/sessions").body, prompt) {
		t.Error("the prompt is still shown once the shop has a name")
	}
	entries, _ := h.store.AuditEntries(context.Background(), models.AuditPage{})
	if len(entries) == 0 || entries[0].Action != models.AuditShopChanged || !strings.Contains(entries[0].Detail, "Tienda Ñuñoa") {
		t.Errorf("newest audit entry %+v, want the shop's change", entries[0])
	}

	r = staff.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {"OC-SHOP"}, "order_amount": {"5000"}, "customer_email": {"ana@cliente.cl"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create link: %d", r.status)
	}
	rows := outboxRows(t, h.store)
	if len(rows) != 1 || rows[0].Subject != "Tienda Ñuñoa: tu link de pago de la orden OC-SHOP" {
		t.Fatalf("the link's email does not name the shop: %+v", rows)
	}
	if m, err := h.store.OutboxMessageByID(context.Background(), rows[0].ID); err != nil || !strings.Contains(m.HTMLBody, "Tienda Ñuñoa te envía") {
		t.Errorf("the link's email body does not name the shop (%v)", err)
	}
	link, err := h.store.LinkByID(context.Background(), *rows[0].LinkID)
	if err != nil {
		t.Fatal(err)
	}
	if page := h.browser().get("/pay/" + link.Code + "/success"); !strings.Contains(page.body, `<p class="merchant">Tienda Ñuñoa</p>`) {
		t.Errorf("the customer's page does not name the shop:\n%s", page.body)
	}
}

// TestShopReplyToAndMerchantName: with MERCHANT_NAME set the page shows the
// name read-only and ignores a typed one; the reply-to address saved there
// is the emails' Reply-To, while MAIL_FROM stays their sender.
func TestShopReplyToAndMerchantName(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	h := startMailApp(t, testdb.URL(t, "test.db"), sink.url())
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)

	page := admin.get("/admin/shop").body
	if !strings.Contains(page, `value="Tienda Ñuñoa" readonly`) || !strings.Contains(page, "MERCHANT_NAME") {
		t.Errorf("the page does not show MERCHANT_NAME's name read-only:\n%s", page)
	}
	if strings.Contains(page, `id="shop-prompt"`) {
		t.Error("admins are asked for a name MERCHANT_NAME gives")
	}
	r := admin.submit("/admin/shop", "/admin/shop", url.Values{"merchant_name": {"Otro Nombre"}, "reply_to": {"respuestas@tienda.cl"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.status, r.body)
	}

	createLinkWithEmail(t, admin, "OC-REPLY", "12990", "ana@cliente.cl", "")
	got := sink.wait(1, 5*time.Second)
	m := parseMail(t, got[0].data)
	if got[0].from != "pagos@tienda.cl" || !strings.Contains(m.header.Get("From"), "pagos@tienda.cl") {
		t.Errorf("sender %q, From %q: want MAIL_FROM", got[0].from, m.header.Get("From"))
	}
	if rt := m.header.Get("Reply-To"); !strings.Contains(rt, "respuestas@tienda.cl") {
		t.Errorf("Reply-To %q, want the shop's address", rt)
	}
	if m.subject != "Tienda Ñuñoa: tu link de pago de la orden OC-REPLY" {
		t.Errorf("subject %q: MERCHANT_NAME should win over a typed name", m.subject)
	}
}
