package sandbox_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/etpay"
	"etpay-dashboard/etpay/sandbox"
)

const (
	merchantCode  = "cl_demo_cl"
	merchantToken = "test-merchant-api-token-0123456789"
)

var alnum64 = regexp.MustCompile(`^[A-Za-z0-9]{64}$`)

// start runs a sandbox at the root of a test server.
func start(t *testing.T) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{MerchantCode: merchantCode, MerchantAPIToken: merchantToken})
	ts := httptest.NewServer(sb)
	t.Cleanup(func() {
		ts.Close()
		sb.Close()
	})
	return sb, ts
}

// webhook records the notification bodies it receives and answers with the
// next status in statuses (200 once they run out).
type webhook struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	got      chan struct{}
}

func newWebhook(t *testing.T, statuses ...int) *webhook {
	t.Helper()
	wh := &webhook{statuses: statuses, got: make(chan struct{}, 16)}
	wh.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		wh.mu.Lock()
		wh.bodies = append(wh.bodies, body)
		status := http.StatusOK
		if len(wh.statuses) > 0 {
			status, wh.statuses = wh.statuses[0], wh.statuses[1:]
		}
		wh.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "ok")
		wh.got <- struct{}{}
	}))
	t.Cleanup(wh.Close)
	return wh
}

func (wh *webhook) received() [][]byte {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	return append([][]byte(nil), wh.bodies...)
}

