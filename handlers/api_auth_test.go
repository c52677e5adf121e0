package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/apidoc"
	"etpay-dashboard/models"
)

func TestAPIWithoutAKeyAnswers401(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tt := range []struct {
		name, auth, problem string
		inDoc               bool // the document cannot tell this key from a good one
	}{
		{"no header", "", "missing_key", false},
		{"another scheme", "Basic YWRtaW46YWRtaW4=", "missing_key", false},
		{"an empty bearer", "Bearer ", "missing_key", true},
		{"an unknown key", "Bearer etp_live_NOTAKEYATALLNOTAKEYATALLNO", "invalid_key", true},
	} {
		send, header := h.api("").callInvalid, []string{"Authorization", tt.auth}
		if tt.inDoc {
			send = h.api("").call
		}
		if tt.auth == "" {
			header = nil
		}
		r := send(http.MethodGet, "/api/v1/links", "", header...)
		r.problem(t, http.StatusUnauthorized, tt.problem)
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, r.header.Get("WWW-Authenticate"))
		}
	}
	h.api("").callInvalid(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "A-1", "order_amount", 100)).
		problem(t, http.StatusUnauthorized, "missing_key")
	// An unknown path under the API (which the document cannot describe)
	// is a problem too, never an HTML page.
	for _, path := range []string{"/api/v2/links", "/api"} {
		r := h.browser().get(path)
		if r.status != http.StatusNotFound || r.header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(r.body, `"type":"urn:etpay-dashboard:problem:not_found"`) {
			t.Errorf("GET %s: %d %s\n%s", path, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
}

func TestAPIReadKeyMayNotWrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	link := h.openLink("PED-4001", "live", 1000)
	reader := h.api(h.apiKey("Contabilidad", models.APIScopeRead))
	r := reader.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-4002", "order_amount", 1000))
	r.problem(t, http.StatusForbidden, "insufficient_scope")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	reader.call(http.MethodPost, "/api/v1/links/"+itoa(link.ID)+"/cancel", "").problem(t, http.StatusForbidden, "insufficient_scope")
	if got := reader.call(http.MethodGet, "/api/v1/links/"+itoa(link.ID), ""); got.status != http.StatusOK || got.link(t).Status != models.LinkOpen {
		t.Errorf("a read key reading: %d %s", got.status, got.body)
	}
	if n, _ := h.store.CountLinks(context.Background(), models.LinkFilter{Now: time.Now()}); n.Count != 1 {
		t.Errorf("%d links after a read key's writes, want 1", n.Count)
	}
}

func TestAPIRevokedKeyIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	api := h.api(h.apiKey("Tienda web", models.APIScopeWrite))
	if r := api.call(http.MethodGet, "/api/v1/links", ""); r.status != http.StatusOK {
		t.Fatalf("before revoking: %d %s", r.status, r.body)
	}
	key := h.onlyAPIKey()
	path := "/admin/api-keys/" + itoa(key.ID) + "/revoke"
	if r := admin.submit(path, path, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	api.call(http.MethodGet, "/api/v1/links", "").problem(t, http.StatusUnauthorized, "revoked_key")
	api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "A-1", "order_amount", 100)).
		problem(t, http.StatusUnauthorized, "revoked_key")
}

func TestAPISandboxKeyNeverWorksInLiveMode(t *testing.T) {
	t.Parallel()
	live := newHarness(t) // the harness runs in live mode against the sandbox server
	live.api(live.apiKeyIn("Pruebas", models.APIScopeWrite, "sandbox")).call(http.MethodGet, "/api/v1/links", "").
		problem(t, http.StatusUnauthorized, "key_mode")
	sandbox := newHarness(t, withBuiltInSandbox())
	sandbox.api(sandbox.apiKeyIn("Tienda web", models.APIScopeWrite, "live")).call(http.MethodGet, "/api/v1/links", "").
		problem(t, http.StatusUnauthorized, "key_mode")
	if r := sandbox.api(sandbox.apiKey("Pruebas", models.APIScopeRead)).call(http.MethodGet, "/api/v1/links", ""); r.status != http.StatusOK {
		t.Errorf("a sandbox key in sandbox mode: %d %s", r.status, r.body)
	}
}

