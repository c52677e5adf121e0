package handlers_test

import (
	"bytes"
	"context"
	"errors"
	"etpay-dashboard/testdb"
	"html"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/etpay"
	"etpay-dashboard/etpay/sandbox"
	"etpay-dashboard/handlers"
	"etpay-dashboard/models"
	"etpay-dashboard/outbox"
	"etpay-dashboard/shop"
)

// smtpSink is a real SMTP server on loopback that keeps what it receives.
// It can be stopped and started again on the same address.
type smtpSink struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	got  []received
	srv  *smtp.Server
	ln   net.Listener
}

// received is one message as the server took it.
type received struct {
	from string
	to   []string
	data []byte
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{t: t, addr: ln.Addr().String()}
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

// newStoppedSMTPSink reserves an address where no SMTP server answers yet.
func newStoppedSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	s := &smtpSink{t: t, addr: ln.Addr().String()}
	t.Cleanup(s.stop)
	return s
}

func (s *smtpSink) url() string { return "smtp://" + s.addr }

func (s *smtpSink) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = nopLogger{}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go srv.Serve(ln)
}

func (s *smtpSink) stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		ln.Close() // Close alone misses a listener Serve has not registered yet
		srv.Close()
	}
}

// start serves again on the same address.
func (s *smtpSink) start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old socket may take a moment to let go
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(ln)
}

func (s *smtpSink) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// wait returns the first n messages, failing the test if they do not arrive in time.
func (s *smtpSink) wait(n int, within time.Duration) []received {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if got := s.messages(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("SMTP server received %d messages in %v, want %d", len(s.messages()), within, n)
	return nil
}

type sinkSession struct {
	sink *smtpSink
	msg  received
}

func (x *sinkSession) Reset()        { x.msg = received{} }
func (x *sinkSession) Logout() error { return nil }
func (x *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	x.msg.from = from
	return nil
}
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.msg.to = append(x.msg.to, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.msg.data = b
	x.sink.mu.Lock()
	x.sink.got = append(x.sink.got, x.msg)
	x.sink.mu.Unlock()
	return nil
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

// parsedMail is a received message with its headers and both parts decoded.
type parsedMail struct {
	header     netmail.Header
	subject    string
	text, html string
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	out := parsedMail{header: m.Header, subject: subject}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, want multipart/alternative", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			out.text = string(body)
		case "text/html":
			out.html = string(body)
		}
	}
	return out
}

// mailApp is the real app with the outbox worker on a short poll, over a
// database file that a test may reopen to restart the app.
type mailApp struct {
	*harness
	stop func()
}

// startMailApp starts the app on db with SMTP_URL smtpURL (empty: none).
func startMailApp(t *testing.T, db, smtpURL string) *mailApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	sb := sandbox.New(sandbox.Options{MerchantCode: testMerchant, MerchantAPIToken: testAPIToken})
	etpaySrv := httptest.NewServer(sb)
	env := map[string]string{
		"BASE_URL": base, "DATABASE_URL": db,
		"ETPAY_API_URL": etpaySrv.URL, "ETPAY_PMT_URL": etpaySrv.URL,
		"ETPAY_MERCHANT_CODE": testMerchant, "ETPAY_MERCHANT_API_TOKEN": testAPIToken,
		"SMTP_URL": smtpURL, "MAIL_FROM": "Tienda Ñuñoa <pagos@tienda.cl>", "MERCHANT_NAME": "Tienda Ñuñoa",
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MailPoll, cfg.MailRetry = 50*time.Millisecond, 100*time.Millisecond
	store, err := models.Open(context.Background(), db, testStoreOptions...)
	if err != nil {
		t.Fatal(err)
	}
	jobs, cancel := context.WithCancel(context.Background())
	client := etpay.NewClient(etpay.Config{APIURL: cfg.ETpayAPIURL, PMTURL: cfg.ETpayPMTURL, MerchantCode: cfg.ETpayMerchant, MerchantAPIToken: cfg.ETpayAPIToken, Timeout: 2e9})
	sh, err := shop.Open(context.Background(), cfg, store) // one for the pages and the worker, as main does
	if err != nil {
		t.Fatal(err)
	}
	app := handlers.New(handlers.Deps{Config: cfg, Store: store, ETpay: client, SessionSecret: "test-session-secret", Shop: sh})
	go app.Listener(ln)
	worker := make(chan struct{})
	go func() {
		defer close(worker)
		(&outbox.Worker{Config: cfg, Store: store, Logger: slog.New(slog.DiscardHandler), Shop: sh}).Run(jobs)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			app.Shutdown()
			<-worker // it records what it was sending before it returns
			store.Close()
			etpaySrv.Close()
			sb.Close()
		})
	}
	t.Cleanup(stop)
	return &mailApp{harness: &harness{t: t, app: app, store: store, cfg: cfg, sandbox: sb, etpay: etpaySrv, base: base}, stop: stop}
}

