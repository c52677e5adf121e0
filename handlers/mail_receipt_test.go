package handlers_test

import (
	"etpay-dashboard/testdb"
	"net/url"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// TestMailReceiptAndAlertsAfterARealPayment pays a link in the sandbox and
// checks the customer's receipt and the opted-in staff member's alert.
func TestMailReceiptAndAlertsAfterARealPayment(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	h := startMailApp(t, testdb.URL(t, "test.db"), sink.url())
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	if r := staff.submit("/admin/account", "/admin/account/alerts", url.Values{"alerts": {"on"}}); r.status != 303 {
		t.Fatalf("alert opt-in: %d", r.status)
	}
	createLinkWithEmail(t, staff, "OC-9", "4990", "ana@cliente.cl", "")
	sink.wait(1, 5*time.Second) // the link itself
	payURL := h.base + "/pay/" + onlyLink(t, h.harness).Code
	payThroughFunnel(t, h.browser(), payURL, "approve")

	got := sink.wait(3, 5*time.Second)
	subjects := map[string]string{}
	for _, m := range got {
		subjects[m.to[0]] += parseMail(t, m.data).subject + "\n"
	}
	if !strings.Contains(subjects["ana@cliente.cl"], "recibimos tu pago de la orden OC-9") {
		t.Errorf("customer got %q, want a receipt", subjects["ana@cliente.cl"])
	}
	if !strings.Contains(subjects["staff@shop.cl"], "Pago confirmado: orden OC-9 por $4.990") {
		t.Errorf("staff got %q, want a payment alert", subjects["staff@shop.cl"])
	}
	// The receipt was queued as its data; its page shows it rendered.
	receipts := 0
	for _, m := range outboxRows(t, h.store) {
		if m.Kind != models.MailReceipt {
			continue
		}
		receipts++
		r := staff.get("/admin/outbox/" + itoa(m.ID) + "/html")
		if r.status != 200 || !strings.Contains(r.body, "OC-9") || !strings.Contains(r.body, "$4.990") {
			t.Errorf("the receipt's page: %d\n%s", r.status, r.body)
		}
	}
	if receipts != 1 {
		t.Errorf("%d receipts in the outbox", receipts)
	}
	// Another notification for the paid session sends nothing more.
	s := onlySession(t, h.harness)
	key, _ := h.store.SigningKey(t.Context(), s.SessionToken)
	h.postNotification(notificationBody(signedNotification(t, s.SessionToken, "OC-9", "success", key)))
	time.Sleep(500 * time.Millisecond)
	if n := len(sink.messages()); n != 3 {
		t.Fatalf("%d emails after a duplicate notification, want still 3", n)
	}
}

func onlyLink(t *testing.T, h *harness) *models.Link {
	t.Helper()
	link, err := h.store.LinkByID(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return link
}
