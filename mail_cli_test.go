package main

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"etpay-dashboard/models"
)

// cliSink is a loopback SMTP server that records each message's recipients and data.
type cliSink struct {
	mu  sync.Mutex
	got []string // "to|data"
}

func (s *cliSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &cliSession{sink: s}, nil }

type cliSession struct {
	sink *cliSink
	to   []string
}

func (x *cliSession) Reset()                                    { x.to = nil }
func (x *cliSession) Logout() error                             { return nil }
func (x *cliSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (x *cliSession) Rcpt(to string, _ *smtp.RcptOptions) error { x.to = append(x.to, to); return nil }
func (x *cliSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.sink.mu.Lock()
	x.sink.got = append(x.sink.got, strings.Join(x.to, ",")+"|"+string(b))
	x.sink.mu.Unlock()
	return nil
}

func (s *cliSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func startCLISink(t *testing.T) (*cliSink, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &cliSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	go srv.Serve(ln)
	t.Cleanup(func() { ln.Close(); srv.Close() })
	return sink, "smtp://" + ln.Addr().String()
}

// TestLinksCreateEmailSentByServer queues a link email from the command line
// while the server runs: the server's worker sends it within its 5 s poll.
func TestLinksCreateEmailSentByServer(t *testing.T) {
	sink, smtpURL := startCLISink(t)
	vars, db := newEnv(t, "BASE_URL", "https://shop.cl/pagos", "SMTP_URL", smtpURL, "MAIL_FROM", "pagos@shop.cl", "MERCHANT_NAME", "Tienda")
	startServer(t, vars)
	time.Sleep(200 * time.Millisecond) // the worker's first look finds nothing

	r := runCmd(t, vars, "", "links", "create", "--order", "OC-900", "--amount", "12990", "--email", "cliente@correo.cl")
	if r.err != nil {
		t.Fatalf("links create: %v\n%s", r.err, r.stderr)
	}
	m := payURL.FindStringSubmatch(lastLine(r.stdout))
	if m == nil || !strings.Contains(r.stdout, "queued") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	deadline := time.Now().Add(8 * time.Second)
	for len(sink.messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := sink.messages()
	if len(got) != 1 {
		t.Fatalf("SMTP server got %d messages, want 1", len(got))
	}
	to, data, _ := strings.Cut(got[0], "|")
	if to != "cliente@correo.cl" || !strings.Contains(data, m[1]) || !strings.Contains(data, "$12.990") {
		t.Errorf("message to %q:\n%s", to, data)
	}
	rows, err := openTestStore(t, db).OutboxMessages(context.Background(), models.OutboxFilter{})
	if err != nil || len(rows) != 1 || !strings.Contains(data, "Message-ID: <"+rows[0].MessageID+">") {
		t.Errorf("outbox = %+v, %v", rows, err)
	}
}

// TestLinksCreateEmailWhileSMTPDown exits 0 once the email is queued, with
// no server and no SMTP to send it.
func TestLinksCreateEmailWhileSMTPDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ln.Close() // nothing listens here
	tests := []struct {
		name string
		vars []string
		want string
	}{
		{"SMTP down", []string{"SMTP_URL", "smtp://" + ln.Addr().String(), "MAIL_FROM", "pagos@shop.cl"}, "queued"},
		{"no SMTP_URL", nil, "SMTP_URL is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, db := newEnv(t, tt.vars...)
			r := runCmd(t, vars, "", "links", "create", "--order", "OC-1", "--amount", "500", "--email", "c@correo.cl", "--email-lang", "en")
			if r.err != nil || !strings.Contains(r.stdout, tt.want) {
				t.Fatalf("links create: %v\nstdout:\n%s", r.err, r.stdout)
			}
			rows, err := openTestStore(t, db).OutboxMessages(context.Background(), models.OutboxFilter{})
			if err != nil || len(rows) != 1 || rows[0].Status != models.MailQueued || rows[0].Lang != "en" || rows[0].To != "c@correo.cl" {
				t.Errorf("outbox = %+v, %v", rows, err)
			}
		})
	}
	t.Run("bad language", func(t *testing.T) {
		vars, db := newEnv(t)
		r := runCmd(t, vars, "", "links", "create", "--order", "OC-1", "--amount", "500", "--email", "c@correo.cl", "--email-lang", "fr")
		if r.err == nil || countLinks(t, db) != 0 {
			t.Errorf("--email-lang fr: %v, %d links", r.err, countLinks(t, db))
		}
	})
}

// TestLinksCreateEmailNamesTheSavedShop: the command line's link email names
// the shop as its page saved it (MERCHANT_NAME unset).
func TestLinksCreateEmailNamesTheSavedShop(t *testing.T) {
	vars, db := newEnv(t)
	if err := openTestStore(t, db).SaveShopSettings(context.Background(), models.ShopSettings{MerchantName: "Tienda Ñuñoa"}); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, vars, "", "links", "create", "--order", "OC-2", "--amount", "500", "--email", "c@correo.cl")
	if r.err != nil {
		t.Fatalf("links create: %v\n%s", r.err, r.stderr)
	}
	rows, err := openTestStore(t, db).OutboxMessages(context.Background(), models.OutboxFilter{})
	if err != nil || len(rows) != 1 || rows[0].Subject != "Tienda Ñuñoa: tu link de pago de la orden OC-2" {
		t.Errorf("outbox = %+v, %v", rows, err)
	}
}