// createLinkWithEmail makes a link through the staff form and returns the
// link page's path.
func createLinkWithEmail(t *testing.T, b *browser, order, amount, email, description string) string {
	t.Helper()
	r := b.submit("/admin/links/new", "/admin/links/new", url.Values{
		"merchant_order_id": {order}, "order_amount": {amount}, "customer_email": {email}, "description": {description},
	})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create link: %d\n%s", r.status, r.body)
	}
	return r.header.Get("Location")
}

// outboxRows returns every stored message, oldest first.
func outboxRows(t *testing.T, s *models.Store) []models.OutboxMessage {
	t.Helper()
	rows, err := s.OutboxMessages(context.Background(), models.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows
}

// waitOutbox waits until ok holds for the stored messages.
func waitOutbox(t *testing.T, s *models.Store, within time.Duration, what string, ok func([]models.OutboxMessage) bool) []models.OutboxMessage {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		rows := outboxRows(t, s)
		if ok(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox never showed %s; rows: %+v", what, rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMailLinkFromStaffForm(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	h := startMailApp(t, testdb.URL(t, "test.db"), sink.url())
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	page := createLinkWithEmail(t, staff, "OC-4711", "12990", "ana.perez@cliente.cl", "Zapatillas <talla 42> & calcetines")

	got := sink.wait(1, 5*time.Second)
	if len(got[0].to) != 1 || got[0].to[0] != "ana.perez@cliente.cl" || got[0].from != "pagos@tienda.cl" {
		t.Errorf("envelope from %q to %v", got[0].from, got[0].to)
	}
	m := parseMail(t, got[0].data)
	rows := outboxRows(t, h.store)
	if len(rows) != 1 {
		t.Fatalf("outbox has %d rows, want 1", len(rows))
	}
	link, err := h.store.LinkByID(context.Background(), *rows[0].LinkID)
	if err != nil {
		t.Fatal(err)
	}
	payURL := h.base + "/pay/" + link.Code
	checks := []struct {
		name      string
		got, want string
	}{
		{"To", m.header.Get("To"), "<ana.perez@cliente.cl>"},
		{"Reply-To", m.header.Get("Reply-To"), "pagos@tienda.cl"},
		{"Message-ID", m.header.Get("Message-Id"), "<" + rows[0].MessageID + ">"},
		{"subject", m.subject, "Tienda Ñuñoa: tu link de pago de la orden OC-4711"},
		{"text link", m.text, payURL},
		{"text amount", m.text, "$12.990"},
		{"text description", m.text, "Zapatillas <talla 42> & calcetines"},
		{"html button", m.html, `href="` + payURL + `"`},
		{"html amount", m.html, "Pagar $12.990"},
		{"html description escaped", m.html, "Zapatillas &lt;talla 42&gt; &amp; calcetines"},
		{"html merchant", m.html, "Tienda Ñuñoa"},
	}
	for _, c := range checks {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s: %q does not contain %q", c.name, c.got, c.want)
		}
	}
	if !strings.HasPrefix(m.header.Get("Message-Id"), "<") || !strings.HasSuffix(rows[0].MessageID, "@tienda.cl") {
		t.Errorf("Message-ID %q is not on MAIL_FROM's domain", rows[0].MessageID)
	}
	if _, err := m.header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
	if strings.Contains(m.html, "<talla 42>") {
		t.Error("the HTML part shows the description unescaped")
	}

	rows = waitOutbox(t, h.store, 2*time.Second, "the email sent", func(r []models.OutboxMessage) bool { return r[0].Status == models.MailSent })
	if rows[0].Attempts != 1 || !strings.Contains(rows[0].ServerAnswer, "queued") {
		t.Errorf("sent row: attempts %d, answer %q", rows[0].Attempts, rows[0].ServerAnswer)
	}
	r := staff.get(strings.SplitN(page, "?", 2)[0])
	inOrder(t, r.body, "Correo en cola", "ana.perez@cliente.cl", rows[0].MessageID, "Correo enviado", "OK: queued")
}

func TestMailRetriesUntilSMTPComesBack(t *testing.T) {
	t.Parallel()
	sink := newStoppedSMTPSink(t)
	h := startMailApp(t, testdb.URL(t, "test.db"), sink.url())
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	page := createLinkWithEmail(t, staff, "OC-1", "5000", "cliente@correo.cl", "")

	rows := waitOutbox(t, h.store, 3*time.Second, "a failed attempt", func(r []models.OutboxMessage) bool {
		return len(r) == 1 && r[0].Attempts >= 1 && r[0].LastError != "" && r[0].SendingUntil == nil
	})
	if rows[0].Status != models.MailQueued || !rows[0].NextAttemptAt.After(rows[0].CreatedAt) {
		t.Errorf("after a failure: status %q, next attempt %v (created %v)", rows[0].Status, rows[0].NextAttemptAt, rows[0].CreatedAt)
	}
	inOrder(t, staff.get(strings.SplitN(page, "?", 2)[0]).body, "Correo en cola", "intento(s) fallido(s)")
	messageID := rows[0].MessageID

	sink.start()
	got := sink.wait(1, 5*time.Second)
	if m := parseMail(t, got[0].data); m.header.Get("Message-Id") != "<"+messageID+">" {
		t.Errorf("Message-ID %q, want the one fixed when queued %q", m.header.Get("Message-Id"), messageID)
	}
	rows = waitOutbox(t, h.store, 2*time.Second, "the email sent", func(r []models.OutboxMessage) bool { return r[0].Status == models.MailSent })
	if rows[0].Attempts < 2 {
		t.Errorf("attempts = %d, want the retry counted", rows[0].Attempts)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(sink.messages()); n != 1 {
		t.Errorf("SMTP server got %d messages, want exactly 1", n)
	}
}

func TestMailSurvivesRestart(t *testing.T) {
	t.Parallel()
	sink := newStoppedSMTPSink(t)
	db := testdb.URL(t, "test.db")
	first := startMailApp(t, db, sink.url())
	first.addUser("staff@shop.cl", models.RoleStaff)
	staff := first.browser()
	staff.login("staff@shop.cl")
	createLinkWithEmail(t, staff, "OC-2", "7000", "cliente@correo.cl", "")
	rows := waitOutbox(t, first.store, 3*time.Second, "a failed attempt", func(r []models.OutboxMessage) bool {
		return len(r) == 1 && r[0].LastError != "" && r[0].SendingUntil == nil
	})
	messageID := rows[0].MessageID
	first.stop()

	sink.start()
	time.Sleep(200 * time.Millisecond)
	if n := len(sink.messages()); n != 0 {
		t.Fatalf("%d messages arrived with no app running", n)
	}
	second := startMailApp(t, db, sink.url())
	got := sink.wait(1, 5*time.Second)
	m := parseMail(t, got[0].data)
	if m.header.Get("Message-Id") != "<"+messageID+">" || got[0].to[0] != "cliente@correo.cl" || !strings.Contains(m.text, "$7.000") {
		t.Errorf("after restart got Message-ID %s to %v:\n%s", m.header.Get("Message-Id"), got[0].to, m.text)
	}
	waitOutbox(t, second.store, 2*time.Second, "the email sent", func(r []models.OutboxMessage) bool { return r[0].Status == models.MailSent })
}

func TestMailGivesUp(t *testing.T) {
	t.Parallel()
	sink := newStoppedSMTPSink(t)
	h := startMailApp(t, testdb.URL(t, "test.db"), sink.url())
	link, err := h.store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: "OC-3", Amount: 1000, Mode: "live", CustomerEmail: "c@correo.cl"})
	if err != nil {
		t.Fatal(err)
	}
	// Queued long ago: the first failure is past MAIL_GIVE_UP_AFTER.
	m, err := emails.Link(h.cfg, emails.FixedName(h.cfg.MerchantName), link, "es")
	if err != nil {
		t.Fatal(err)
	}
	m.CreatedAt = time.Now().Add(-49 * time.Hour)
	if err := h.store.QueueMessages(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	rows := waitOutbox(t, h.store, 3*time.Second, "the email failed", func(r []models.OutboxMessage) bool { return r[0].Status == models.MailFailed })
	if rows[0].FailedAt == nil || rows[0].LastError == "" {
		t.Errorf("failed row = %+v", rows[0])
	}
	viewer := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	r := viewer.get("/admin/links/" + itoa(link.ID))
	inOrder(t, r.body, "Correo no enviado: se dejó de reintentar", "Motivo", html.EscapeString(rows[0].LastError[:20]))
	if strings.Contains(r.body, "c@correo.cl") {
		t.Error("a viewer sees the customer's email address in the timeline")
	}
}

func TestMailWithoutSMTP(t *testing.T) {
	t.Parallel()
	h := startMailApp(t, testdb.URL(t, "test.db"), "")
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	page := createLinkWithEmail(t, staff, "OC-5", "12990", "cliente@correo.cl", `<script>alert(1)</script>`)
	inOrder(t, staff.get(page).body, "Correo en cola", "Aún no enviado.")
	time.Sleep(200 * time.Millisecond) // several polls: nothing may try to send
	rows := outboxRows(t, h.store)
	if len(rows) != 1 || rows[0].Status != models.MailQueued || rows[0].Attempts != 0 || rows[0].To != "cliente@correo.cl" {
		t.Fatalf("outbox = %+v, want one queued, untried email", rows)
	}

	r := staff.get("/admin/outbox")
	if r.status != http.StatusOK {
		t.Fatalf("outbox page: %d", r.status)
	}
	inOrder(t, r.body, "no hay servidor SMTP configurado", "Link de pago", "cliente@correo.cl", "Tienda Ñuñoa: tu link de pago de la orden OC-5", "en cola")

	t.Run("preview", func(t *testing.T) {
		r := staff.get("/admin/links/" + itoa(*rows[0].LinkID) + "/email/preview?lang=en")
		csp := r.header.Get("Content-Security-Policy")
		if r.status != http.StatusOK || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "sandbox") {
			t.Fatalf("preview: %d, CSP %q", r.status, csp)
		}
		inOrder(t, r.body, "Tienda Ñuñoa", "sent you a link to pay order OC-5", "$12.990", "&lt;script&gt;", "Pay $12.990")
		if strings.Contains(r.body, "<script>") {
			t.Error("preview shows the description unescaped")
		}
	})
	t.Run("stored email", func(t *testing.T) {
		r := staff.get("/admin/outbox/" + itoa(rows[0].ID) + "/html")
		if r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") || !strings.Contains(r.body, "Pagar $12.990") {
			t.Errorf("stored email: %d %q", r.status, r.header.Get("Content-Security-Policy"))
		}
	})
	t.Run("filter", func(t *testing.T) {
		if r := staff.get("/admin/outbox?status=sent"); strings.Contains(r.body, "OC-5") {
			t.Error("the sent filter lists a queued email")
		}
	})
}

