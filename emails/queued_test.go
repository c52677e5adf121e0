package emails

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// rendered is an email rendered the way it was before emails were queued as
// their data: newMail, at queue time, from the same data.
func rendered(t *testing.T, kind, to, lang string, data mailData) *models.OutboxMessage {
	t.Helper()
	m, err := newMail(testConfig(t), tienda, kind, to, lang, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameEmail fails unless got, rendered by Render, is want byte for byte.
func sameEmail(t *testing.T, got, want *models.OutboxMessage) {
	t.Helper()
	text, html, err := Render(got)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != want.Subject || got.Lang != want.Lang || got.To != want.To {
		t.Errorf("subject %q, lang %q, to %q; want %q, %q, %q", got.Subject, got.Lang, got.To, want.Subject, want.Lang, want.To)
	}
	if text != want.TextBody {
		t.Errorf("text part rendered when sent:\n%s\nwant, as rendered when queued:\n%s", text, want.TextBody)
	}
	if html != want.HTMLBody {
		t.Errorf("HTML part rendered when sent:\n%s\nwant, as rendered when queued:\n%s", html, want.HTMLBody)
	}
}

// TestQueuedMailRendersAsBefore: a receipt and a payment alert queued as their
// data store no bodies, and render when sent exactly as rendering them when
// queued did (text escaped in HTML, times in Chile's, CLP amounts).
func TestQueuedMailRendersAsBefore(t *testing.T) {
	cfg := testConfig(t)
	paidAt := time.Date(2026, 11, 30, 23, 59, 58, 123456789, time.FixedZone("x", 5*3600))
	link := &models.Link{ID: 3, MerchantOrderID: "OC-3 <ñ>", Amount: 1234990, CustomerEmail: "ana@cliente.cl",
		Description: `Polera <b>"M"</b> & café`}
	sess := &models.Session{ID: 9, Status: models.StatusPaid, Amount: 1234990, MerchantOrderID: "OC-3 <ñ>", PaymentToken: "PT-1", PaidAt: &paidAt}
	receipt, err := Receipt(cfg, tienda, link, sess)
	if err != nil {
		t.Fatal(err)
	}
	if receipt.TextBody != "" || receipt.HTMLBody != "" || receipt.Data == "" || len(receipt.Data) > 400 {
		t.Errorf("receipt stores %d+%d bytes of bodies and %d of data: %s", len(receipt.TextBody), len(receipt.HTMLBody), len(receipt.Data), receipt.Data)
	}
	sameEmail(t, receipt, rendered(t, models.MailReceipt, "ana@cliente.cl", "es", receiptData(tienda, link, sess)))
	// No description and no reference: the optional lines stay out, as before.
	bare := *link
	bare.Description = ""
	bareSess := *sess
	bareSess.PaymentToken = ""
	receipt, _ = Receipt(cfg, tienda, &bare, &bareSess)
	sameEmail(t, receipt, rendered(t, models.MailReceipt, "ana@cliente.cl", "es", receiptData(tienda, &bare, &bareSess)))
	for _, lang := range []string{"es", "en", "xx"} {
		msgs, err := payment(cfg, tienda, link, sess, []models.User{{ID: 4, Email: "staff@tienda.cl", Lang: lang}})
		if err != nil || len(msgs) != 2 {
			t.Fatalf("%d messages, %v", len(msgs), err)
		}
		sameEmail(t, msgs[1], rendered(t, models.MailAlertPaid, "staff@tienda.cl", views.NewLocale(lang).Lang, alertPaidData(cfg, lang, sess)))
	}
}

// TestQueuedMailOfAPaymentRendersAsBefore: the receipt and alert the
// notification writer queues for a payment (ForNotification, as the webhook
// passes it) are stored as their data and render, when sent, as the emails
// rendered when queued did.
func TestQueuedMailOfAPaymentRendersAsBefore(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	s, err := models.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	link, err := s.CreateLink(ctx, models.LinkInput{MerchantOrderID: "OC-12", Amount: 12990, Mode: "sandbox",
		CustomerEmail: "ana@cliente.cl", Description: "Polera <M>"})
	if err != nil {
		t.Fatal(err)
	}
	sess := &models.Session{LinkID: link.ID, SessionToken: "tok-12", SignatureToken: "sig", Mode: link.Mode}
	staff, err := s.CreateUser(ctx, "staff@tienda.cl", "x", models.RoleStaff)
	if err == nil {
		err = s.AddSession(ctx, sess)
	}
	if err == nil {
		err = s.SetMailAlerts(ctx, staff.ID, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.RecordNotification(ctx, models.NotificationInput{ReceivedAt: time.Now(), Body: []byte("{}"), Verified: true, Paid: true,
		SessionToken: "tok-12", MerchantOrderID: "OC-12", PaymentToken: "PT-12", PaymentStatus: "success", Mail: ForNotification(cfg, tienda)})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.OutboxMessages(ctx, models.OutboxFilter{})
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d emails queued, %v; want a receipt and an alert", len(rows), err)
	}
	paid, err := s.SessionByID(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*models.OutboxMessage{
		models.MailReceipt:   rendered(t, models.MailReceipt, "ana@cliente.cl", "es", receiptData(tienda, link, paid)),
		models.MailAlertPaid: rendered(t, models.MailAlertPaid, "staff@tienda.cl", "es", alertPaidData(cfg, "es", paid)),
	}
	for _, row := range rows {
		m, err := s.OutboxMessageByID(ctx, row.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.TextBody != "" || m.HTMLBody != "" || m.Data == "" {
			t.Errorf("%s stored with %d+%d bytes of bodies and data %q", m.Kind, len(m.TextBody), len(m.HTMLBody), m.Data)
		}
		sameEmail(t, m, want[m.Kind])
	}
}

// TestQueuedMailTemplatesPinned: the emails queued as their data render
// with DataVersion's templates, possibly long after they were queued (and by
// a later binary). A change to what those templates make of the same data
// fails here: keep the old templates for queued emails and bump
// DataVersion, or, if emails queued before the change may show it, record
// the new sums.
func TestQueuedMailTemplatesPinned(t *testing.T) {
	paidAt := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cfg := testConfig(t)
	link := &models.Link{ID: 3, MerchantOrderID: "OC-3", Amount: 4990, CustomerEmail: "ana@cliente.cl", Description: "Polera"}
	sess := &models.Session{ID: 9, Status: models.StatusPaid, Amount: 4990, MerchantOrderID: "OC-3", PaymentToken: "PT-1", PaidAt: &paidAt}
	msgs, err := payment(cfg, tienda, link, sess, []models.User{{ID: 1, Email: "s@tienda.cl", Lang: "en"}})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, m := range msgs {
		text, html, err := Render(m)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(m.Subject + "\x00" + text + "\x00" + html + "\x00"))
	}
	const want = "8203a9196a3150eea39a0694b37473b067289d24a8f337794e629ed6e37ec528"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("the receipt and payment alert of DataVersion %d render to %s, recorded %s", DataVersion, got, want)
	}
}

// TestQueuedMailOfAnotherVersion: an email queued with templates this binary
// does not have is not sent with the wrong ones.
func TestQueuedMailOfAnotherVersion(t *testing.T) {
	m := &models.OutboxMessage{ID: 5, Kind: models.MailReceipt, Lang: "es", Data: `{"v":2,"d":{"order":"OC-1"}}`}
	if _, _, err := Render(m); err == nil {
		t.Error("rendered an email of templates v2")
	}
	old := &models.OutboxMessage{Kind: models.MailReceipt, TextBody: "t", HTMLBody: "h"}
	if text, html, err := Render(old); err != nil || text != "t" || html != "h" {
		t.Errorf("an email queued rendered: %q %q %v", text, html, err)
	}
}
