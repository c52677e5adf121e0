package shophooks

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/models"
)

// TestWebhooksOnceAcrossInstances: two instances' workers over the same
// queued deliveries send each webhook exactly once, and all of them.
func TestWebhooksOnceAcrossInstances(t *testing.T) {
	f := newFixture(t, liveEnv())
	f.cfg.WebhookAllowPrivate = true
	rc := newReceiver(t, nil)
	f.endpoint(rc.URL, models.EventLinkCreated)
	const n = 30
	for i := range n {
		f.link(fmt.Sprintf("OC-%d", i), nil)
	}
	other, err := models.Open(context.Background(), f.url, models.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, store := range []*models.Store{f.store, other} {
		w := &Worker{Config: f.cfg, Store: store, Logger: slog.New(slog.DiscardHandler), Now: f.clock.now,
			Poll: 5 * time.Millisecond, Timeout: 2 * time.Second}
		wg.Go(func() { w.Run(ctx) })
	}
	rc.wait(t, n, 10*time.Second)
	cancel()
	wg.Wait() // each worker records its attempts under way before it returns
	perID := map[string]int{}
	for _, r := range rc.requests() {
		perID[r.header.Get("webhook-id")]++
	}
	if len(perID) != n || len(rc.requests()) != n {
		t.Errorf("%d webhooks received, %d distinct; want %d once each", len(rc.requests()), len(perID), n)
	}
	for id, got := range perID {
		if got != 1 {
			t.Errorf("%s received %d times", id, got)
		}
	}
}