func TestMailSendAgain(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	h := startMailApp(t, testdb.URL(t, "test.db"), sink.url())
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	page := strings.SplitN(createLinkWithEmail(t, staff, "OC-6", "3000", "cliente@correo.cl", ""), "?", 2)[0]
	noEmail := strings.SplitN(createLinkWithEmail(t, staff, "OC-7", "3000", "", ""), "?", 2)[0]
	sink.wait(1, 5*time.Second)

	tests := []struct {
		name       string
		page       string
		lang       string
		wantStatus int
		wantText   string
	}{
		{"in English", page, "en", http.StatusSeeOther, ""},
		{"no customer email", noEmail, "es", http.StatusUnprocessableEntity, "no tiene correo del cliente"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := staff.submit(tt.page, tt.page+"/email", url.Values{"lang": {tt.lang}})
			if r.status != tt.wantStatus || !strings.Contains(r.body, tt.wantText) {
				t.Fatalf("send again: %d\n%s", r.status, r.body)
			}
		})
	}
	got := sink.wait(2, 5*time.Second)
	first, second := parseMail(t, got[0].data), parseMail(t, got[1].data)
	if second.subject != "Tienda Ñuñoa: your payment link for order OC-6" || first.header.Get("Message-Id") == second.header.Get("Message-Id") {
		t.Errorf("second email: subject %q, Message-IDs %s and %s", second.subject, first.header.Get("Message-Id"), second.header.Get("Message-Id"))
	}
	entries, err := h.store.AuditEntries(context.Background(), models.AuditPage{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || (e.Action == models.AuditEmailResent && e.Detail == "OC-6" && e.UserEmail == "staff@shop.cl")
	}
	if !found {
		t.Errorf("no audit entry for the resend: %+v", entries)
	}

	viewer := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	if r := viewer.submit(page, page+"/email", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("viewer send again: %d, want 403", r.status)
	}
}

func TestMailAlertOptIn(t *testing.T) {
	t.Parallel()
	h := startMailApp(t, testdb.URL(t, "test.db"), "")
	u := h.addUser("viewer@shop.cl", models.RoleViewer)
	b := h.browser()
	b.login("viewer@shop.cl")
	for _, tt := range []struct {
		name string
		form url.Values
		want bool
		text string
	}{
		{"on", url.Values{"alerts": {"on"}}, true, "Avisos por correo activados."},
		{"off", url.Values{}, false, "Avisos por correo desactivados."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.submit("/admin/account", "/admin/account/alerts", tt.form)
			if r.status != http.StatusSeeOther {
				t.Fatalf("save alerts: %d", r.status)
			}
			if on, err := h.store.MailAlertsOn(context.Background(), u.ID); err != nil || on != tt.want {
				t.Errorf("MailAlertsOn = %v, %v; want %v", on, err, tt.want)
			}
			page := b.get(r.header.Get("Location")).body
			if !strings.Contains(page, tt.text) || strings.Contains(page, `name="alerts" value="on" checked`) != tt.want {
				t.Errorf("account page after turning alerts %s:\n%s", tt.name, page)
			}
		})
	}
}
