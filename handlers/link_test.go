package handlers_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// linkOf finds the stored link behind a payment URL.
func linkOf(t *testing.T, h *harness, payURL string) *models.Link {
	t.Helper()
	link, err := h.store.LinkByCode(context.Background(), payURL[strings.LastIndex(payURL, "/")+1:])
	if err != nil {
		t.Fatalf("link of %s: %v", payURL, err)
	}
	return link
}

// inOrder checks that every want appears in page, each after the one before.
func inOrder(t *testing.T, page string, wants ...string) {
	t.Helper()
	at := 0
	for _, want := range wants {
		i := strings.Index(page[at:], want)
		if i < 0 {
			t.Fatalf("page lacks %q after position %d:\n%s", want, at, page)
		}
		at += i + len(want)
	}
}

// staffWithLink starts the app, logs a staff member in and makes one link.
func staffWithLink(t *testing.T, opts ...harnessOption) (*harness, *browser, string, string) {
	t.Helper()
	h := newHarness(t, opts...)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	payURL := staff.createLink("OC-4711", "$12.990")
	return h, staff, payURL, "/admin/links/" + itoa(linkOf(t, h, payURL).ID)
}

func TestLinkPageTimelineAfterPayment(t *testing.T) {
	t.Parallel()
	h, staff, payURL, page := staffWithLink(t)
	payThroughFunnel(t, h.browser(), payURL, "approve")
	sess := onlySession(t, h)
	link := linkOf(t, h, payURL)

	r := staff.get(page)
	if r.status != http.StatusOK {
		t.Fatalf("link page: %d\n%s", r.status, r.body)
	}
	body := html.UnescapeString(r.body)
	wants := []string{"Link creado", "staff@shop.cl"}
	if link.OpenedAt != nil {
		wants = append(wants, "El cliente abrió el link")
	}
	wants = append(wants,
		"Sesión de ETpay iniciada", `href="/admin/sessions/`+itoa(sess.ID)+`"`,
		"Notificación de ETpay", "verificada", "success", sess.PaymentToken,
		"<details>", `{"payment":`,
		"Pago confirmado", sess.PaymentToken,
	)
	inOrder(t, body, wants...)
	for _, want := range []string{`<span class="badge badge-paid">pagado</span>`, "$12.990"} {
		if !strings.Contains(body, want) {
			t.Errorf("link page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"Cancelar link", "Guardar vencimiento", "Link cancelado", "Link vencido", "qr.png"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("a paid link's page shows %q", unwanted)
		}
	}
}

func TestLinkPageCopyAndViewerMasking(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	staff := h.browser()
	staff.login("staff@shop.cl")
	r := staff.submit("/admin/links/new", "/admin/links/new", url.Values{
		"merchant_order_id": {"OC-9"}, "order_amount": {"5000"}, "customer_email": {"ana.perez@cliente.cl"},
	})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create link: %d", r.status)
	}
	page := r.header.Get("Location")
	tests := []struct {
		name      string
		b         *browser
		want      []string
		unwanted  []string
		canCancel bool
	}{
		{"staff", staff, []string{"ana.perez@cliente.cl", "Cancelar link", "Guardar vencimiento"}, nil, true},
		{"viewer", nil, []string{"a•••@cliente.cl"}, []string{"ana.perez@cliente.cl", "Cancelar link", "Guardar vencimiento"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			if b == nil {
				b = h.browser()
				b.login("viewer@shop.cl")
			}
			body := b.get(page).body
			for _, want := range append(tt.want, `id="link-url"`, `readonly`, `id="copy-link"`, ">Copiar</button>", `src="/static/js/link.js"`, `src="`+page+`/qr.png"`, `alt="Código QR del link de pago de la orden OC-9"`) {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			for _, unwanted := range tt.unwanted {
				if strings.Contains(body, unwanted) {
					t.Errorf("page shows %q", unwanted)
				}
			}
		})
	}
	js := h.browser().get("/static/js/link.js")
	if js.status != http.StatusOK || !strings.Contains(js.body, "navigator.clipboard") {
		t.Fatalf("link.js: %d", js.status)
	}
}

func TestLinkQRCode(t *testing.T) {
	t.Parallel()
	h, staff, _, page := staffWithLink(t)
	r := staff.get(page + "/qr.png")
	if r.status != http.StatusOK {
		t.Fatalf("qr.png: %d", r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "image/png" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if !bytes.HasPrefix([]byte(r.body), []byte("\x89PNG\r\n\x1a\n")) || len(r.body) < 200 {
		t.Errorf("not a PNG (%d bytes): %q", len(r.body), r.body[:min(len(r.body), 16)])
	}

	tests := []struct {
		name   string
		b      *browser
		path   string
		status int
	}{
		{"logged out", h.browser(), page + "/qr.png", http.StatusSeeOther},
		{"unknown link", staff, "/admin/links/999/qr.png", http.StatusNotFound},
		{"junk id", staff, "/admin/links/x1/qr.png", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := tt.b.get(tt.path); r.status != tt.status {
				t.Fatalf("%s: %d, want %d", tt.path, r.status, tt.status)
			}
		})
	}
}

func TestCancelLink(t *testing.T) {
	t.Parallel()
	h, staff, payURL, page := staffWithLink(t)
	viewer := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	ctx := context.Background()

	tests := []struct {
		name   string
		b      *browser
		token  bool
		status int
		after  string
	}{
		{"viewer is refused", viewer, true, http.StatusForbidden, models.LinkOpen},
		{"staff without csrf is refused", staff, false, http.StatusForbidden, models.LinkOpen},
		{"staff cancels", staff, true, http.StatusSeeOther, models.LinkCancelled},
		{"cancelling twice changes nothing", staff, true, http.StatusSeeOther, models.LinkCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if tt.token {
				r = tt.b.submit(page, page+"/cancel", url.Values{})
			} else {
				r = tt.b.post(page+"/cancel", url.Values{})
			}
			if r.status != tt.status {
				t.Fatalf("cancel: %d, want %d\n%s", r.status, tt.status, r.body)
			}
			if r.status == http.StatusSeeOther && r.header.Get("Location") != page {
				t.Errorf("cancel went to %q", r.header.Get("Location"))
			}
			if link := linkOf(t, h, payURL); link.Status != tt.after {
				t.Fatalf("link status %s, want %s", link.Status, tt.after)
			}
		})
	}

	entries, err := h.store.AuditEntries(ctx, models.AuditPage{})
	if err != nil {
		t.Fatal(err)
	}
	cancels := 0
	for _, e := range entries {
		if e.Action == models.AuditLinkCanceled {
			cancels++
			if e.Detail != "OC-4711" || e.UserEmail != "staff@shop.cl" {
				t.Errorf("audit entry %+v", e)
			}
		}
	}
	if cancels != 1 {
		t.Errorf("%d link_cancelled audit entries, want 1", cancels)
	}

	body := html.UnescapeString(staff.get(page).body)
	inOrder(t, body, `badge-cancelled`, "Link cancelado", "Por staff@shop.cl")
	if strings.Contains(body, "Cancelar link") {
		t.Error("a cancelled link still offers to cancel")
	}

	// The customer's link is closed and ETpay never hears of it.
	if r := h.browser().get(payURL); r.status != http.StatusGone {
		t.Fatalf("cancelled link answered %d, want 410", r.status)
	}
	if n := len(h.sandbox.Sessions()); n != 0 {
		t.Fatalf("a cancelled link started %d ETpay sessions", n)
	}
}

func TestCancelPaidLinkIsRefused(t *testing.T) {
	t.Parallel()
	h, staff, payURL, page := staffWithLink(t)
	payThroughFunnel(t, h.browser(), payURL, "approve")
	// The form was on the page before the payment arrived.
	r := staff.post(page+"/cancel", url.Values{"csrf": {csrfToken(t, staff.get(page).body)}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "ya está pagado y no se puede cancelar") {
		t.Fatalf("cancel of a paid link: %d\n%s", r.status, r.body)
	}
	if link := linkOf(t, h, payURL); link.Status != models.LinkPaid || link.CancelledAt != nil {
		t.Fatalf("paid link changed: %+v", link)
	}
}

func TestLinkExpiry(t *testing.T) {
	t.Parallel()
	h, staff, payURL, page := staffWithLink(t)
	viewer := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	future := time.Now().In(views.Santiago).Add(48 * time.Hour).Truncate(time.Minute)

	tests := []struct {
		name    string
		b       *browser
		value   string
		status  int
		message string
		want    *time.Time // the stored expiry afterwards
	}{
		{"bad format", staff, "2020-01-01T25:00", http.StatusUnprocessableEntity, "Escribe la fecha y la hora como", nil},
		{"bad format", staff, "mañana a las 10", http.StatusUnprocessableEntity, "Escribe la fecha y la hora como", nil},
		{"future date", staff, future.Format("2006-01-02T15:04"), http.StatusSeeOther, "", &future},
		{"viewer is refused", viewer, "2099-01-01T10:00", http.StatusForbidden, "", &future},
		{"empty clears", staff, "", http.StatusSeeOther, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.b.submit(page, page+"/expiry", url.Values{"expires_at": {tt.value}})
			if r.status != tt.status {
				t.Fatalf("expiry %q: %d, want %d\n%s", tt.value, r.status, tt.status, r.body)
			}
			if tt.message != "" {
				if !strings.Contains(r.body, tt.message) || !strings.Contains(r.body, `aria-invalid="true"`) {
					t.Errorf("no field message %q:\n%s", tt.message, r.body)
				}
				if !strings.Contains(r.body, `value="`+html.EscapeString(tt.value)+`"`) {
					t.Errorf("the typed value %q is not kept", tt.value)
				}
			}
			got := linkOf(t, h, payURL).ExpiresAt
			if (got == nil) != (tt.want == nil) || (got != nil && !got.Equal(*tt.want)) {
				t.Fatalf("stored expiry %v, want %v", got, tt.want)
			}
		})
	}

	// The page shows a set expiry in Chile's time, ready to edit.
	if r := staff.submit(page, page+"/expiry", url.Values{"expires_at": {future.Format("2006-01-02T15:04")}}); r.status != http.StatusSeeOther {
		t.Fatalf("set expiry: %d", r.status)
	}
	body := staff.get(page).body
	if !strings.Contains(body, `value="`+future.Format("2006-01-02T15:04")+`"`) || !strings.Contains(body, future.Format("02-01-2006 15:04")) {
		t.Errorf("page does not show the expiry %s:\n%s", future, body)
	}
}

func TestExpiredLinkStartsNoSession(t *testing.T) {
	t.Parallel()
	h, staff, payURL, page := staffWithLink(t)
	link := linkOf(t, h, payURL)
	past := time.Now() // after the link was made, as the form would have it
	time.Sleep(5 * time.Millisecond)
	if err := h.store.SetLinkExpiry(context.Background(), link.ID, &past); err != nil {
		t.Fatal(err)
	}
	if r := h.browser().get(payURL); r.status != http.StatusGone {
		t.Fatalf("expired link answered %d, want 410", r.status)
	}
	if n := len(h.sandbox.Sessions()); n != 0 {
		t.Fatalf("an expired link started %d ETpay sessions", n)
	}
	body := html.UnescapeString(staff.get(page).body)
	inOrder(t, body, "vencido", "Este link venció el", "Link creado", "Link vencido")
}

// Reopening an expired link whose order id went to a new link is refused
// with the reason and the other link's number, and changes nothing.
func TestExpiredLinkReopenRefusedWhenOrderTaken(t *testing.T) {
	t.Parallel()
	h, staff, payURL, page := staffWithLink(t)
	old := linkOf(t, h, payURL)
	past := time.Now().Add(-time.Minute).Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	if err := h.store.SetLinkExpiry(context.Background(), old.ID, &past); err != nil {
		t.Fatal(err)
	}
	newer := linkOf(t, h, staff.createLink("OC-4711", "$12.990"))
	r := staff.submit(page, page+"/expiry", url.Values{"expires_at": {""}})
	if r.status != http.StatusConflict {
		t.Fatalf("reopening: %d, want 409\n%s", r.status, r.body)
	}
	if body := html.UnescapeString(r.body); !strings.Contains(body, "ya tiene otro link abierto o pagado (link #"+itoa(newer.ID)+")") {
		t.Errorf("the refusal does not name link %d:\n%s", newer.ID, body)
	}
	if got := linkOf(t, h, payURL).ExpiresAt; got == nil || !got.Equal(past.UTC()) {
		t.Errorf("old link's expiry %v, want it unchanged at %v", got, past)
	}
}
