package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/shophooks"
)

// startShopHooks runs the webhook worker beside the app, as serve does,
// with quick timing, until the test ends.
func startShopHooks(t *testing.T, h *harness) {
	t.Helper()
	w := &shophooks.Worker{Config: h.cfg, Store: h.store, Logger: slog.New(slog.DiscardHandler), Poll: 20 * time.Millisecond,
		Backoff: func(n int) (time.Duration, bool) { return 20 * time.Millisecond, n < 10 }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// verifyWebhook checks a webhook as a shop would, by the Standard Webhooks
// specification and written apart from the code that signs: a timestamp
// within 5 minutes, and any v1 signature of the list equal, in constant
// time, to the base64 HMAC-SHA256 of "id.timestamp.body" keyed by the
// base64 part of the whsec_ secret.
func verifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return errors.New("missing id, or timestamp missing or out of tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	for _, s := range strings.Fields(h.Get("webhook-signature")) {
		version, sig, _ := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(sig)
		if version == "v1" && err == nil && hmac.Equal(got, mac.Sum(nil)) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

func TestVerifierAcceptsThePublishedVector(t *testing.T) {
	h := http.Header{"Webhook-Id": {"msg_p5jXN8AQM9LWM0D4loKWxJek"}, "Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}}
	at := time.Unix(1614265330, 0)
	if err := verifyWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, []byte(`{"test": 2432232314}`), at); err != nil {
		t.Fatal(err)
	}
	if verifyWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, []byte(`{"test": 2432232315}`), at) == nil {
		t.Fatal("a changed body verified")
	}
}

// shopHook is one webhook as the shop's receiver got it.
type shopHook struct {
	header http.Header
	body   []byte
}

// hookBody is a webhook's body decoded.
type hookBody struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		Link    *models.LinkView    `json:"link"`
		Session *models.SessionView `json:"session"`
	} `json:"data"`
}

func (s shopHook) decode(t *testing.T) hookBody {
	t.Helper()
	var b hookBody
	if err := json.Unmarshal(s.body, &b); err != nil {
		t.Fatalf("webhook body %s: %v", s.body, err)
	}
	return b
}

// shopReceiver is the shop's endpoint on loopback; answer (nil: 200) says
// how it answers the n-th webhook.
type shopReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []shopHook
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newShopReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *shopReceiver {
	rc := &shopReceiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, shopHook{header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *shopReceiver) hooks() []shopHook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]shopHook(nil), rc.got...)
}

// wait returns the first n webhooks, failing the test if they do not come in time.
func (rc *shopReceiver) wait(t *testing.T, n int, within time.Duration) []shopHook {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(rc.hooks()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the shop got %d webhooks in %v, want %d", len(rc.hooks()), within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return rc.hooks()
}

var secretElement = regexp.MustCompile(`<code id="webhook-secret">([^<]*)</code>`)

// addEndpoint adds an endpoint through the admin's form and returns it with
// the secret the page showed.
func addEndpoint(t *testing.T, h *harness, admin *browser, url string, events ...string) (*models.WebhookEndpoint, string) {
	t.Helper()
	r := admin.submit("/admin/webhooks", "/admin/webhooks", formWith("url", url, "events", events))
	m := secretElement.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("add endpoint %s: %d\n%s", url, r.status, r.body)
	}
	all, err := h.store.WebhookEndpoints(context.Background())
	if err != nil || len(all) == 0 {
		t.Fatalf("endpoints: %v", err)
	}
	return &all[len(all)-1], html.UnescapeString(m[1]) // as a browser reads it: html/template writes + as &#43;
}

// formWith is a form with one value for single and several for the multi-valued field.
func formWith(single, value, multi string, values []string) map[string][]string {
	return map[string][]string{single: {value}, multi: values}
}

// webhookFixture makes an endpoint with one attempt in its log, for the
// pages' checks, and returns its id.
func webhookFixture(t *testing.T, h *harness) uint {
	t.Helper()
	ctx := context.Background()
	e, err := h.store.CreateWebhookEndpoint(ctx, models.WebhookEndpointInput{URL: "https://tienda.example/webhooks/etpay",
		Events: models.EventTypes, Secret: shophooks.NewSecret()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.QueueWebhookTest(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	due, err := h.store.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), nil, 1)
	if err != nil || len(due) != 1 {
		t.Fatalf("claim: %v", err)
	}
	r := models.WebhookResult{DeliveryID: due[0].DeliveryID, EndpointID: e.ID, At: now, StatusCode: 503,
		Duration: 120 * time.Millisecond, Answer: `{"error":"mantención"}`, Next: now.Add(time.Hour)}
	if _, err := h.store.RecordWebhookAttempt(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
	return e.ID
}
