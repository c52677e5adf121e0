package emails

import (
	"strings"
	"testing"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	env := map[string]string{"BASE_URL": "https://pagos.tienda.cl", "MAIL_FROM": "Tienda Ñuñoa <pagos@tienda.cl>",
		"MERCHANT_NAME": "Tienda Ñuñoa", "SMTP_URL": "smtp://127.0.0.1:2525"}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tienda is the shop the tests' emails come from.
const tienda = FixedName("Tienda Ñuñoa")

func TestLinkEmail(t *testing.T) {
	cfg := testConfig(t)
	expires := time.Date(2030, 12, 31, 21, 0, 0, 0, time.UTC)
	link := &models.Link{ID: 7, Code: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", MerchantOrderID: "OC-7", Amount: 12990,
		CustomerEmail: "ana@cliente.cl", Description: `Polera <b>"M"</b>`, ExpiresAt: &expires}
	for _, tt := range []struct{ lang, subject, expiry string }{
		{"es", "Tienda Ñuñoa: tu link de pago de la orden OC-7", "31-12-2030 18:00"},
		{"en", "OC-7", "31-12-2030 18:00"},
		{"xx", "Tienda Ñuñoa: tu link de pago de la orden OC-7", "31-12-2030 18:00"},
	} {
		m, err := Link(cfg, tienda, link, tt.lang)
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind != models.MailLink || m.To != "ana@cliente.cl" || *m.LinkID != 7 || !strings.Contains(m.Subject, tt.subject) {
			t.Errorf("%s: message %+v", tt.lang, m)
		}
		for part, body := range map[string]string{"text": m.TextBody, "html": m.HTMLBody} {
			if !strings.Contains(body, "https://pagos.tienda.cl/pay/ABCDEFGHIJKLMNOPQRSTUVWXYZ") || !strings.Contains(body, "$12.990") ||
				!strings.Contains(body, tt.expiry) {
				t.Errorf("%s %s part lacks the link, the amount or the expiry in Chile's time:\n%s", tt.lang, part, body)
			}
		}
		if strings.Contains(m.HTMLBody, "<b>") {
			t.Errorf("the description is not escaped in HTML:\n%s", m.HTMLBody)
		}
		if !strings.HasSuffix(m.MessageID, "@tienda.cl") {
			t.Errorf("Message-ID %q is not on MAIL_FROM's domain", m.MessageID)
		}
	}
	if _, err := Link(cfg, tienda, &models.Link{}, "es"); err != models.ErrNoCustomerEmail {
		t.Errorf("a link without an email: %v", err)
	}
}

func TestPaymentEmailsOncePerSession(t *testing.T) {
	cfg := testConfig(t)
	paidAt := time.Now()
	link := &models.Link{ID: 3, MerchantOrderID: "OC-3", Amount: 4990, CustomerEmail: "ana@cliente.cl"}
	sess := &models.Session{ID: 9, Status: models.StatusPaid, Amount: 4990, MerchantOrderID: "OC-3", PaymentToken: "PT-1", PaidAt: &paidAt}
	staff := []models.User{{ID: 1, Email: "staff@tienda.cl", Lang: "en"}}
	mail := ForNotification(cfg, tienda)
	msgs, err := mail(models.MailEvent{Link: link, Session: sess, Staff: staff})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%d messages, %v; want a receipt and one alert", len(msgs), err)
	}
	receipt, alert := msgs[0], msgs[1]
	// Both are queued as their data and rendered when sent.
	receiptText, _, _ := Render(receipt)
	alertText, _, _ := Render(alert)
	if receipt.Kind != models.MailReceipt || *receipt.DedupeKey != "receipt:session:9" || !strings.Contains(receiptText, "PT-1") {
		t.Errorf("receipt %+v", receipt)
	}
	if alert.Kind != models.MailAlertPaid || alert.To != "staff@tienda.cl" || alert.Lang != "en" ||
		!strings.Contains(alert.Subject, "$4.990") || !strings.Contains(alertText, "https://pagos.tienda.cl/admin/sessions/9") {
		t.Errorf("alert %+v", alert)
	}
	// Nothing for a notification that paid nothing.
	if msgs, _ := mail(models.MailEvent{Session: sess}); len(msgs) != 0 {
		t.Errorf("%d emails without a payment", len(msgs))
	}
}

func TestRejectedDigest(t *testing.T) {
	cfg := testConfig(t)
	d := models.RejectedDigest{
		User:  models.User{ID: 2, Email: "admin@tienda.cl"},
		Since: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 30, 12, 15, 0, 0, time.UTC),
		Reasons: []models.RejectedReason{{Reason: "bad_signature", Count: 480}, {Reason: "malformed", Count: 20}},
	}
	m, err := RejectedDigest(cfg, tienda, d)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != models.MailAlertRejected || m.To != "admin@tienda.cl" || !strings.Contains(m.Subject, "500") {
		t.Errorf("digest %+v", m)
	}
	if !strings.Contains(m.TextBody, "480") || !strings.Contains(m.TextBody, "20") || !strings.Contains(m.TextBody, "30-11-2026 09:00") ||
		!strings.Contains(m.TextBody, "/admin/overview") {
		t.Errorf("digest text lacks counts by reason, the start in Chile's time or the link:\n%s", m.TextBody)
	}
}

// TestMessageIDsGrowInTime: Message-IDs sort in the order they were made
// (the outbox's unique index on them then grows at its end) and stay unique.
func TestMessageIDsGrowInTime(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := messageIDLocal(at.Add(time.Duration(i*i) * time.Microsecond))
		if id <= prev || seen[id] {
			t.Fatalf("Message-ID %d %q does not sort after %q", i, id, prev)
		}
		seen[id], prev = true, id
	}
	// Microseconds far from now keep the same width (and so the order).
	if a, b := messageIDLocal(time.Unix(1e9, 0)), messageIDLocal(time.Unix(4e9, 0)); len(a) != len(b) || a >= b {
		t.Errorf("%q and %q", a, b)
	}
}
