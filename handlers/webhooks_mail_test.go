package handlers_test

import (
	"context"
	"etpay-dashboard/testdb"
	"net/http"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/shophooks"
)

// A shop that never answers holds its own webhook, nothing else: the
// customer's email goes out meanwhile (the outbox is another worker).
func TestSlowShopDoesNotDelayEmails(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	h := startMailApp(t, testdb.URL(t, "test.db"), sink.url())
	h.cfg.WebhookAllowPrivate = true // the shop is on loopback
	release := make(chan struct{})
	slow := newShopReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	if _, err := h.store.CreateWebhookEndpoint(context.Background(), models.WebhookEndpointInput{URL: slow.URL,
		Events: []string{models.EventLinkCreated}, Secret: shophooks.NewSecret()}); err != nil {
		t.Fatal(err)
	}
	startShopHooks(t, h.harness)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	createLinkWithEmail(t, staff, "OC-LENTO-1", "12990", "ana@cliente.cl", "")
	slow.wait(t, 1, 5*time.Second) // the shop holds the webhook...
	sink.wait(1, 5*time.Second)    // ...and the customer's email goes out
	if log, _ := h.store.WebhookLog(context.Background(), 1, 5); len(log) != 0 {
		t.Fatalf("the slow webhook ended before the email went: %+v", log)
	}
}
