package handlers_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"etpay-dashboard/live"
	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

// A relay that could not send an event to the database tells the open
// live tables to resync: the stream carries a resync event, not a row.
func TestLiveStreamsResyncWhenTheRelayLosesEvents(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // no database answers there
	relay, err := live.NewRelay("postgres://etpay@"+addr+"/etpay?sslmode=disable", live.RelayOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h := newHarness(t, withBroker(relay.Broker()))
	b := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	events, _ := b.openStream(t, "")
	relay.Broker().PublishSession(models.Session{ID: 1, MerchantOrderID: "OC-1", Status: models.StatusPending})
	if ev := next(t, events); ev.name != "resync" || ev.data != "{}" || ev.id != "" {
		t.Fatalf("got %+v, want a resync", ev)
	}
}

// Two instances of the app, each with its own relay on one PostgreSQL: a
// session made and paid on A shows on a live table open on B within a
// second, with its raw status word, and a browser that saw it on B
// catches up on A from B's id.
func TestLiveEventsCrossInstances(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t, "live events across instances, over LISTEN/NOTIFY")
	name := "live_handlers_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() { dropSequence(t, url, name) }) // after both relays stopped
	opts := live.RelayOptions{Channel: name, Sequence: name, Logger: slog.New(slog.DiscardHandler)}
	hA := newHarness(t, withBroker(listeningRelay(t, url, opts)))
	hB := newHarness(t, withBroker(listeningRelay(t, url, opts)))
	onB, _ := hB.loggedIn("viewer@shop.cl", models.RoleViewer).openStream(t, "")

	sess, key := hA.pendingSession("OC-CROSS")
	created := nextWithin(t, onB, time.Second)
	if created.name != "session" || !strings.Contains(created.data, `"merchant_order_id":"OC-CROSS"`) {
		t.Fatalf("B's stream got %+v", created)
	}
	hA.postNotification(notificationBody(signedNotification(t, sess.SessionToken, sess.MerchantOrderID, "success", key)))
	paid := nextWithin(t, onB, time.Second)
	var row map[string]any
	if err := json.Unmarshal([]byte(paid.data), &row); err != nil || row["status"] != "paid" || row["payment_token"] != "PT-success" {
		t.Fatalf("B's stream got %s (%v), want the paid row", paid.data, err)
	}

	replay, _ := hA.loggedIn("staff@shop.cl", models.RoleStaff).openStream(t, created.id)
	if ev := nextWithin(t, replay, time.Second); ev.id != paid.id || ev.data != paid.data {
		t.Fatalf("catching up on A after %s gave %+v, want %+v", created.id, ev, paid)
	}
}

// listeningRelay runs a relay until the test ends and returns its broker
// once it listens (its first connection makes the open streams resync).
func listeningRelay(t *testing.T, url string, opts live.RelayOptions) *live.Broker {
	t.Helper()
	relay, err := live.NewRelay(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	watch, _, _ := relay.Broker().Subscribe("watch", "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case ev := <-watch.Events():
		if !ev.Resync {
			t.Fatalf("first event %+v, want the resync of the first connection", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the relay does not listen")
	}
	relay.Broker().Unsubscribe(watch)
	return relay.Broker()
}

// nextWithin is the stream's next event, which must come within d.
func nextWithin(t *testing.T, events <-chan sseEvent, d time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
	}
	return sseEvent{}
}

// dropSequence removes a test's event sequence.
func dropSequence(t *testing.T, url, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SEQUENCE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Error(err)
	}
}
