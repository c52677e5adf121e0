package handlers_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/seed"
)

func TestAPICreatesGetsAndCancelsALink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := h.api(h.apiKey("Tienda web", models.APIScopeWrite))

	r := api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-1001", "order_amount", 12990,
		"customer_email", "ana@cliente.cl", "description", "Zapatillas talla 42", "expires_at", "2030-12-31T18:00:00-03:00"))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d\n%s", r.status, r.body)
	}
	made := r.link(t)
	if r.header.Get("Location") != "/api/v1/links/"+itoa(made.ID) || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("create headers: %v", r.header)
	}
	stored, err := h.store.LinkByID(context.Background(), made.ID)
	if err != nil {
		t.Fatal(err)
	}
	if made.URL != h.base+"/pay/"+stored.Code || made.Status != models.LinkOpen || made.OrderAmount != 12990 || made.Currency != "CLP" ||
		made.Mode != "live" || stored.CreatedByID != nil || !strings.HasPrefix(stored.CreatedVia, "API: Tienda web (etp_live_") {
		t.Errorf("link made: %+v (stored %+v)", made, stored)
	}
	body := string(r.body)
	for _, want := range []string{`"expires_at":"2030-12-31T18:00:00-03:00"`, `"customer_email":"ana@cliente.cl"`} {
		if !strings.Contains(body, want) {
			t.Errorf("answer lacks %s: %s", want, body)
		}
	}
	var raw map[string]any
	r.decode(t, &raw)
	created, err := time.Parse(time.RFC3339, raw["created_at"].(string))
	santiago, _ := time.LoadLocation("America/Santiago")
	if _, off := created.Zone(); err != nil || created.Location() == time.UTC || off != offsetIn(created, santiago) {
		t.Errorf("created_at %v is not told in Santiago (%v)", raw["created_at"], err)
	}
	if mails := h.linkMails(made.ID); len(mails) != 0 {
		t.Errorf("send_email left out (false) queued %d emails", len(mails))
	}

	got := api.call(http.MethodGet, "/api/v1/links/"+itoa(made.ID), "")
	if got.status != http.StatusOK || !reflect.DeepEqual(got.link(t), made) {
		t.Errorf("get: %d %+v, want %+v", got.status, got.link(t), made)
	}

	cancel := api.call(http.MethodPost, "/api/v1/links/"+itoa(made.ID)+"/cancel", "")
	if cancel.status != http.StatusOK || cancel.link(t).Status != models.LinkCancelled || cancel.link(t).CancelledAt == nil {
		t.Fatalf("cancel: %d\n%s", cancel.status, cancel.body)
	}
	again := api.call(http.MethodPost, "/api/v1/links/"+itoa(made.ID)+"/cancel", "")
	if again.status != http.StatusOK || again.link(t).Status != models.LinkCancelled {
		t.Errorf("cancelling again: %d\n%s", again.status, again.body)
	}
	api.call(http.MethodGet, "/api/v1/links/999999", "").problem(t, http.StatusNotFound, "not_found")
	api.callInvalid(http.MethodGet, "/api/v1/links/abc", "").problem(t, http.StatusNotFound, "not_found")

	// Every write is in the audit log under the key's name; the second cancel changed nothing.
	key := h.onlyAPIKey()
	entries, err := h.store.AuditEntries(context.Background(), models.AuditPage{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range entries {
		if e.UserEmail == "API: Tienda web ("+key.Prefix+")" && e.Detail == "PED-1001" {
			seen = append(seen, e.Action)
		}
	}
	if strings.Join(seen, " ") != models.AuditLinkCanceled+" "+models.AuditLinkCreated {
		t.Errorf("audit entries by the key: %v", seen)
	}
}

func TestAPISendsTheLinkEmailWhenAsked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := h.api(h.apiKey("ERP", models.APIScopeWrite))
	r := api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-2001", "order_amount", 5000,
		"customer_email", "ana@cliente.cl", "send_email", true, "email_lang", "en"))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d\n%s", r.status, r.body)
	}
	mails := h.linkMails(r.link(t).ID)
	if len(mails) != 1 || mails[0].To != "ana@cliente.cl" || mails[0].Lang != "en" || mails[0].Status != models.MailQueued {
		t.Fatalf("link emails: %+v", mails)
	}
	p := api.callInvalid(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-2002", "order_amount", 5000, "send_email", "yes")).
		problem(t, http.StatusUnprocessableEntity, "validation")
	if p.Errors["send_email"].Code != "api.invalid_type.boolean" {
		t.Errorf("send_email \"yes\": %+v", p.Errors)
	}
	p = api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-2002", "order_amount", 5000, "send_email", true)).
		problem(t, http.StatusUnprocessableEntity, "validation")
	if p.Errors["send_email"].Code != "api.send_email_needs_email" {
		t.Errorf("send_email without an address: %+v", p.Errors)
	}
}

