package shophooks

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// An endpoint failing for five days without a success is disabled, and
// each admin gets an email; the clock is the worker's, moved by the test.
func TestFailingEndpointDisabledAfterFiveDays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	admin, err := f.store.CreateUser(ctx, "admin@tienda.cl", "x", models.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	e := f.endpoint(rc.URL, models.EventLinkCreated)
	start := f.clock.now()
	f.start(func(w *Worker) { w.Backoff = func(int) (time.Duration, bool) { return time.Hour, true } })
	f.link("OC-1", nil)
	rc.wait(t, 1, 5*time.Second)
	f.clock.set(start.Add(4 * 24 * time.Hour))
	rc.wait(t, 2, 5*time.Second)
	if got, _ := f.store.WebhookEndpointByID(ctx, e.ID); !got.Enabled {
		t.Fatal("disabled after four days")
	}
	f.clock.set(start.Add(models.WebhookDisableAfter + time.Minute))
	rc.wait(t, 3, 5*time.Second)
	var got *models.WebhookEndpoint
	eventually(t, 5*time.Second, "the endpoint is disabled", func() bool {
		got, _ = f.store.WebhookEndpointByID(ctx, e.ID)
		return !got.Enabled
	})
	msgs, _ := f.store.OutboxMessages(ctx, models.OutboxFilter{})
	if got.DisabledReason != models.DisabledFailing || len(msgs) != 1 || msgs[0].To != admin.Email ||
		msgs[0].Kind != models.MailAlertWebhook || !strings.Contains(msgs[0].Subject, rc.URL) {
		t.Fatalf("endpoint %+v; emails %+v", got, msgs)
	}
	full, err := f.store.OutboxMessageByID(ctx, msgs[0].ID)
	if err != nil || !strings.Contains(full.TextBody, f.cfg.URL("/admin/webhooks/1")) || !strings.Contains(full.TextBody, "5 días") ||
		!strings.Contains(full.HTMLBody, rc.URL) {
		t.Errorf("the admins' email says:\n%s", full.TextBody)
	}
	// Disabled, it is sent nothing more: no new event is queued for it,
	// and what waits stays waiting.
	f.link("OC-2", nil)
	waiting, _ := f.store.WebhookWaitingList(ctx, e.ID, 10)
	if len(waiting) != 1 || waiting[0].Attempts != 3 {
		t.Fatalf("waiting for a disabled endpoint: %+v", waiting)
	}
}

// 410 Gone: the shop wants no more webhooks there; the endpoint is disabled.
func TestGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	e := f.endpoint(rc.URL, models.EventLinkCreated)
	f.start(nil)
	f.link("OC-1", nil)
	eventually(t, 5*time.Second, "the endpoint is disabled", func() bool {
		got, _ := f.store.WebhookEndpointByID(ctx, e.ID)
		return !got.Enabled && got.DisabledReason == models.DisabledGone
	})
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests to a gone endpoint", n)
	}
}

// The worker queues link.expired when a link's expiry passes, and sends it.
func TestExpiryIsSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	rc := newReceiver(t, nil)
	f.endpoint(rc.URL, models.EventLinkExpired)
	soon := time.Now().Add(time.Hour)
	l := f.link("OC-1", &soon)
	f.start(nil)
	f.clock.set(soon.Add(time.Second))
	r := rc.wait(t, 1, 5*time.Second)[0]
	if typ, id := r.event(t); typ != models.EventLinkExpired || id != l.ID || !strings.Contains(string(r.body), `"status":"expired"`) {
		t.Fatalf("got %s", r.body)
	}
}