// noRedirect is a browser that lets the test look at each redirect.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// postRaw sends body with no Content-Type, as ETpay's SDK does.
func postRaw(t *testing.T, u, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func initBody(fields map[string]any) string {
	body := map[string]any{
		"merchant_code":      merchantCode,
		"merchant_api_token": merchantToken,
		"merchant_order_id":  "OC-700104",
		"order_amount":       12990,
	}
	for k, v := range fields {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	b, _ := json.Marshal(body)
	return string(b)
}

type tokens struct {
	Token          string `json:"token"`
	SignatureToken string `json:"signature_token"`
}

// initialize creates a session and returns its tokens.
func initialize(t *testing.T, base string, fields map[string]any) tokens {
	t.Helper()
	status, body := postRaw(t, base+"/session/initialize", initBody(fields))
	if status != http.StatusOK {
		t.Fatalf("initialize: %d %s", status, body)
	}
	var tk tokens
	if err := json.Unmarshal(body, &tk); err != nil {
		t.Fatalf("initialize answer %s: %v", body, err)
	}
	return tk
}

// press submits the funnel form with the given action.
func press(t *testing.T, funnelURL, action, bank string) *http.Response {
	t.Helper()
	resp, err := noRedirect.PostForm(funnelURL, url.Values{"action": {action}, "bank": {bank}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestInitializeSession(t *testing.T) {
	_, ts := start(t)
	tests := []struct {
		name   string
		body   string
		status int
		msg    string // substring of the JSON message
	}{
		{name: "good, no Content-Type", body: initBody(nil), status: 200},
		{name: "good with every optional field", body: initBody(map[string]any{
			"customer_email":           "ana@example.cl",
			"metadata":                 []map[string]any{{"name": "Producto", "value": "Libro", "show": true}},
			"user_bank_code":           "cl_new_bank",
			"user_rut":                 "11.111.111-1",
			"payment_completed_url":    "https://shop.example/ok?x=1",
			"payment_cancellation_url": "http://localhost:8080/cancel",
			"payment_webhook_url":      "https://shop.example/webhook",
			"concat":                   "&",
		}), status: 200},
		{name: "underscore order id", body: initBody(map[string]any{"merchant_order_id": "order_1"}), status: 200},
		{name: "64-char order id", body: initBody(map[string]any{"merchant_order_id": strings.Repeat("a", 64)}), status: 200},
		{name: "wrong merchant code", body: initBody(map[string]any{"merchant_code": "cl_other"}), status: 401, msg: "invalid merchant credentials"},
		{name: "wrong api token", body: initBody(map[string]any{"merchant_api_token": "nope"}), status: 401, msg: "invalid merchant credentials"},
		{name: "no credentials", body: initBody(map[string]any{"merchant_code": nil, "merchant_api_token": nil}), status: 401, msg: "invalid merchant credentials"},
		{name: "missing order id", body: initBody(map[string]any{"merchant_order_id": nil}), status: 400, msg: "merchant_order_id"},
		{name: "order id too long", body: initBody(map[string]any{"merchant_order_id": strings.Repeat("a", 65)}), status: 400, msg: "merchant_order_id"},
		{name: "order id with space", body: initBody(map[string]any{"merchant_order_id": "OC 1"}), status: 400, msg: "merchant_order_id"},
		{name: "order id with slash", body: initBody(map[string]any{"merchant_order_id": "OC/1"}), status: 400, msg: "merchant_order_id"},
		{name: "missing amount", body: initBody(map[string]any{"order_amount": nil}), status: 400, msg: "order_amount"},
		{name: "zero amount", body: initBody(map[string]any{"order_amount": 0}), status: 400, msg: "order_amount"},
		{name: "negative amount", body: initBody(map[string]any{"order_amount": -5}), status: 400, msg: "order_amount"},
		{name: "fractional amount", body: initBody(map[string]any{"order_amount": 1.5}), status: 400, msg: "order_amount"},
		{name: "string amount", body: initBody(map[string]any{"order_amount": "1500"}), status: 400, msg: "order_amount"},
		{name: "exponent amount", body: strings.Replace(initBody(nil), "12990", "1e3", 1), status: 400, msg: "order_amount"},
		{name: "overflowing amount", body: strings.Replace(initBody(nil), "12990", "99999999999999999999", 1), status: 400, msg: "order_amount"},
		{name: "email without @", body: initBody(map[string]any{"customer_email": "ana.example.cl"}), status: 400, msg: "customer_email"},
		{name: "bank code without cl_", body: initBody(map[string]any{"user_bank_code": "santander"}), status: 400, msg: "user_bank_code"},
		{name: "relative completed url", body: initBody(map[string]any{"payment_completed_url": "/ok"}), status: 400, msg: "payment_completed_url"},
		{name: "javascript cancellation url", body: initBody(map[string]any{"payment_cancellation_url": "javascript:alert(1)"}), status: 400, msg: "payment_cancellation_url"},
		{name: "ftp webhook url", body: initBody(map[string]any{"payment_webhook_url": "ftp://shop.example/hook"}), status: 400, msg: "payment_webhook_url"},
		{name: "metadata not an array", body: initBody(map[string]any{"metadata": map[string]any{"name": "a"}}), status: 400, msg: "metadata"},
		{name: "metadata of strings", body: initBody(map[string]any{"metadata": []string{"a"}}), status: 400, msg: "metadata"},
		{name: "metadata without name", body: initBody(map[string]any{"metadata": []map[string]any{{"value": "v", "show": true}}}), status: 400, msg: "metadata"},
		{name: "metadata show as string", body: initBody(map[string]any{"metadata": []map[string]any{{"name": "n", "value": "v", "show": "yes"}}}), status: 400, msg: "metadata"},
		{name: "invalid JSON", body: "{", status: 400, msg: "JSON"},
		{name: "array body", body: "[]", status: 400, msg: "JSON object"},
		{name: "empty body", body: "", status: 400, msg: "JSON object"},
		{name: "oversized body", body: initBody(map[string]any{"pad": strings.Repeat("a", 64<<10)}), status: 413, msg: "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postRaw(t, ts.URL+"/session/initialize", tt.body)
			if status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", status, tt.status, body)
			}
			if tt.status == http.StatusOK {
				var tk tokens
				if err := json.Unmarshal(body, &tk); err != nil {
					t.Fatal(err)
				}
				if !alnum64.MatchString(tk.Token) {
					t.Errorf("token %q is not 64 alphanumerics", tk.Token)
				}
				if !regexp.MustCompile(`^[A-Za-z0-9]{32,}$`).MatchString(tk.SignatureToken) {
					t.Errorf("signature_token %q is not 32+ alphanumerics", tk.SignatureToken)
				}
				return
			}
			var m struct{ Message string }
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("error body %s: %v", body, err)
			}
			if !strings.Contains(m.Message, tt.msg) {
				t.Errorf("message = %q, want it to mention %q", m.Message, tt.msg)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	_, ts := start(t)
	tests := []struct {
		name, method, path string
		status             int
	}{
		{name: "GET initialize", method: "GET", path: "/session/initialize", status: 405},
		{name: "PUT status", method: "PUT", path: "/merchant/check_payment_status", status: 405},
		{name: "DELETE funnel", method: "DELETE", path: "/session/abc", status: 405},
		{name: "root", method: "GET", path: "/", status: 404},
		{name: "unknown", method: "POST", path: "/v1/refund", status: 404},
		{name: "session without token", method: "GET", path: "/session/", status: 404},
		{name: "nested session path", method: "GET", path: "/session/abc/def", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if tt.status == 404 {
				b, _ := io.ReadAll(resp.Body)
				if strings.TrimSpace(string(b)) != `{"message":"not found"}` {
					t.Errorf("body = %s", b)
				}
			}
		})
	}
}

func TestFunnelPage(t *testing.T) {
	_, ts := start(t)
	tk := initialize(t, ts.URL, map[string]any{
		"user_bank_code": "cl_bci",
		"metadata": []map[string]any{
			{"name": "Producto", "value": "Libro <b>raro</b>", "show": true},
			{"name": "Interno", "value": "secreto-interno", "show": false},
		},
	})
	resp, err := noRedirect.Get(ts.URL + "/session/" + tk.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	page := string(body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	// The CSP admits the page's one stylesheet by hash, and no script at all.
	style := page[strings.Index(page, "<style>")+len("<style>") : strings.Index(page, "</style>")]
	sum := sha256.Sum256([]byte(style))
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not admit the page's style", csp)
	}
	for _, want := range []string{
		"ETpay SANDBOX",
		"OC-700104",
		"$12.990",
		"Producto", "Libro &lt;b&gt;raro&lt;/b&gt;",
		`<form method="post" action="">`,
		`<select id="bank" name="bank">`,
		`<option value="cl_bci" selected>`,
		`<option value="cl_tapp_pay">`,
		`<button type="submit" id="approve" name="action" value="approve">Pagar</button>`,
		`<button type="submit" id="reject" name="action" value="reject">Rechazar</button>`,
		`<button type="submit" id="cancel" name="action" value="cancel">Cancelar</button>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"secreto-interno", "<script", tk.SignatureToken} {
		if strings.Contains(page, unwanted) {
			t.Errorf("page contains %q", unwanted)
		}
	}
	if n := strings.Count(page, " selected"); n != 1 {
		t.Errorf("%d options selected, want 1", n)
	}
}

func TestFunnelAmounts(t *testing.T) {
	_, ts := start(t)
	tests := []struct {
		name   string
		amount int64
		want   string
	}{
		{name: "under a thousand", amount: 990, want: "$990"},
		{name: "thousands", amount: 12990, want: "$12.990"},
		{name: "exact thousand", amount: 1000, want: "$1.000"},
		{name: "millions", amount: 1234567, want: "$1.234.567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := initialize(t, ts.URL, map[string]any{"order_amount": tt.amount})
			_, page := get(t, ts.URL+"/session/"+tk.Token)
			if !strings.Contains(page, `id="amount">`+tt.want+"<") {
				t.Errorf("page lacks amount %s", tt.want)
			}
		})
	}
}

func TestFunnelUnknownAndCompleted(t *testing.T) {
	_, ts := start(t)
	for _, token := range []string{strings.Repeat("x", 64), "not-a-token"} {
		status, page := get(t, ts.URL+"/session/"+token)
		if status != http.StatusNotFound || !strings.Contains(page, "ETpay SANDBOX") {
			t.Errorf("unknown token %q: status %d, page %q", token, status, page)
		}
	}

	tk := initialize(t, ts.URL, nil)
	press(t, ts.URL+"/session/"+tk.Token, "approve", "cl_bch")
	status, page := get(t, ts.URL+"/session/"+tk.Token)
	if status != http.StatusOK {
		t.Errorf("completed session: status %d", status)
	}
	if !strings.Contains(page, "ya fue procesada") || strings.Contains(page, "<form") {
		t.Errorf("completed session page should say it was processed and have no form:\n%s", page)
	}
}

// verify checks a webhook body the way the merchant will.
func verify(t *testing.T, body []byte, tk tokens) *etpay.NotificationClaims {
	t.Helper()
	jwt, err := etpay.ParseNotificationBody(body)
	if err != nil {
		t.Fatalf("ParseNotificationBody(%s): %v", body, err)
	}
	claims, err := etpay.VerifyNotification(jwt, func(s string) (string, error) {
		if s != tk.Token {
			return "", errors.New("unknown")
		}
		return tk.SignatureToken, nil
	})
	if err != nil {
		t.Fatalf("VerifyNotification: %v", err)
	}
	return claims
}

func TestCompletePayment(t *testing.T) {
	tests := []struct {
		name       string
		action     string
		completed  string
		cancelled  string
		concat     string
		wantStatus string
		wantPrefix string // of Location; "" means a result page
	}{
		{name: "approve", action: "approve", completed: "https://shop.example/ok", cancelled: "https://shop.example/ko",
			wantStatus: "success", wantPrefix: "https://shop.example/ok?jwt="},
		{name: "approve with query", action: "approve", completed: "https://shop.example/ok?order=7", cancelled: "https://shop.example/ko",
			wantStatus: "success", wantPrefix: "https://shop.example/ok?order=7&jwt="},
		{name: "approve with query and concat", action: "approve", completed: "https://shop.example/ok?order=7", concat: ";",
			wantStatus: "success", wantPrefix: "https://shop.example/ok?order=7;jwt="},
		{name: "reject", action: "reject", completed: "https://shop.example/ok", cancelled: "https://shop.example/ko",
			wantStatus: "rejected", wantPrefix: "https://shop.example/ko?jwt="},
		{name: "cancel", action: "cancel", completed: "https://shop.example/ok", cancelled: "https://shop.example/ko?a=b",
			wantStatus: "cancelled", wantPrefix: "https://shop.example/ko?a=b&jwt="},
		{name: "approve without return URL", action: "approve", wantStatus: "success"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, ts := start(t)
			wh := newWebhook(t)
			fields := map[string]any{"payment_webhook_url": wh.URL + "/etpay/webhook", "user_rut": "11.111.111-1"}
			if tt.completed != "" {
				fields["payment_completed_url"] = tt.completed
			}
			if tt.cancelled != "" {
				fields["payment_cancellation_url"] = tt.cancelled
			}
			if tt.concat != "" {
				fields["concat"] = tt.concat
			}
			tk := initialize(t, ts.URL, fields)

			resp := press(t, ts.URL+"/session/"+tk.Token, tt.action, "cl_bch")

			// The notification was delivered synchronously, before the answer.
			bodies := wh.received()
			if len(bodies) != 1 {
				t.Fatalf("webhook got %d notifications, want 1", len(bodies))
			}
			claims := verify(t, bodies[0], tk)
			info := sb.Sessions()[0]
			if claims.PaymentStatus != tt.wantStatus || info.Status != tt.wantStatus {
				t.Errorf("payment_status = %q, session status %q, want %q", claims.PaymentStatus, info.Status, tt.wantStatus)
			}
			if claims.SessionToken != tk.Token || claims.MerchantOrderID != "OC-700104" || claims.UserRUT != "11.111.111-1" {
				t.Errorf("claims = %+v", claims)
			}
			if !alnum64.MatchString(claims.PaymentToken) || claims.PaymentToken != info.PaymentToken {
				t.Errorf("payment_token %q, session has %q", claims.PaymentToken, info.PaymentToken)
			}
			if !info.WebhookDelivered || info.WebhookAttempts != 1 {
				t.Errorf("session info = %+v", info)
			}

			if tt.wantPrefix == "" {
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status = %d, want a 200 result page", resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status = %d, want 303", resp.StatusCode)
			}
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, tt.wantPrefix) {
				t.Fatalf("Location = %q, want prefix %q", loc, tt.wantPrefix)
			}
			jwt, _ := etpay.ParseNotificationBody(bodies[0])
			if strings.TrimPrefix(loc, tt.wantPrefix) != jwt {
				t.Errorf("redirect JWT differs from the notified one")
			}
		})
	}
}

func TestCompletePaymentTwice(t *testing.T) {
	_, ts := start(t)
	wh := newWebhook(t)
	tk := initialize(t, ts.URL, map[string]any{"payment_webhook_url": wh.URL})
	funnel := ts.URL + "/session/" + tk.Token

	if resp := press(t, funnel, "approve", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("first press: %d", resp.StatusCode)
	}
	for _, action := range []string{"approve", "cancel"} {
		if resp := press(t, funnel, action, ""); resp.StatusCode != http.StatusConflict {
			t.Errorf("second press (%s): status %d, want 409", action, resp.StatusCode)
		}
	}
	if n := len(wh.received()); n != 1 {
		t.Errorf("webhook got %d notifications, want 1", n)
	}
}

func TestCompletePaymentBadRequests(t *testing.T) {
	sb, ts := start(t)
	tk := initialize(t, ts.URL, nil)
	tests := []struct {
		name   string
		token  string
		action string
		status int
	}{
		{name: "unknown action", token: tk.Token, action: "steal", status: 400},
		{name: "no action", token: tk.Token, action: "", status: 400},
		{name: "unknown session", token: strings.Repeat("z", 64), action: "approve", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp := press(t, ts.URL+"/session/"+tt.token, tt.action, ""); resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	if st := sb.Sessions()[0].Status; st != sandbox.StatusPending {
		t.Errorf("session status = %q after bad requests, want pending", st)
	}
}

func TestWebhookRetry(t *testing.T) {
	sb, ts := start(t)
	wh := newWebhook(t, http.StatusServiceUnavailable)
	tk := initialize(t, ts.URL, map[string]any{"payment_webhook_url": wh.URL})

	press(t, ts.URL+"/session/"+tk.Token, "approve", "")
	deadline := time.After(5 * time.Second)
	for len(wh.received()) < 2 {
		select {
		case <-wh.got:
		case <-deadline:
			t.Fatalf("webhook got %d notifications, want a retry", len(wh.received()))
		}
	}
	bodies := wh.received()
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Errorf("retry sent a different notification")
	}
	verify(t, bodies[1], tk)
	// The retry records its success right after the webhook answers.
	for i := 0; ; i++ {
		info := sb.Sessions()[0]
		if info.WebhookDelivered && info.WebhookAttempts == 2 {
			break
		}
		if i == 100 {
			t.Fatalf("session info = %+v", info)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseStopsRetries(t *testing.T) {
	sb := sandbox.New(sandbox.Options{MerchantCode: merchantCode, MerchantAPIToken: merchantToken})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	wh := newWebhook(t, 503, 503, 503, 503, 503, 503)
	tk := initialize(t, ts.URL, map[string]any{"payment_webhook_url": wh.URL})
	press(t, ts.URL+"/session/"+tk.Token, "approve", "")

	done := make(chan struct{})
	go func() { sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not stop the pending retry")
	}
	if n := len(wh.received()); n != 1 {
		t.Errorf("webhook got %d notifications, want only the first", n)
	}
}

func TestCheckPaymentStatus(t *testing.T) {
	sb, ts := start(t)
	paid := initialize(t, ts.URL, map[string]any{"merchant_order_id": "A-1"})
	pending := initialize(t, ts.URL, map[string]any{"merchant_order_id": "A-1"})
	rejected := initialize(t, ts.URL, map[string]any{"merchant_order_id": "B-2"})
	press(t, ts.URL+"/session/"+paid.Token, "approve", "")
	press(t, ts.URL+"/session/"+rejected.Token, "reject", "")
	var paidPayment string
	for _, s := range sb.Sessions() {
		if s.Token == paid.Token {
			paidPayment = s.PaymentToken
		}
	}

	query := func(fields map[string]string) string {
		body := map[string]string{"merchant_code": merchantCode, "merchant_api_token": merchantToken}
		for k, v := range fields {
			body[k] = v
		}
		b, _ := json.Marshal(body)
		return string(b)
	}
	tests := []struct {
		name   string
		body   string
		status int
		want   []string // session tokens, in order
	}{
		{name: "by order id", body: query(map[string]string{"merchant_order_id": "A-1"}), status: 200, want: []string{paid.Token}},
		{name: "by session token", body: query(map[string]string{"session_token": rejected.Token}), status: 200, want: []string{rejected.Token}},
		{name: "by payment token", body: query(map[string]string{"payment_token": paidPayment}), status: 200, want: []string{paid.Token}},
		{name: "pending session is not listed", body: query(map[string]string{"session_token": pending.Token}), status: 200, want: []string{}},
		{name: "selectors must all match", body: query(map[string]string{"session_token": paid.Token, "merchant_order_id": "B-2"}), status: 200, want: []string{}},
		{name: "unknown order", body: query(map[string]string{"merchant_order_id": "nope"}), status: 200, want: []string{}},
		{name: "no selector", body: query(nil), status: 400},
		{name: "wrong token", body: `{"merchant_code":"cl_demo_cl","merchant_api_token":"x","merchant_order_id":"A-1"}`, status: 401},
		{name: "invalid JSON", body: `{"merchant_code":`, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postRaw(t, ts.URL+"/merchant/check_payment_status", tt.body)
			if status != tt.status {
				t.Fatalf("status = %d, want %d: %s", status, tt.status, body)
			}
			if status != 200 {
				return
			}
			var got []map[string]string
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("answer %s: %v", body, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d entries, want %d: %s", len(got), len(tt.want), body)
			}
			for i, e := range got {
				if e["session_token"] != tt.want[i] || e["payment_token"] == "" || e["payment_status"] == "" || e["merchant_order_id"] == "" {
					t.Errorf("entry %d = %v", i, e)
				}
			}
		})
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	sb := sandbox.New(sandbox.Options{MerchantCode: merchantCode, MerchantAPIToken: merchantToken})
	t.Cleanup(sb.Close)
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", sb.Handler("/sandbox/"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "host app", http.StatusTeapot) })
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	wh := newWebhook(t)

	tk := initialize(t, ts.URL+"/sandbox", map[string]any{
		"payment_webhook_url":   wh.URL,
		"payment_completed_url": "https://shop.example/ok",
	})
	funnel := ts.URL + "/sandbox/session/" + tk.Token
	if status, page := get(t, funnel); status != 200 || !strings.Contains(page, `action=""`) {
		t.Fatalf("funnel under prefix: %d", status)
	}
	resp := press(t, funnel, "approve", "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("press under prefix: %d", resp.StatusCode)
	}
	verify(t, wh.received()[0], tk)
	if status, _ := get(t, ts.URL+"/session/"+tk.Token); status != http.StatusTeapot {
		t.Errorf("sandbox answered outside its prefix: %d", status)
	}
}

func TestPagesNeverShowSignatureToken(t *testing.T) {
	// The signature token must never reach the payer's browser, in any page.
	_, ts := start(t)
	tk := initialize(t, ts.URL, map[string]any{"payment_completed_url": "https://shop.example/ok"})
	_, before := get(t, ts.URL+"/session/"+tk.Token)
	resp := press(t, ts.URL+"/session/"+tk.Token, "approve", "")
	after, _ := io.ReadAll(resp.Body)
	_, done := get(t, ts.URL+"/session/"+tk.Token)
	for name, page := range map[string]string{"funnel": before, "redirect": string(after) + resp.Header.Get("Location"), "done": done} {
		if strings.Contains(page, tk.SignatureToken) {
			t.Errorf("%s page reveals the signature token", name)
		}
	}
}

// syncBuffer is a log sink safe for the sandbox's background goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsCarryNoSecrets(t *testing.T) {
	var logs syncBuffer
	sb := sandbox.New(sandbox.Options{
		MerchantCode: merchantCode, MerchantAPIToken: merchantToken,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	wh := newWebhook(t, http.StatusInternalServerError)
	tk := initialize(t, ts.URL, map[string]any{"payment_webhook_url": wh.URL, "payment_completed_url": "https://shop.example/ok"})
	postRaw(t, ts.URL+"/session/initialize", initBody(map[string]any{"merchant_api_token": "wrong-" + merchantToken}))
	resp := press(t, ts.URL+"/session/"+tk.Token, "approve", "")
	jwt := strings.TrimPrefix(resp.Header.Get("Location"), "https://shop.example/ok?jwt=")
	select {
	case <-wh.got: // the synchronous attempt
	case <-time.After(time.Second):
	}
	select {
	case <-wh.got: // the first retry
	case <-time.After(3 * time.Second):
		t.Error("no retry")
	}
	sb.Close()
	paymentToken := sb.Sessions()[0].PaymentToken

	out := logs.String()
	if !strings.Contains(out, "sandbox: payment completed") {
		t.Fatalf("expected logs, got:\n%s", out)
	}
	for name, secret := range map[string]string{
		"merchant token": merchantToken, "session token": tk.Token, "signature token": tk.SignatureToken,
		"payment token": paymentToken, "jwt": jwt,
	} {
		if secret == "" || strings.Contains(out, secret) {
			t.Errorf("logs contain the %s (or it is empty):\n%s", name, out)
		}
	}
}