func TestAPIRefusesAnOrderThatHasALinkAndCancellingAPaidOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := h.api(h.apiKey("ERP", models.APIScopeWrite))
	paid, _ := h.paidLink("PED-3001", "live", 9990)
	p := api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-3001", "order_amount", 9990)).
		problem(t, http.StatusConflict, "order_in_use")
	if p.LinkID != paid.ID || !strings.Contains(p.Detail, itoa(paid.ID)) {
		t.Errorf("order in use names link %d (%q), want %d", p.LinkID, p.Detail, paid.ID)
	}
	api.call(http.MethodPost, "/api/v1/links/"+itoa(paid.ID)+"/cancel", "").problem(t, http.StatusConflict, "link_paid")
	if l, _ := h.store.LinkByID(context.Background(), paid.ID); l.Status != models.LinkPaid {
		t.Errorf("paid link is now %s", l.Status)
	}
	// A link of the other mode is not the key's to see, nor to cancel.
	other := h.openLink("PED-3002", "sandbox", 1000)
	api.call(http.MethodGet, "/api/v1/links/"+itoa(other.ID), "").problem(t, http.StatusNotFound, "not_found")
	api.call(http.MethodPost, "/api/v1/links/"+itoa(other.ID)+"/cancel", "").problem(t, http.StatusNotFound, "not_found")
}

func TestAPIValidatesANewLinkFieldByField(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("MAX_ORDER_AMOUNT", "100000"))
	api := h.api(h.apiKey("ERP", models.APIScopeWrite))
	tests := []struct {
		name   string
		body   string
		inDoc  bool // the document allows it: only the server's rules refuse it
		fields map[string]string
	}{
		{"empty", `{}`, false, map[string]string{"merchant_order_id": "invalid.order_id", "order_amount": "invalid.amount_required"}},
		{"amount as text", linkBody("merchant_order_id", "A-1", "order_amount", "12990"), false, map[string]string{"order_amount": "api.invalid_type.integer"}},
		{"amount with decimals", `{"merchant_order_id":"A-1","order_amount":12990.5}`, false, map[string]string{"order_amount": "api.invalid_type.integer"}},
		{"amount over the maximum", linkBody("merchant_order_id", "A-1", "order_amount", 100001), true, map[string]string{"order_amount": "invalid.amount_max"}},
		{"zero", linkBody("merchant_order_id", "A-1", "order_amount", 0), false, map[string]string{"order_amount": "invalid.amount_positive"}},
		{"order id with spaces", linkBody("merchant_order_id", "A 1", "order_amount", 100), false, map[string]string{"merchant_order_id": "invalid.order_id"}},
		{"email", linkBody("merchant_order_id", "A-1", "order_amount", 100, "customer_email", "ana"), true, map[string]string{"customer_email": "invalid.email"}},
		{"description on two lines", linkBody("merchant_order_id", "A-1", "order_amount", 100, "description", "a\nb"), true, map[string]string{"description": "invalid.description"}},
		{"expiry without offset", linkBody("merchant_order_id", "A-1", "order_amount", 100, "expires_at", "2030-12-31T18:00"), false, map[string]string{"expires_at": "api.invalid_time"}},
		{"expiry out of range", linkBody("merchant_order_id", "A-1", "order_amount", 100, "expires_at", "2101-01-01T00:00:00Z"), true, map[string]string{"expires_at": "links.expiry_range"}},
		{"unknown field", linkBody("merchant_order_id", "A-1", "order_amount", 100, "amount", 100), false, map[string]string{"amount": "api.unknown_field"}},
		{"email language", linkBody("merchant_order_id", "A-1", "order_amount", 100, "email_lang", "fr"), false, map[string]string{"email_lang": "api.invalid_email_lang"}},
	}
	for _, tt := range tests {
		send := api.callInvalid
		if tt.inDoc {
			send = api.call
		}
		p := send(http.MethodPost, "/api/v1/links", tt.body).problem(t, http.StatusUnprocessableEntity, "validation")
		if len(p.Errors) != len(tt.fields) {
			t.Errorf("%s: errors %+v, want %v", tt.name, p.Errors, tt.fields)
		}
		for field, code := range tt.fields {
			if p.Errors[field].Code != code || p.Errors[field].Detail == "" {
				t.Errorf("%s: %s is %+v, want %s", tt.name, field, p.Errors[field], code)
			}
		}
	}
	api.callInvalid(http.MethodPost, "/api/v1/links", `{"merchant_order_id":`).problem(t, http.StatusBadRequest, "invalid_json")
	api.callInvalid(http.MethodPost, "/api/v1/links", `[1]`).problem(t, http.StatusBadRequest, "invalid_json")
	api.callInvalid(http.MethodPost, "/api/v1/links", "merchant_order_id=A-1&order_amount=100",
		"Content-Type", "application/x-www-form-urlencoded").problem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	english := &apiCaller{h: h, key: api.key, lang: "en"}
	p := english.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "A-1", "order_amount", 100001)).
		problem(t, http.StatusUnprocessableEntity, "validation")
	if p.Title != "Invalid data" || p.Errors["order_amount"].Detail != "The amount cannot exceed $100.000." {
		t.Errorf("in English: %+v", p)
	}
	if n, _ := h.store.CountLinks(context.Background(), models.LinkFilter{Now: time.Now()}); n.Count != 0 {
		t.Errorf("%d links made by invalid requests", n.Count)
	}
}

