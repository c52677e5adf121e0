package etpay_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/etpay"
	"etpay-dashboard/etpay/sandbox"
)

const (
	testMerchantCode  = "cl_demo_cl"
	testMerchantToken = "Sup3rSecretMerchantApiToken-0123456789"
)

// startSandbox runs ETpay's simulator over real HTTP and returns a client for it.
func startSandbox(t *testing.T) (*etpay.Client, *httptest.Server, *sandbox.Server) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{MerchantCode: testMerchantCode, MerchantAPIToken: testMerchantToken})
	ts := httptest.NewServer(sb)
	t.Cleanup(func() {
		ts.Close()
		sb.Close()
	})
	c := etpay.NewClient(etpay.Config{
		APIURL: ts.URL, PMTURL: ts.URL + "/",
		MerchantCode: testMerchantCode, MerchantAPIToken: testMerchantToken,
		Timeout: 5 * time.Second,
	})
	return c, ts, sb
}

func TestClientAgainstSandbox(t *testing.T) {
	c, ts, sb := startSandbox(t)
	ctx := context.Background()
	webhookHit := make(chan []byte, 1)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		webhookHit <- b
	}))
	defer webhook.Close()

	sess, err := c.InitializeSession(ctx, etpay.SessionRequest{
		MerchantOrderID:        "OC-700104",
		OrderAmount:            12990,
		CustomerEmail:          "ana@example.cl",
		Metadata:               []etpay.MetadataItem{{Name: "Producto", Value: "Libro", Show: true}},
		UserBankCode:           "cl_bci",
		UserRUT:                "11.111.111-1",
		PaymentCompletedURL:    "https://shop.example/ok",
		PaymentCancellationURL: "https://shop.example/ko",
		PaymentWebhookURL:      webhook.URL,
	})
	if err != nil {
		t.Fatalf("InitializeSession: %v", err)
	}
	if len(sess.Token) != 64 || len(sess.SignatureToken) < 32 {
		t.Fatalf("session = %+v", sess)
	}
	if info := sb.Sessions(); len(info) != 1 || info[0].OrderAmount != 12990 || info[0].MerchantOrderID != "OC-700104" {
		t.Fatalf("sandbox sessions = %+v", info)
	}

	funnel := c.FunnelURL(sess.Token)
	if funnel != ts.URL+"/session/"+sess.Token {
		t.Fatalf("FunnelURL = %q", funnel)
	}

	got, err := c.CheckPaymentStatus(ctx, etpay.StatusQuery{SessionToken: sess.Token})
	if err != nil || len(got) != 0 {
		t.Fatalf("status before paying = %+v, %v; want no news", got, err)
	}

	// The payer presses "Pagar" in the funnel.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(funnel, url.Values{"action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	token, err := etpay.ParseNotificationBody(<-webhookHit)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := etpay.VerifyNotification(token, func(string) (string, error) { return sess.SignatureToken, nil })
	if err != nil {
		t.Fatalf("VerifyNotification: %v", err)
	}

	for _, q := range []etpay.StatusQuery{
		{SessionToken: sess.Token},
		{MerchantOrderID: "OC-700104"},
		{PaymentToken: claims.PaymentToken},
	} {
		got, err := c.CheckPaymentStatus(ctx, q)
		if err != nil {
			t.Fatalf("CheckPaymentStatus(%+v): %v", q, err)
		}
		if len(got) != 1 {
			t.Fatalf("CheckPaymentStatus(%+v) = %+v", q, got)
		}
		ps := got[0]
		if ps.PaymentStatus != etpay.StatusSuccess || ps.PaymentToken != claims.PaymentToken ||
			ps.SessionToken != sess.Token || ps.MerchantOrderID != "OC-700104" || !json.Valid(ps.Raw) {
			t.Errorf("status = %+v", ps)
		}
	}
}

func TestClientSandboxRefusals(t *testing.T) {
	c, ts, _ := startSandbox(t)
	wrong := etpay.NewClient(etpay.Config{APIURL: ts.URL, MerchantCode: testMerchantCode, MerchantAPIToken: "wrong-token"})
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		status int
		msg    string
	}{
		{name: "wrong credentials", status: 401, msg: "invalid merchant credentials", call: func() error {
			_, err := wrong.InitializeSession(ctx, etpay.SessionRequest{MerchantOrderID: "A", OrderAmount: 1})
			return err
		}},
		{name: "wrong credentials on status", status: 401, msg: "invalid merchant credentials", call: func() error {
			_, err := wrong.CheckPaymentStatus(ctx, etpay.StatusQuery{MerchantOrderID: "A"})
			return err
		}},
		{name: "relative return URL", status: 400, msg: "payment_completed_url", call: func() error {
			_, err := c.InitializeSession(ctx, etpay.SessionRequest{MerchantOrderID: "A", OrderAmount: 1, PaymentCompletedURL: "/ok"})
			return err
		}},
		{name: "bad order id", status: 400, msg: "merchant_order_id", call: func() error {
			_, err := c.InitializeSession(ctx, etpay.SessionRequest{MerchantOrderID: "A B", OrderAmount: 1})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			apiErr, ok := errors.AsType[*etpay.APIError](err)
			if !ok {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.StatusCode != tt.status || !strings.Contains(apiErr.Message, tt.msg) {
				t.Errorf("APIError = %+v, want %d mentioning %q", apiErr, tt.status, tt.msg)
			}
		})
	}
}

