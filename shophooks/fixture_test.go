package shophooks

import (
	"context"
	"encoding/json"
	"etpay-dashboard/testdb"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
)

// fixture is a store and a configuration for a worker under test.
type fixture struct {
	t     *testing.T
	store *models.Store
	cfg   *config.Config
	clock *clock
	url   string // the store's database
}

// newFixture opens a store in a temp dir with settings env (sandbox mode
// unless env names the four ETPAY_* settings).
func newFixture(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	url := testdb.URL(t, "test.db")
	store, err := models.Open(context.Background(), url, models.WithPasswordCost(bcrypt.MinCost),
		models.WithBaseURL("https://pagos.tienda.cl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &fixture{t: t, store: store, cfg: cfg, clock: &clock{}, url: url}
}

// liveEnv is a live-mode configuration (ETpay's URLs are never called here).
func liveEnv() map[string]string {
	return map[string]string{"ETPAY_API_URL": "https://api.etpay.example", "ETPAY_PMT_URL": "https://pmt.etpay.example",
		"ETPAY_MERCHANT_CODE": "m", "ETPAY_MERCHANT_API_TOKEN": "t"}
}

// start runs a worker with quick test timing (changed by adjust) until the
// test ends.
func (f *fixture) start(adjust func(*Worker)) *Worker {
	w := &Worker{Config: f.cfg, Store: f.store, Logger: slog.New(slog.DiscardHandler), Now: f.clock.now,
		Poll: 10 * time.Millisecond, ExpiryEvery: 10 * time.Millisecond, Timeout: 2 * time.Second,
		Backoff: func(n int) (time.Duration, bool) { return 10 * time.Millisecond, n < 10 }}
	if adjust != nil {
		adjust(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	f.t.Cleanup(func() { cancel(); <-done })
	return w
}

func (f *fixture) endpoint(url string, events ...string) *models.WebhookEndpoint {
	f.t.Helper()
	e, err := f.store.CreateWebhookEndpoint(context.Background(), models.WebhookEndpointInput{URL: url, Events: events, Secret: NewSecret()})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *fixture) link(order string, expires *time.Time) *models.Link {
	f.t.Helper()
	l, err := f.store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: order, Amount: 12990, Mode: "sandbox", ExpiresAt: expires})
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

// clock is the worker's time: it runs, and a test moves it forward.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// set makes it t now.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.offset = time.Until(t)
	c.mu.Unlock()
}

// request is one webhook as a receiver got it.
type request struct {
	header http.Header
	body   []byte
	at     time.Time
}

// event is its body decoded.
func (r request) event(t *testing.T) (typ string, linkID uint) {
	t.Helper()
	var b struct {
		Type string `json:"type"`
		Data struct {
			Link *struct {
				ID uint `json:"id"`
			} `json:"link"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if b.Data.Link != nil {
		linkID = b.Data.Link.ID
	}
	return b.Type, linkID
}

// receiver is a shop's endpoint on loopback that keeps what it gets and
// answers as answer says for the n-th request (from 0).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, request{header: r.Header.Clone(), body: body, at: time.Now()})
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.got...)
}

// wait returns the first n requests, failing the test if they do not come in time.
func (rc *receiver) wait(t *testing.T, n int, within time.Duration) []request {
	t.Helper()
	eventually(t, within, "requests arrive", func() bool { return len(rc.requests()) >= n })
	return rc.requests()
}

// eventually waits until ok holds, failing the test after within.
func eventually(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