func TestAPIRateLimitPerKey(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)}
	h := newHarness(t, withEnv("API_RATE_LIMIT", "2"), withClock(clock.Now)) // bursts of 4
	busy := h.api(h.apiKey("Tienda web", models.APIScopeRead))
	for i := range 4 {
		if r := busy.call(http.MethodGet, "/api/v1/links", ""); r.status != http.StatusOK {
			t.Fatalf("request %d of the burst: %d", i+1, r.status)
		}
	}
	r := busy.call(http.MethodGet, "/api/v1/links", "")
	r.problem(t, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", r.header.Get("Retry-After"))
	}
	if other := h.api(h.apiKey("ERP", models.APIScopeRead)).call(http.MethodGet, "/api/v1/links", ""); other.status != http.StatusOK {
		t.Errorf("another key was limited too: %d", other.status)
	}
	clock.Add(500 * time.Millisecond) // one token back at 2 a second
	if r := busy.call(http.MethodGet, "/api/v1/links", ""); r.status != http.StatusOK {
		t.Errorf("after waiting: %d", r.status)
	}
}

func TestAPIKeyLastUseIsRecorded(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)}
	h := newHarness(t, withClock(clock.Now))
	api := h.api(h.apiKey("Tienda web", models.APIScopeRead))
	if k := h.onlyAPIKey(); k.LastUsedAt != nil {
		t.Fatalf("a new key was used at %v", k.LastUsedAt)
	}
	api.call(http.MethodGet, "/api/v1/sessions", "")
	if k := h.onlyAPIKey(); k.LastUsedAt == nil || !k.LastUsedAt.Equal(clock.Now()) {
		t.Errorf("last used %v, want %v", k.LastUsedAt, clock.Now())
	}
	first := clock.Now()
	clock.Add(30 * time.Second)
	api.call(http.MethodGet, "/api/v1/sessions", "")
	if k := h.onlyAPIKey(); !k.LastUsedAt.Equal(first) {
		t.Errorf("last used %v half a minute later, want it left at %v", k.LastUsedAt, first)
	}
}

func TestAPIAnswersProblemsForBadBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := h.api(h.apiKey("Tienda web", models.APIScopeWrite))
	big := `{"merchant_order_id":"A-1","order_amount":100,"description":"` + strings.Repeat("x", 17<<10) + `"}`
	api.callInvalid(http.MethodPost, "/api/v1/links", big).problem(t, http.StatusRequestEntityTooLarge, "too_large")
	api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "A-1", "order_amount", 100),
		"Content-Encoding", "gzip").problem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
}

func TestOpenAPIDocumentIsServedAndValid(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.api("").call(http.MethodGet, "/api/v1/openapi.json", "")
	if r.status != http.StatusOK || !bytes.Equal(r.body, apidoc.OpenAPI) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
	v := openAPIValidator(t)
	openAPI.mu.Lock()
	ok, errs := v.ValidateDocument()
	openAPI.mu.Unlock()
	if !ok {
		t.Errorf("the document breaks OpenAPI 3.1:\n%s", describe(errs))
	}
}

// The checker itself: an answer the document does not describe fails it.
func TestOpenAPICheckRefusesWhatTheDocumentDoesNotSay(t *testing.T) {
	t.Parallel()
	v := openAPIValidator(t)
	link := `{"id":1,"url":"https://x.cl/pay/A","merchant_order_id":"A","order_amount":1,"currency":"CLP","customer_email":"","description":"",
		"status":"open","mode":"live","created_at":"2026-03-02T10:00:00-03:00","expires_at":null,"opened_at":null,"last_opened_at":null,
		"cancelled_at":null,"paid_at":null,"needs_review":""}`
	for _, tt := range []struct {
		name, body string
		status     int
		ok         bool
	}{
		{"a link", link, 200, true},
		{"a field the document lacks", strings.Replace(link, `"id":1,`, `"id":1,"secret":"x",`, 1), 200, false},
		{"a status word it lacks", strings.Replace(link, `"open"`, `"abierto"`, 1), 200, false},
		{"a time without offset", strings.Replace(link, `"2026-03-02T10:00:00-03:00"`, `"2026-03-02 10:00"`, 1), 200, false},
		{"a status it lacks", link, 418, false},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://x/api/v1/links/1", nil)
		req.Header.Set("Authorization", "Bearer etp_live_x")
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(tt.body)), Request: req}
		openAPI.mu.Lock()
		ok, _ := v.ValidateHttpResponse(req, resp)
		openAPI.mu.Unlock()
		if ok != tt.ok {
			t.Errorf("%s: valid = %v, want %v", tt.name, ok, tt.ok)
		}
	}
}
