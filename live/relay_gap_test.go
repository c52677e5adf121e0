package live

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// A browser that saw an event on A reconnects to B: it gets exactly the
// events after it. An instance started after the event cannot catch up
// from it, and says resync.
func TestCatchUpOnAnotherInstance(t *testing.T) {
	t.Parallel()
	url, opts := testOptions(t)
	a, b := startRelay(t, url, opts).Broker(), startRelay(t, url, opts).Broker()
	onA, _, _ := a.Subscribe("x", "", nil)
	onB, _, _ := b.Subscribe("y", "", nil)
	var seen []Event // as A's browser saw them
	for id := uint(1); id <= 4; id++ {
		a.PublishSession(models.Session{ID: id})
		seen = append(seen, nextEvent(t, onA, time.Second))
		nextEvent(t, onB, time.Second)
	}
	_, backlog, resync := b.Subscribe("browser", seen[1].ID, nil)
	if resync || len(backlog) != 2 || backlog[0] != seen[2] || backlog[1] != seen[3] {
		t.Fatalf("catching up on B after %s: backlog %+v, resync %v; want %+v", seen[1].ID, backlog, resync, seen[2:])
	}
	if _, backlog, resync := b.Subscribe("browser", seen[3].ID, nil); resync || len(backlog) != 0 {
		t.Fatalf("up to date on B: backlog %+v, resync %v", backlog, resync)
	}
	if _, _, resync := b.Subscribe("browser", "a1b2c3d4-7", nil); !resync {
		t.Fatal("an id of an in-memory broker does not ask for a resync")
	}

	// A browser ahead of B (it saw an event B has not received yet) waits
	// for what comes after it instead of resyncing.
	ahead, backlog, resync := b.Subscribe("browser", "999999999", nil)
	if resync || len(backlog) != 0 {
		t.Fatalf("an id ahead of B: backlog %+v, resync %v", backlog, resync)
	}
	a.PublishSession(models.Session{ID: 5})
	nextEvent(t, onB, time.Second)
	select {
	case ev := <-ahead.Events():
		t.Fatalf("a stream ahead got the older event %s", ev.ID)
	default:
	}

	c := startRelay(t, url, opts)
	if _, _, resync := c.Broker().Subscribe("browser", seen[3].ID, nil); !resync {
		t.Fatalf("an instance that started after event %s catches up from it", seen[3].ID)
	}
}

// When B's listening connection is killed, events published meanwhile
// cannot reach it: once it listens again its streams are told to resync, a
// catch-up across the gap resyncs, and events flow again.
func TestAKilledListenerResyncsThenEventsFlowAgain(t *testing.T) {
	t.Parallel()
	url, opts := testOptions(t)
	a := startRelay(t, url, opts)
	gate := make(chan struct{}) // B listens again only when the test says
	b := startRelay(t, url, opts, func(r *Relay) {
		r.wait = func(ctx context.Context, _ time.Duration) bool {
			select {
			case <-gate:
				return true
			case <-ctx.Done():
				return false
			}
		}
	})
	onA, _, _ := a.Broker().Subscribe("x", "", nil)
	onB, _, _ := b.Broker().Subscribe("y", "", nil)
	a.Broker().PublishSession(models.Session{ID: 1})
	nextEvent(t, onA, time.Second)
	before := nextEvent(t, onB, time.Second)

	pid := b.listenerPID.Load()
	terminate(t, pid)
	a.Broker().PublishSession(models.Session{ID: 2}) // B cannot hear this one
	nextEvent(t, onA, time.Second)
	close(gate)
	if ev := nextEvent(t, onB, 10*time.Second); !ev.Resync {
		t.Fatalf("after its connection was killed B's stream got %+v, want a resync", ev)
	}
	if b.listenerPID.Load() == pid {
		t.Fatal("B listens on the killed connection")
	}
	if _, backlog, resync := b.Broker().Subscribe("browser", before.ID, nil); !resync {
		t.Fatalf("a catch-up across the gap gave %+v without resync", backlog)
	}
	a.Broker().PublishSession(models.Session{ID: 3})
	if ev := nextEvent(t, onB, time.Second); ev.Session.ID != 3 {
		t.Fatalf("after the resync B got %+v, want session 3", ev)
	}
}

// terminate ends a backend and waits until it is gone.
func terminate(t *testing.T, pid uint32) {
	t.Helper()
	url := testDatabaseURL(t)
	run(t, url, "SELECT pg_terminate_backend($1::int)", int64(pid))
	for deadline := time.Now().Add(10 * time.Second); ; {
		var gone bool
		query(t, url, "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1::int)", &gone, int64(pid))
		if gone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend %d still there", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A row too long for a notification goes as its id; each instance reads it.
// One that cannot be read makes the open tables resync.
func TestARowTooLongForANotificationIsRead(t *testing.T) {
	t.Parallel()
	long := models.Session{ID: 9, MerchantOrderID: "OC-9", PaymentToken: strings.Repeat("t", 9000), Status: models.StatusPaid}
	url, opts := testOptions(t)
	opts.LoadSession = func(_ context.Context, id uint) (*models.Session, error) {
		if id != long.ID {
			return nil, models.ErrNotFound
		}
		s := long
		return &s, nil
	}
	a, b := startRelay(t, url, opts), startRelay(t, url, opts)
	onB, _, _ := b.Broker().Subscribe("y", "", nil)
	a.Broker().PublishSession(long)
	if ev := nextEvent(t, onB, time.Second); ev.Session.ID != 9 || ev.Session.PaymentToken != long.PaymentToken {
		t.Fatalf("B got session %d with a token of %d bytes", ev.Session.ID, len(ev.Session.PaymentToken))
	}
	gone := long
	gone.ID = 10
	a.Broker().PublishSession(gone)
	if ev := nextEvent(t, onB, time.Second); !ev.Resync {
		t.Fatalf("an event whose row cannot be read gave %+v, want a resync", ev)
	}
}

// PublishSession only queues: with nothing answering at the database's
// address it returns at once, even past the queue, and the failures are
// logged (without the password) and the instance's own streams resync.
func TestPublishingWithTheDatabaseDownReturnsAtOnce(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	logs := &logBuffer{}
	r, err := NewRelay("postgres://etpay:hunter2-secret@"+addr+"/etpay?sslmode=disable",
		RelayOptions{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sub, _, _ := r.Broker().Subscribe("x", "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	start := time.Now()
	for id := range uint(3 * queueSize) {
		r.Broker().PublishSession(models.Session{ID: id + 1})
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("%d publishes took %v with the database down", 3*queueSize, took)
	}
	logs.waitForLog(t, "live events not sent to the other instances")
	if ev := nextEvent(t, sub, 10*time.Second); !ev.Resync {
		t.Fatalf("the instance's own stream got %+v, want a resync", ev)
	}
	logs.waitForLog(t, "live events dropped")
	if strings.Contains(logs.String(), "hunter2") {
		t.Fatalf("the log carries the database password:\n%s", logs.String())
	}
}

func TestANoticeCarriesNoTokens(t *testing.T) {
	s := models.Session{ID: 3, MerchantOrderID: "OC-3", SessionToken: "session-secret", SignatureToken: "signing-key", PaymentToken: "PT-3"}
	got := encodeNotice(s)
	if strings.Contains(got, "session-secret") || strings.Contains(got, "signing-key") || !strings.Contains(got, "PT-3") {
		t.Fatalf("notice %s", got)
	}
	s.MerchantOrderID = strings.Repeat("x", maxPayload)
	if got := encodeNotice(s); got != `{"read":3}` {
		t.Fatalf("a notice too long for a notification is %.80s", got)
	}
}
