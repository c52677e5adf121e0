package outbox

import (
	"context"
	"errors"
	"etpay-dashboard/testdb"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/models"
)

// sink is a real SMTP server on loopback that keeps what it is sent and can
// refuse recipients for good.
type sink struct {
	mu     sync.Mutex
	got    []string // recipients, in order of arrival
	refuse string   // a recipient answered 550
	busy   string   // a recipient answered 450
	addr   string
}

type sinkSession struct {
	s  *sink
	to string
}

func (x *sinkSession) Reset()                                    {}
func (x *sinkSession) Logout() error                             { return nil }
func (x *sinkSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (x *sinkSession) Data(r io.Reader) error                    { return x.s.take(x.to, r) }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error { return x.s.rcpt(x, to) }

func (s *sink) rcpt(x *sinkSession, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if to == s.refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	if to == s.busy {
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy"}
	}
	x.to = to
	return nil
}

func (s *sink) take(to string, r io.Reader) error {
	if _, err := io.ReadAll(r); err != nil {
		return err
	}
	s.mu.Lock()
	s.got = append(s.got, to)
	s.mu.Unlock()
	return nil
}

func (s *sink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func newSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{addr: ln.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func newWorker(t *testing.T, smtpURL string) *Worker {
	t.Helper()
	return newWorkerOn(t, testdb.URL(t, "w.db"), smtpURL)
}

// newWorkerOn is a worker of its own Store on the database url: several on
// one url are instances sharing it.
func newWorkerOn(t *testing.T, url, smtpURL string) *Worker {
	t.Helper()
	env := map[string]string{"DATABASE_URL": url, "SMTP_URL": smtpURL, "MAIL_FROM": "Tienda <pagos@tienda.cl>"}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MailRetry = 10 * time.Millisecond
	store, err := models.Open(context.Background(), cfg.DatabaseURL, models.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &Worker{Config: cfg, Store: store, Logger: slog.New(slog.DiscardHandler)}
}

func queue(t *testing.T, w *Worker, kind, to string) {
	t.Helper()
	m := &models.OutboxMessage{Kind: kind, To: to, Subject: "s", TextBody: "t", HTMLBody: "<p>h</p>", MessageID: to + "@tienda.cl"}
	if err := w.Store.QueueMessages(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// Customers' emails go before staff alerts, whatever order they were queued in.
func TestCustomersFirst(t *testing.T) {
	s := newSink(t)
	w := newWorker(t, "smtp://"+s.addr)
	queue(t, w, models.MailAlertPaid, "staff1@tienda.cl")
	queue(t, w, models.MailAlertRejected, "staff2@tienda.cl")
	queue(t, w, models.MailLink, "ana@cliente.cl")
	queue(t, w, models.MailReceipt, "ben@cliente.cl")
	w.SendDue(context.Background())
	got := s.received()
	want := []string{"ana@cliente.cl", "ben@cliente.cl", "staff1@tienda.cl", "staff2@tienda.cl"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sent in order %v, want %v", got, want)
	}
}

// A permanent refusal stops at once; a server that does not answer is retried.
func TestRefusalsAndRetries(t *testing.T) {
	s := newSink(t)
	s.refuse, s.busy = "nadie@cliente.cl", "ocupado@cliente.cl"
	w := newWorker(t, "smtp://"+s.addr)
	queue(t, w, models.MailLink, "nadie@cliente.cl")
	queue(t, w, models.MailLink, "ocupado@cliente.cl")
	w.SendDue(context.Background())
	rows, _ := w.Store.OutboxMessages(context.Background(), models.OutboxFilter{}) // newest first
	if len(rows) != 2 || rows[1].Status != models.MailFailed || !strings.Contains(rows[1].LastError, "550") {
		t.Fatalf("refused for good: %+v", rows)
	}
	if rows[0].Status != models.MailQueued || !strings.Contains(rows[0].LastError, "450") {
		t.Fatalf("refused for now: %+v", rows[0])
	}

	down := newWorker(t, "smtp://127.0.0.1:1") // nothing listens there
	queue(t, down, models.MailLink, "ana@cliente.cl")
	down.SendDue(context.Background())
	rows, _ = down.Store.OutboxMessages(context.Background(), models.OutboxFilter{})
	if len(rows) != 1 || rows[0].Status != models.MailQueued || rows[0].Attempts != 1 || rows[0].LastError == "" ||
		!rows[0].NextAttemptAt.After(time.Now().Add(-time.Second)) {
		t.Fatalf("unreachable server: %+v", rows)
	}
}

func TestBackoffDoublesUpToAnHour(t *testing.T) {
	for attempts, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 20: time.Hour} {
		if got := mailBackoff(5*time.Second, attempts); got != want {
			t.Errorf("after %d attempts: %v, want %v", attempts, got, want)
		}
	}
}

func TestANetworkErrorIsNotPermanent(t *testing.T) {
	if permanentMailError(errors.New("connection refused")) {
		t.Error("a network error is permanent")
	}
}

// A receipt queued as its data (as the notification writer queues it) is
// rendered when sent; one queued with its bodies is sent as stored.
func TestQueuedDataRenderedWhenSent(t *testing.T) {
	s := newSink(t)
	w := newWorker(t, "smtp://"+s.addr)
	paidAt := time.Now()
	receipt, err := emails.Receipt(w.Config, emails.FixedName("Tienda"), &models.Link{ID: 1, MerchantOrderID: "OC-77", CustomerEmail: "ana@cliente.cl"},
		&models.Session{ID: 2, Amount: 4990, PaymentToken: "PT-777", PaidAt: &paidAt})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Store.QueueMessages(context.Background(), receipt); err != nil {
		t.Fatal(err)
	}
	stored, err := w.Store.OutboxMessageByID(context.Background(), receipt.ID)
	if err != nil || stored.Data == "" || stored.TextBody != "" {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	text, _, _ := emails.Render(stored)
	for _, m := range []*models.OutboxMessage{stored, {To: "b@cliente.cl", Subject: "s", TextBody: "stored PT-888", HTMLBody: "<p>h</p>"}} {
		msg, err := outgoingMessage(w.Config, "", m)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if _, err := msg.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "PT-777", false: "stored PT-888"}[m == stored]; !strings.Contains(b.String(), want) {
			t.Errorf("sent without %q:\n%s", want, b.String())
		}
	}
	if !strings.Contains(text, "PT-777") {
		t.Errorf("rendered %q", text)
	}
	w.SendDue(context.Background())
	if got := s.received(); len(got) != 1 || got[0] != "ana@cliente.cl" {
		t.Errorf("sent to %v", got)
	}
}
