package live

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	neturl "net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

// testDatabaseURL is the PostgreSQL database the relay tests use.
func testDatabaseURL(t *testing.T) string {
	t.Helper()
	return testdb.PostgresURL(t, "LISTEN/NOTIFY")
}

// logBuffer collects a relay's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitForLog waits up to 10 s for a log line containing s.
func (l *logBuffer) waitForLog(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(l.String(), s); {
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q in:\n%s", s, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// instances starts n relays on the test database, as n instances of the
// app, in a schema and on a channel of this test's own, and returns them
// once each listens.
func instances(t *testing.T, n int) []*Relay {
	t.Helper()
	url, opts := testOptions(t)
	var relays []*Relay
	for range n {
		relays = append(relays, startRelay(t, url, opts))
	}
	return relays
}

// testOptions makes a schema for this test alone (dropped at its end) and
// returns the test database's URL with that schema first on the search
// path, and options naming a channel of the test's own: tests run side by
// side on one database and leave nothing behind.
func testOptions(t *testing.T) (string, RelayOptions) {
	t.Helper()
	base := testDatabaseURL(t)
	name := "live_test_" + strings.ToLower(rand.Text()[:12])
	schema := pgx.Identifier{name}.Sanitize()
	run(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { // registered first, so it runs after every relay stopped
		run(t, base, "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := neturl.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), RelayOptions{Channel: name, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

// startRelay runs a relay on the database at url until the test ends and
// returns it once it listens; setup, if any, changes it before it runs.
func startRelay(t *testing.T, url string, opts RelayOptions, setup ...func(*Relay)) *Relay {
	t.Helper()
	r, listening := runRelay(t, url, opts, setup...)
	listening()
	return r
}

// runRelay starts a relay on the database at url until the test ends;
// listening waits until it listens (call it from the test's goroutine).
func runRelay(t *testing.T, url string, opts RelayOptions, setup ...func(*Relay)) (r *Relay, listening func()) {
	t.Helper()
	r, err := NewRelay(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.retryMin, r.retryMax = 10*time.Millisecond, 100*time.Millisecond
	for _, f := range setup {
		f(r)
	}
	// The first connection makes the open streams resync: it tells when
	// the relay listens.
	watch, _, _ := r.Broker().Subscribe("watch", "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; r.Broker().Close() })
	return r, func() {
		t.Helper()
		if ev := nextEvent(t, watch, 10*time.Second); !ev.Resync {
			t.Fatalf("first event %+v, want the resync of the first connection", ev)
		}
		r.Broker().Unsubscribe(watch)
	}
}

// run runs one statement on its own connection.
func run(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// query reads one value with its own connection.
func query(t *testing.T, url, sql string, dest any, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// nextEvent is the stream's next event, which must come within d.
func nextEvent(t *testing.T, sub *Subscription, d time.Duration) Event {
	t.Helper()
	select {
	case ev, ok := <-sub.Events():
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
	}
	return Event{}
}

// number is an event id as a number.
func number(t *testing.T, ev Event) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("event id %q is not the database's number", ev.ID)
	}
	return n
}

func TestAnEventPublishedOnOneInstanceReachesTheOther(t *testing.T) {
	t.Parallel()
	rs := instances(t, 2)
	a, b := rs[0].Broker(), rs[1].Broker()
	onA, _, _ := a.Subscribe("x", "", nil)
	onB, _, _ := b.Subscribe("y", "", nil)
	paidAt := time.Date(2026, 11, 30, 15, 4, 5, 123456789, time.UTC)
	a.PublishSession(models.Session{
		ID: 7, MerchantOrderID: "OC-7", Status: models.StatusPaid, Amount: 12990, PaymentToken: "PT-7",
		SessionToken: "session-secret", SignatureToken: "signing-key", UpdatedAt: paidAt, PaidAt: &paidAt,
	})
	evB := nextEvent(t, onB, time.Second)
	evA := nextEvent(t, onA, time.Second)
	if evA.ID != evB.ID {
		t.Fatalf("one event, two ids: %q on A, %q on B", evA.ID, evB.ID)
	}
	s := evB.Session
	if s.ID != 7 || s.MerchantOrderID != "OC-7" || s.Status != models.StatusPaid || s.Amount != 12990 ||
		s.PaymentToken != "PT-7" || !s.UpdatedAt.Equal(paidAt) || s.PaidAt == nil || !s.PaidAt.Equal(paidAt) {
		t.Fatalf("B got %+v", s)
	}
	if s.SessionToken != "" || s.SignatureToken != "" {
		t.Fatalf("the notification carried the session's tokens: %+v", s)
	}
}

// Both instances publishing at once: each sees every event, in the same
// order under the same ids, and the ids only go up (without the lock that
// orders publishes, two batches numbered at once interleave their ids).
func TestIDsIncreaseAcrossInstances(t *testing.T) {
	t.Parallel()
	rs := instances(t, 2)
	onA, _, _ := rs[0].Broker().Subscribe("x", "", nil)
	onB, _, _ := rs[1].Broker().Subscribe("y", "", nil)
	// Rounds of 60 events, within a stream's buffer: a stream that fills
	// it is dropped, as a browser that stopped reading would be.
	const rounds, each = 10, 30
	var last uint64
	for round := range rounds {
		var publishers sync.WaitGroup
		for i, r := range rs {
			publishers.Go(func() {
				for j := range each {
					r.Broker().PublishSession(models.Session{ID: uint(10000*(i+1) + 100*round + j)})
					if j%5 == 4 {
						runtime.Gosched() // let the sender take a batch now and then
					}
				}
			})
		}
		publishers.Wait()
		for range 2 * each {
			evA, evB := nextEvent(t, onA, 5*time.Second), nextEvent(t, onB, 5*time.Second)
			if evA.ID != evB.ID || evA.Session.ID != evB.Session.ID {
				t.Fatalf("A got %s (session %d), B got %s (session %d)", evA.ID, evA.Session.ID, evB.ID, evB.Session.ID)
			}
			n := number(t, evA)
			if n <= last {
				t.Fatalf("id %d after %d", n, last)
			}
			last = n
		}
	}
}
