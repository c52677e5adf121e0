package shophooks

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// A receiver down for a while gets the retries with the same webhook-id,
// each signed for its own attempt, and a link's later event only after the
// earlier one got through.
func TestRetriesKeepTheIDAndTheOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("en mantención"))
		}
	})
	e := f.endpoint(rc.URL+"/hooks", models.EventLinkCreated, models.EventLinkCancelled)
	l := f.link("OC-1", nil)
	if err := f.store.CancelLink(context.Background(), l.ID, 0); err != nil {
		t.Fatal(err)
	}
	f.start(nil)
	got := rc.wait(t, 5, 5*time.Second)
	for i, r := range got {
		if err := verify(e.Secret, r.header, r.body, time.Now()); err != nil {
			t.Errorf("request %d does not verify: %v", i, err)
		}
		typ, linkID := r.event(t)
		want := models.EventLinkCreated
		if i == 4 {
			want = models.EventLinkCancelled
		}
		if typ != want || linkID != l.ID {
			t.Errorf("request %d is %s of link %d, want %s of %d", i, typ, linkID, want, l.ID)
		}
		if i < 4 && (r.header.Get("webhook-id") != got[0].header.Get("webhook-id") || string(r.body) != string(got[0].body)) {
			t.Errorf("retry %d changed: %s %s", i, r.header.Get("webhook-id"), r.body)
		}
	}
	if got[4].header.Get("webhook-id") == got[0].header.Get("webhook-id") || got[0].header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v and %v", got[0].header, got[4].header)
	}
	eventually(t, 5*time.Second, "the log shows five attempts", func() bool {
		log, _ := f.store.WebhookLog(context.Background(), e.ID, 10)
		return len(log) == 5 && log[4].StatusCode == 503 && log[4].Answer == "en mantención" && log[0].DeliveryStatus == models.WebhookDelivered
	})
}

// During a rotation every webhook carries both signatures, each verifying
// with its own secret; after 24 hours only the new one.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	rc := newReceiver(t, nil)
	e := f.endpoint(rc.URL, models.EventLinkCreated)
	fresh := NewSecret()
	if err := f.store.RotateWebhookSecret(ctx, e.ID, fresh, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	f.start(nil)
	f.link("OC-1", nil)
	r := rc.wait(t, 1, 5*time.Second)[0]
	sigs := strings.Fields(r.header.Get("webhook-signature"))
	if len(sigs) != 2 {
		t.Fatalf("signatures %v, want two", sigs)
	}
	for _, secret := range []string{e.Secret, fresh} {
		if err := verify(secret, r.header, r.body, time.Now()); err != nil {
			t.Errorf("does not verify with one of the secrets: %v", err)
		}
	}
	f.clock.set(f.clock.now().Add(models.WebhookRotationOverlap + time.Second))
	f.link("OC-2", nil)
	r = rc.wait(t, 2, 5*time.Second)[1]
	after := f.clock.now()
	if n := len(strings.Fields(r.header.Get("webhook-signature"))); n != 1 || verify(fresh, r.header, r.body, after) != nil ||
		verify(e.Secret, r.header, r.body, after) == nil {
		t.Errorf("after the overlap: %d signatures %q", n, r.header.Get("webhook-signature"))
	}
}

// Live mode sends nothing over http or to loopback unless
// WEBHOOK_ALLOW_PRIVATE is set; the attempt's log says why.
func TestLiveModeRefusesPrivateDestinations(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		env := liveEnv()
		if allow {
			env["WEBHOOK_ALLOW_PRIVATE"] = "true"
		}
		f := newFixture(t, env)
		rc := newReceiver(t, nil)
		e := f.endpoint(rc.URL, models.EventLinkCreated)
		f.start(nil)
		f.link("OC-1", nil)
		if allow {
			rc.wait(t, 1, 5*time.Second)
			continue
		}
		var log []models.WebhookLogEntry
		eventually(t, 5*time.Second, "the refusal is logged", func() bool {
			log, _ = f.store.WebhookLog(context.Background(), e.ID, 10)
			return len(log) > 0
		})
		if log[0].StatusCode != 0 || !strings.Contains(log[0].Error, "https") || len(rc.requests()) != 0 {
			t.Fatalf("live mode to %s: %+v, %d requests", rc.URL, log[0], len(rc.requests()))
		}
	}
}

// A redirect is an answer, not a new destination: it is logged as a
// failed attempt and never followed.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	elsewhere := newReceiver(t, nil)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	})
	e := f.endpoint(rc.URL, models.EventLinkCreated)
	f.start(nil)
	f.link("OC-1", nil)
	rc.wait(t, 2, 5*time.Second) // retried, still at the same address
	log, _ := f.store.WebhookLog(context.Background(), e.ID, 10)
	if len(elsewhere.requests()) != 0 || len(log) == 0 || log[len(log)-1].StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("followed a redirect: %d requests elsewhere; log %+v", len(elsewhere.requests()), log)
	}
}

// An endpoint that never answers holds only its own attempt, until the
// timeout: another endpoint gets its webhooks meanwhile.
func TestSlowEndpointHoldsOnlyItself(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	release := make(chan struct{})
	slow := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	fast := newReceiver(t, nil)
	s := f.endpoint(slow.URL, models.EventLinkCreated)
	f.endpoint(fast.URL, models.EventLinkCreated)
	f.start(func(w *Worker) { w.Timeout = 3 * time.Second })
	f.link("OC-1", nil)
	slow.wait(t, 1, 5*time.Second)
	for i := 2; i <= 4; i++ {
		f.link("OC-"+string(rune('0'+i)), nil)
	}
	fast.wait(t, 4, 2*time.Second) // all of them while the slow one hangs
	if n := len(slow.requests()); n != 1 {
		t.Fatalf("the slow endpoint got %d attempts at once", n)
	}
	var log []models.WebhookLogEntry
	eventually(t, 6*time.Second, "the slow attempt times out", func() bool {
		log, _ = f.store.WebhookLog(context.Background(), s.ID, 10)
		return len(log) > 0
	})
	if log[0].StatusCode != 0 || !strings.Contains(log[0].Error, "Timeout") {
		t.Fatalf("slow attempt logged as %+v", log[0])
	}
}

// With production's timing, a new event is first attempted within 5 seconds.
func TestFirstAttemptWithinFiveSeconds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	rc := newReceiver(t, nil)
	f.endpoint(rc.URL, models.EventLinkCreated)
	f.start(func(w *Worker) { w.Poll, w.ExpiryEvery, w.Timeout, w.Backoff = 0, 0, 0, nil })
	queued := time.Now()
	f.link("OC-1", nil)
	if got := rc.wait(t, 1, 5*time.Second); got[0].at.Sub(queued) > 5*time.Second {
		t.Fatalf("first attempt after %v", got[0].at.Sub(queued))
	}
}