func TestClientRefusesInvalidRequests(t *testing.T) {
	c := etpay.NewClient(etpay.Config{APIURL: "http://127.0.0.1:1", MerchantCode: "m", MerchantAPIToken: "t"})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{name: "no order id", call: func() error {
			_, err := c.InitializeSession(ctx, etpay.SessionRequest{OrderAmount: 100})
			return err
		}},
		{name: "zero amount", call: func() error {
			_, err := c.InitializeSession(ctx, etpay.SessionRequest{MerchantOrderID: "A"})
			return err
		}},
		{name: "empty status query", call: func() error {
			_, err := c.CheckPaymentStatus(ctx, etpay.StatusQuery{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, etpay.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestClientSendsWireFormat(t *testing.T) {
	bodies := make(chan map[string]any, 2)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		m["_path"] = r.URL.Path
		m["_method"] = r.Method
		bodies <- m
		if strings.HasSuffix(r.URL.Path, "initialize") {
			_, _ = io.WriteString(w, `{"token":"tok123","signature_token":"sig456"}`)
		} else {
			_, _ = io.WriteString(w, `[]`)
		}
	}))
	defer ts.Close()
	c := etpay.NewClient(etpay.Config{APIURL: ts.URL + "/", MerchantCode: "cl_m", MerchantAPIToken: "secret"})

	if _, err := c.InitializeSession(context.Background(), etpay.SessionRequest{MerchantOrderID: "A-1", OrderAmount: 5000}); err != nil {
		t.Fatal(err)
	}
	got := <-bodies
	want := map[string]any{
		"_path": "/session/initialize", "_method": "POST",
		"merchant_code": "cl_m", "merchant_api_token": "secret", "merchant_order_id": "A-1", "order_amount": 5000.0,
	}
	if len(got) != len(want) {
		t.Errorf("initialize body = %v, want exactly %v (empty optional fields omitted)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("initialize %s = %v, want %v", k, got[k], v)
		}
	}

	if _, err := c.CheckPaymentStatus(context.Background(), etpay.StatusQuery{PaymentToken: "p1"}); err != nil {
		t.Fatal(err)
	}
	got = <-bodies
	want = map[string]any{
		"_path": "/merchant/check_payment_status", "_method": "POST",
		"merchant_code": "cl_m", "merchant_api_token": "secret", "payment_token": "p1",
	}
	if len(got) != len(want) {
		t.Errorf("status body = %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("status %s = %v, want %v", k, got[k], v)
		}
	}
}

func TestClientErrors(t *testing.T) {
	redirected := make(chan struct{}, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected <- struct{}{} }))
	defer target.Close()

	tests := []struct {
		name    string
		handler http.HandlerFunc
		op      string // "init" or "status"
		timeout time.Duration
		want    error // sentinel, or nil for *APIError
		status  int   // APIError status
		msg     string
	}{
		{name: "500 without body", op: "init", status: 500,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }},
		{name: "401 with message", op: "init", status: 401, msg: "invalid merchant credentials",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(401)
				_, _ = io.WriteString(w, `{"message":"invalid merchant credentials"}`)
			}},
		{name: "400 echoing our token", op: "init", status: 400, msg: "[redacted]",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"message":"bad token `+testMerchantToken+`"}`)
			}},
		{name: "400 echoing the request body", op: "status", status: 400,
			handler: func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				w.WriteHeader(400)
				_ = json.NewEncoder(w).Encode(map[string]string{"message": string(b)})
			}},
		{name: "long message is truncated", op: "status", status: 502,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(502)
				_, _ = io.WriteString(w, `{"message":"`+strings.Repeat("x", 5000)+`"}`)
			}},
		{name: "HTML error page", op: "status", status: 503,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(503)
				_, _ = io.WriteString(w, `<html>down</html>`)
			}},
		{name: "redirect is not followed", op: "init", status: 302,
			handler: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) }},
		{name: "invalid JSON", op: "init", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"token":`) }},
		{name: "missing token", op: "init", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"signature_token":"abc"}`) }},
		{name: "missing signature token", op: "init", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"token":"abc"}`) }},
		{name: "token with slash", op: "init", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"token":"../admin","signature_token":"abc"}`)
			}},
		{name: "token with space", op: "init", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"token":"a b","signature_token":"abc"}`)
			}},
		{name: "token too long", op: "init", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"token":"`+strings.Repeat("a", 257)+`","signature_token":"abc"}`)
			}},
		{name: "token not a string", op: "init", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"token":12,"signature_token":"abc"}`)
			}},
		{name: "answer over 1 MiB", op: "init", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"token":"a","signature_token":"b","pad":"`+strings.Repeat("x", 1<<20)+`"}`)
			}},
		{name: "status answer is an object", op: "status", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"payment_status":"success"}`) }},
		{name: "status answer is null", op: "status", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `null`) }},
		{name: "status entry not an object", op: "status", want: etpay.ErrMalformedResponse,
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `["success"]`) }},
		{name: "slow answer", op: "init", timeout: 100 * time.Millisecond, want: etpay.ErrUnavailable,
			handler: stall},
		{name: "slow status answer", op: "status", timeout: 100 * time.Millisecond, want: etpay.ErrUnavailable,
			handler: stall},
		{name: "connection dropped", op: "init", want: etpay.ErrUnavailable,
			handler: func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(tt.handler)
			defer ts.Close()
			c := etpay.NewClient(etpay.Config{
				APIURL: ts.URL, MerchantCode: testMerchantCode, MerchantAPIToken: testMerchantToken, Timeout: tt.timeout,
			})
			var err error
			if tt.op == "init" {
				var s etpay.Session
				s, err = c.InitializeSession(context.Background(), etpay.SessionRequest{MerchantOrderID: "A-1", OrderAmount: 100})
				if err != nil && s != (etpay.Session{}) {
					t.Errorf("session %+v returned with an error", s)
				}
			} else {
				_, err = c.CheckPaymentStatus(context.Background(), etpay.StatusQuery{MerchantOrderID: "A-1"})
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), testMerchantToken) {
				t.Errorf("error %q contains the merchant api token", err)
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
				return
			}
			apiErr, ok := errors.AsType[*etpay.APIError](err)
			if !ok {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if apiErr.StatusCode != tt.status {
				t.Errorf("StatusCode = %d, want %d", apiErr.StatusCode, tt.status)
			}
			if !strings.Contains(apiErr.Message, tt.msg) {
				t.Errorf("Message = %q, want it to contain %q", apiErr.Message, tt.msg)
			}
			if n := len([]rune(apiErr.Message)); n > 201 {
				t.Errorf("Message has %d characters, want at most 200 (+ellipsis)", n)
			}
			if errors.Is(err, etpay.ErrUnavailable) || errors.Is(err, etpay.ErrMalformedResponse) {
				t.Errorf("APIError also matches another sentinel: %v", err)
			}
		})
	}
	select {
	case <-redirected:
		t.Error("client followed a redirect")
	default:
	}
}