// linkMails are the emails queued for a link.
func (h *harness) linkMails(linkID uint) []models.OutboxMessage {
	h.t.Helper()
	mails, err := h.store.LinkEmails(context.Background(), linkID)
	if err != nil {
		h.t.Fatal(err)
	}
	return mails
}

// onlyAPIKey is the one API key the test made.
func (h *harness) onlyAPIKey() models.APIKey {
	h.t.Helper()
	keys, err := h.store.ListAPIKeys(context.Background())
	if err != nil || len(keys) != 1 {
		h.t.Fatalf("want one API key, got %d (%v)", len(keys), err)
	}
	return keys[0]
}

// offsetIn is loc's offset from UTC at t, in seconds.
func offsetIn(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}

// A link made through the API says so on its page, in the list and its
// timeline: never "command line".
func TestLinkMadeThroughTheAPISaysWhichKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	made := h.api(h.apiKey("Tienda web", models.APIScopeWrite)).
		call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-5001", "order_amount", 1000)).link(t)
	who := "API: Tienda web (" + h.onlyAPIKey().Prefix + ")"
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	for _, path := range []string{"/admin/links/" + itoa(made.ID), "/admin/links"} {
		page := staff.get(path).body
		if !strings.Contains(page, who) || strings.Contains(page, "línea de comandos") {
			t.Errorf("%s does not name the key:\n%s", path, page)
		}
	}
}

// A body two JSON readers could read differently is refused, not guessed
// at: a member named twice (encoding/json keeps the last, many readers the
// first: the shop's checks could see one amount and the link get another),
// and text that is not UTF-8 (encoding/json would store U+FFFD in its place).
// The document's validator reads JSON as encoding/json does, so it sees
// nothing wrong with either: call, not callInvalid.
func TestAPIRefusesAmbiguousJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := h.api(h.apiKey("ERP", models.APIScopeWrite))
	api.call(http.MethodPost, "/api/v1/links", `{"merchant_order_id":"A-1","order_amount":100,"order_amount":99999}`).
		problem(t, http.StatusBadRequest, "invalid_json")
	api.call(http.MethodPost, "/api/v1/links", `{"merchant_order_id":"A-1","order_amount":100,"merchant_\u006frder_id":"A-2"}`).
		problem(t, http.StatusBadRequest, "invalid_json")
	api.call(http.MethodPost, "/api/v1/links", "{\"merchant_order_id\":\"A-1\",\"order_amount\":100,\"description\":\"caf\xe9\"}").
		problem(t, http.StatusBadRequest, "invalid_json")
	if n, _ := h.store.CountLinks(context.Background(), models.LinkFilter{Now: time.Now()}); n.Count != 0 {
		t.Errorf("%d links made by ambiguous bodies", n.Count)
	}
}

// A problem's detail writes a link's id as an id (1001), not grouped like
// an amount (1.001 in Spanish, 1,001 in English), so a developer can look
// it up as read.
func TestAPIProblemsWriteLinkIDsAsIDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := seed.Run(context.Background(), h.store, 1000); err != nil { // ids past 1000
		t.Fatal(err)
	}
	paid, _ := h.paidLink("PED-4001", "live", 9990)
	if paid.ID < 1000 {
		t.Fatalf("paid link %d: the test needs an id of four digits", paid.ID)
	}
	for _, lang := range []string{"es", "en"} {
		api := &apiCaller{h: h, key: h.apiKey("ERP "+lang, models.APIScopeWrite), lang: lang}
		inUse := api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-4001", "order_amount", 9990)).
			problem(t, http.StatusConflict, "order_in_use")
		isPaid := api.call(http.MethodPost, "/api/v1/links/"+itoa(paid.ID)+"/cancel", "").problem(t, http.StatusConflict, "link_paid")
		for _, p := range []apiProblem{inUse, isPaid} {
			if !strings.Contains(p.Detail, " "+itoa(paid.ID)+" ") && !strings.HasSuffix(p.Detail, " "+itoa(paid.ID)+".") {
				t.Errorf("%s: %q does not name link %d as its id", lang, p.Detail, paid.ID)
			}
		}
	}
}
