package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/shophooks"
)

// An admin adds an endpoint with the form on /admin/webhooks, sees its
// secret once, and manages it from its page: a test event, a rotation,
// disabling and enabling, and deleting after a confirmation.
func TestWebhookAdminPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t) // live mode
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	page := admin.get("/admin/webhooks")
	for _, want := range append([]string{`name="url"`, `href="/admin/webhooks"`}, models.EventTypes...) {
		if page.status != http.StatusOK || !strings.Contains(page.body, want) {
			t.Fatalf("the page lacks %q: %d\n%s", want, page.status, page.body)
		}
	}
	for _, bad := range []struct{ url, says string }{
		{"http://tienda.example/hooks", "solo por https"},
		{"https://10.1.2.3/hooks", "direcciones públicas"},
		{"https://localhost:8443/hooks", "direcciones públicas"},
		{"no es una url", "URL completa"},
	} {
		r := admin.submit("/admin/webhooks", "/admin/webhooks", formWith("url", bad.url, "events", []string{models.EventPaymentSucceeded}))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, bad.says) || strings.Contains(r.body, "webhook-secret") {
			t.Errorf("%s: %d, want 422 saying %q", bad.url, r.status, bad.says)
		}
	}
	if r := admin.submit("/admin/webhooks", "/admin/webhooks", url.Values{"url": {"https://tienda.example/hooks"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "al menos un evento") {
		t.Errorf("no events: %d", r.status)
	}
	e, secret := addEndpoint(t, h, admin, "https://tienda.example/hooks", models.EventPaymentSucceeded, models.EventLinkCreated)
	if !regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`).MatchString(secret) || e.Secret != secret ||
		e.Events != models.EventPaymentSucceeded+","+models.EventLinkCreated {
		t.Fatalf("endpoint %+v, secret shown %q", e, secret)
	}
	path := "/admin/webhooks/" + itoa(e.ID)
	for _, p := range []string{"/admin/webhooks", path} {
		if body := admin.get(p).body; strings.Contains(body, secret) || strings.Contains(body, "webhook-secret") {
			t.Errorf("%s shows the secret again", p)
		}
	}
	if r := admin.submit(path, path+"/test", url.Values{}); r.status != http.StatusSeeOther || !strings.Contains(admin.get(path).body, "Evento de prueba en cola") {
		t.Errorf("test event: %d", r.status)
	}
	if waiting, _ := h.store.WebhookWaitingList(ctx, e.ID, 10); len(waiting) != 1 || waiting[0].Type != models.EventTest {
		t.Errorf("waiting after the test event: %+v", waiting)
	}
	r := admin.submit(path, path+"/rotate", url.Values{})
	m := secretElement.FindStringSubmatch(r.body)
	rotated, _ := h.store.WebhookEndpointByID(ctx, e.ID)
	if r.status != http.StatusOK || m == nil || html.UnescapeString(m[1]) == secret || rotated.Secret != html.UnescapeString(m[1]) ||
		rotated.PreviousSecret != secret {
		t.Fatalf("rotation: %d, endpoint %+v", r.status, rotated)
	}
	admin.submit(path, path+"/disable", url.Values{})
	if got, _ := h.store.WebhookEndpointByID(ctx, e.ID); got.Enabled || got.DisabledReason != models.DisabledByStaff {
		t.Errorf("disabled: %+v", got)
	}
	admin.submit(path, path+"/enable", url.Values{})
	if got, _ := h.store.WebhookEndpointByID(ctx, e.ID); !got.Enabled {
		t.Errorf("enabled: %+v", got)
	}
	confirm := admin.get(path + "/delete")
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `action="`+path+`/delete"`) {
		t.Fatalf("confirmation: %d", confirm.status)
	}
	if _, err := h.store.WebhookEndpointByID(ctx, e.ID); err != nil {
		t.Fatal("the confirmation page deleted the endpoint")
	}
	if r := admin.submit(path+"/delete", path+"/delete", url.Values{}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/webhooks" {
		t.Fatalf("delete: %d %s", r.status, r.header.Get("Location"))
	}
	if _, err := h.store.WebhookEndpointByID(ctx, e.ID); err == nil {
		t.Fatal("not deleted")
	}
	audit := admin.get("/admin/audit").body
	for _, want := range []string{"Webhook agregado", "Secreto de webhook rotado", "Webhook eliminado"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
}

// WEBHOOK_ALLOW_PRIVATE lets live mode send to http and private addresses.
func TestWebhookAllowPrivate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("WEBHOOK_ALLOW_PRIVATE", "true"))
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	if e, _ := addEndpoint(t, h, admin, "http://127.0.0.1:9/hooks", models.EventLinkCreated); e.URL != "http://127.0.0.1:9/hooks" {
		t.Fatalf("stored %+v", e)
	}
}

// Only admins see the webhooks in the menu, and the pages speak Spanish.
func TestWebhookPagesMenuAndLanguage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := webhookFixture(t, h)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	if strings.Contains(staff.get("/admin/sessions").body, `href="/admin/webhooks"`) || !strings.Contains(admin.get("/admin/sessions").body, `href="/admin/webhooks"`) {
		t.Error("the menu's Webhooks link is not for admins only")
	}
	for _, p := range []string{"/admin/webhooks", "/admin/webhooks/" + itoa(id), "/admin/webhooks/" + itoa(id) + "/delete"} {
		page := admin.get(p)
		if page.status != http.StatusOK {
			t.Fatalf("%s: %d", p, page.status)
		}
		if found := englishIn(visibleText(t, page.body)); len(found) > 0 {
			t.Errorf("%s shows English in Spanish: %q", p, found)
		}
	}
	log := admin.get("/admin/webhooks/" + itoa(id)).body
	for _, want := range []string{"503", "120 ms", "mantención", "Reenviar", models.EventTest} {
		if !strings.Contains(log, want) {
			t.Errorf("the delivery log lacks %q", want)
		}
	}
}

// A sandbox payment made by a customer reaches the shop as
// payment.succeeded, after link.created, each verified by the
// specification's algorithm; "Reenviar" sends it again with the same id.
func TestSandboxPaymentReachesTheShop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, withBuiltInSandbox())
	startShopHooks(t, h)
	rc := newShopReceiver(t, nil)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	e, secret := addEndpoint(t, h, admin, rc.URL+"/webhooks/etpay", models.EventLinkCreated, models.EventPaymentSucceeded)
	payURL := admin.createLink("OC-SHOP-1", "$12.990")
	payThroughFunnel(t, h.browser(), payURL, "approve")
	got := rc.wait(t, 2, 10*time.Second)
	for i, hook := range got {
		if err := verifyWebhook(secret, hook.header, hook.body, time.Now()); err != nil {
			t.Errorf("webhook %d does not verify: %v", i, err)
		}
	}
	created, paid := got[0].decode(t), got[1].decode(t)
	sess := onlySession(t, h)
	if created.Type != models.EventLinkCreated || created.Data.Link.URL != payURL || created.Data.Session != nil {
		t.Errorf("first webhook: %s", got[0].body)
	}
	if paid.Type != models.EventPaymentSucceeded || paid.Data.Link.Status != models.LinkPaid || paid.Data.Link.OrderAmount != 12990 ||
		paid.Data.Session == nil || paid.Data.Session.Status != models.StatusPaid || paid.Data.Session.PaymentToken != sess.PaymentToken ||
		!strings.HasSuffix(paid.Timestamp, "-03:00") && !strings.HasSuffix(paid.Timestamp, "-04:00") {
		t.Errorf("payment webhook: %s", got[1].body)
	}
	var log []models.WebhookLogEntry
	for deadline := time.Now().Add(5 * time.Second); len(log) < 2; time.Sleep(10 * time.Millisecond) {
		if log, _ = h.store.WebhookLog(ctx, e.ID, 10); time.Now().After(deadline) {
			t.Fatalf("the log has %d attempts, want 2", len(log))
		}
	}
	if log[0].Type != models.EventPaymentSucceeded || log[0].StatusCode != http.StatusOK {
		t.Fatalf("log %+v", log)
	}
	path := "/admin/webhooks/" + itoa(e.ID)
	if r := admin.submit(path, path+"/deliveries/"+itoa(log[0].DeliveryID)+"/resend", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("resend: %d", r.status)
	}
	again := rc.wait(t, 3, 10*time.Second)[2]
	if again.header.Get("webhook-id") != got[1].header.Get("webhook-id") || string(again.body) != string(got[1].body) {
		t.Errorf("the resend is another webhook: %s %s", again.header.Get("webhook-id"), again.body)
	}
}

// An endpoint belongs to the mode it was added in (the harness runs in
// live mode against the simulator); one of the other mode (added while
// testing in sandbox, say) is shown so on the pages.
func TestWebhookEndpointsKeepTheirMode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("WEBHOOK_ALLOW_PRIVATE", "true"))
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	if e, _ := addEndpoint(t, h, admin, "http://127.0.0.1:9/hooks", models.EventLinkCreated); e.Mode != string(h.cfg.Mode) {
		t.Fatalf("an endpoint added in %s mode has mode %q", h.cfg.Mode, e.Mode)
	}
	other, err := h.store.CreateWebhookEndpoint(context.Background(), models.WebhookEndpointInput{URL: "https://tienda.example/test",
		Events: []string{models.EventLinkCreated}, Secret: shophooks.NewSecret(), Mode: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/admin/webhooks", "/admin/webhooks/" + itoa(other.ID)} {
		body := html.UnescapeString(admin.get(page).body)
		if strings.Count(body, "Creado en modo sandbox: solo recibe eventos de sandbox") != 1 || strings.Contains(body, "Creado en modo live") {
			t.Errorf("%s does not say, once, that only the sandbox endpoint belongs to the other mode:\n%s", page, body)
		}
	}
}