// stall answers only after the client has given up. The body is read first
// so the server notices the client hanging up and the test does not linger.
func stall(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func TestClientUnreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	addr := ts.URL
	ts.Close() // nothing listens there any more
	c := etpay.NewClient(etpay.Config{APIURL: addr, MerchantCode: testMerchantCode, MerchantAPIToken: testMerchantToken})
	_, err := c.InitializeSession(context.Background(), etpay.SessionRequest{MerchantOrderID: "A", OrderAmount: 1})
	if !errors.Is(err, etpay.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.CheckPaymentStatus(ctx, etpay.StatusQuery{SessionToken: "s"})
	if !errors.Is(err, etpay.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}

func TestFunnelURL(t *testing.T) {
	tests := []struct {
		name, pmt, token, want string
	}{
		{name: "plain", pmt: "https://pmt-sandbox.etpay.com", token: "abc123", want: "https://pmt-sandbox.etpay.com/session/abc123"},
		{name: "trailing slash", pmt: "https://pmt-sandbox.etpay.com/", token: "abc123", want: "https://pmt-sandbox.etpay.com/session/abc123"},
		{name: "mounted under a path", pmt: "http://localhost:8080/sandbox/", token: "abc", want: "http://localhost:8080/sandbox/session/abc"},
		{name: "token is escaped", pmt: "https://pmt.example", token: "a/b?c", want: "https://pmt.example/session/a%2Fb%3Fc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := etpay.NewClient(etpay.Config{PMTURL: tt.pmt})
			if got := c.FunnelURL(tt.token); got != tt.want {
				t.Errorf("FunnelURL = %q, want %q", got, tt.want)
			}
		})
	}
}
