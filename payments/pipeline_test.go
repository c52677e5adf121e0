package payments

import (
	"context"
	"encoding/json"
	"errors"
	"etpay-dashboard/testdb"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/config"
	"etpay-dashboard/etpay"
	"etpay-dashboard/etpay/sandbox"
	"etpay-dashboard/live"
	"etpay-dashboard/models"
)

// world is the pipeline over a real store and the ETpay sandbox over real
// HTTP; the sandbox's own notifications are lost, as when ETpay cannot reach
// us, so only what the test sends (or reconciliation finds) arrives.
type world struct {
	p       *Pipeline
	sandbox *httptest.Server
	events  *live.Subscription
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sb := sandbox.New(sandbox.Options{MerchantCode: "m", MerchantAPIToken: "tok", WebhookClient: &http.Client{
		Transport: roundTrip(func(*http.Request) (*http.Response, error) { return nil, errors.New("lost") }),
	}})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	env := map[string]string{"DATABASE_URL": testdb.URL(t, "p.db"), "BASE_URL": "https://shop.cl",
		"ETPAY_API_URL": srv.URL, "ETPAY_PMT_URL": srv.URL, "ETPAY_MERCHANT_CODE": "m", "ETPAY_MERCHANT_API_TOKEN": "tok"}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	store, err := models.Open(context.Background(), cfg.DatabaseURL, models.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	broker := live.New()
	sub, _, _ := broker.Subscribe("test", "", nil)
	client := etpay.NewClient(etpay.Config{APIURL: srv.URL, PMTURL: srv.URL, MerchantCode: "m", MerchantAPIToken: "tok"})
	p := &Pipeline{Config: cfg, Store: store, ETpay: client, Events: broker, Logger: slog.New(slog.DiscardHandler)}
	return &world{p: p, sandbox: srv, events: sub}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// pendingSession starts an ETpay session for a new link, as opening it does.
func (w *world) pendingSession(t *testing.T, order string) (*models.Session, string) {
	t.Helper()
	ctx := context.Background()
	link, err := w.p.Store.CreateLink(ctx, models.LinkInput{MerchantOrderID: order, Amount: 12990, Mode: "live"})
	if err != nil {
		t.Fatal(err)
	}
	es, err := w.p.ETpay.InitializeSession(ctx, etpay.SessionRequest{MerchantOrderID: order, OrderAmount: 12990,
		PaymentCompletedURL: "https://shop.cl/ok", PaymentCancellationURL: "https://shop.cl/no", PaymentWebhookURL: "https://shop.cl/webhooks/etpay"})
	if err != nil {
		t.Fatal(err)
	}
	s := &models.Session{LinkID: link.ID, SessionToken: es.Token, SignatureToken: es.SignatureToken, Mode: "live"}
	if err := w.p.Store.AddSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	return s, es.SignatureToken
}

func body(t *testing.T, c etpay.NotificationClaims, key string) []byte {
	t.Helper()
	tok, err := etpay.SignNotification(c, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"payment": tok})
	return b
}

func TestProcessAppliesWhatVerifiesAndStoresTheRest(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s, key := w.pendingSession(t, "OC-1")
	claims := etpay.NotificationClaims{SessionToken: s.SessionToken, MerchantOrderID: "OC-1", PaymentToken: "PT-1", PaymentStatus: "success"}

	forged, err := w.p.Process(ctx, body(t, claims, "not the key"), "203.0.113.9", SourceWebhook)
	if err != nil || !errors.Is(forged.Rejection, etpay.ErrBadSignature) || forged.Stored.Verdict != models.VerdictRejected {
		t.Fatalf("forgery: %+v, %v", forged, err)
	}
	junk, err := w.p.Process(ctx, []byte("not json"), "203.0.113.9", SourceWebhook)
	if err != nil || !errors.Is(junk.Rejection, etpay.ErrMalformed) {
		t.Fatalf("junk: %+v, %v", junk, err)
	}
	select {
	case ev := <-w.events.Events():
		t.Fatalf("a rejected notification told the live tables: %+v", ev)
	default:
	}

	paid, err := w.p.Process(ctx, body(t, claims, key), "198.51.100.1", SourceWebhook)
	if err != nil || paid.Rejection != nil || paid.Stored.Verdict != models.VerdictVerified || paid.Stored.Effect != models.EffectPaid {
		t.Fatalf("genuine success: %+v, %v", paid, err)
	}
	if ev := <-w.events.Events(); ev.Session.ID != s.ID || ev.Session.Status != models.StatusPaid {
		t.Fatalf("live tables told %+v", ev)
	}
	again, err := w.p.Process(ctx, body(t, claims, key), "198.51.100.1", SourceReplay)
	if err != nil || again.Stored.Verdict != models.VerdictDuplicate || again.Stored.Source != SourceReplay {
		t.Fatalf("replay: %+v, %v", again, err)
	}
}

// Reconciliation finds a payment whose notification was lost, records it as
// a verified status_query once, and finds no news in an empty answer.
func TestReconcileRecordsWhatETpaySays(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s, _ := w.pendingSession(t, "OC-2")
	if n, err := w.p.Reconcile(ctx, s); err != nil || n != 0 {
		t.Fatalf("pending at ETpay: %d recorded, %v; want no news", n, err)
	}
	if got, _ := w.p.Store.SessionByID(ctx, s.ID); got.Status != models.StatusPending || got.CheckedAt == nil {
		t.Fatalf("after no news: %+v", got)
	}
	// The customer pays in the funnel; the notification is lost on the way.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(w.sandbox.URL+"/session/"+s.SessionToken, url.Values{"action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if n, err := w.p.Reconcile(ctx, s); err != nil || n != 1 {
		t.Fatalf("after payment: %d recorded, %v", n, err)
	}
	got, _ := w.p.Store.SessionByID(ctx, s.ID)
	if got.Status != models.StatusPaid || got.PaymentToken == "" {
		t.Fatalf("session after reconciliation: %+v", got)
	}
	if n, err := w.p.Reconcile(ctx, s); err != nil || n != 1 {
		t.Fatalf("asking again: %d, %v", n, err)
	}
	notes, _ := w.p.Store.NotificationsForSession(ctx, s.ID)
	if len(notes) != 2 || notes[0].Source != SourceStatusQuery || notes[1].Verdict != models.VerdictDuplicate {
		t.Fatalf("history %+v, want a verified status query then a duplicate", notes)
	}
}
