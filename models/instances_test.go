package models

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/testdb"
)

// twoInstances opens two Stores on one new database, one after the other:
// two instances sharing it (on SQLite, two processes sharing the file).
func twoInstances(t *testing.T) (*Store, *Store) {
	t.Helper()
	url := testdb.URL(t, "test.db")
	var s [2]*Store
	for i := range s {
		st, err := Open(context.Background(), url, WithPasswordCost(bcrypt.MinCost), WithBaseURL("https://pagos.tienda.cl/"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		s[i] = st
	}
	return s[0], s[1]
}

// both runs fn on each store at once and fails the test on an error.
func both(t *testing.T, stores []*Store, fn func(*Store) error) {
	t.Helper()
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { errs[i] = fn(s) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestExpiryOnceAcrossInstances: two instances looking for passed expiries at
// once queue link.expired once per link (on PostgreSQL they take turns under
// an advisory lock; without it both read the same links).
func TestExpiryOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	ctx := context.Background()
	mustEndpoint(t, a, "https://shop.example/hook", EventLinkExpired)
	// On PostgreSQL b finds a's endpoint by itself (TestHooksSeenAcrossInstances);
	// on SQLite, one instance per file, an endpoint is seen from the start.
	b.loadHookSubs(ctx)
	soon := time.Now().Add(time.Hour)
	const n = 40
	for i := range n {
		if _, err := a.CreateLink(ctx, LinkInput{MerchantOrderID: fmt.Sprintf("OC-%d", i), Amount: 1000, Mode: "live", ExpiresAt: &soon}); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 3 {
		both(t, []*Store{a, b}, func(s *Store) error {
			_, err := s.QueueLinkExpiries(ctx, soon.Add(time.Duration(round+1)*time.Minute))
			return err
		})
	}
	perLink := map[uint]int{}
	for _, e := range queuedEvents(t, a) {
		if e.Type == EventLinkExpired {
			perLink[*e.LinkID]++
		}
	}
	if len(perLink) != n {
		t.Errorf("link.expired for %d links, want %d", len(perLink), n)
	}
	for id, got := range perLink {
		if got != 1 {
			t.Errorf("link %d: %d link.expired, want 1", id, got)
		}
	}
}

// TestRemindersOnceAcrossInstances: two instances' reminder jobs over the
// same due links at once queue one reminder per link.
func TestRemindersOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	ctx := context.Background()
	const n = 30
	sent := time.Now().Add(-3 * time.Hour)
	for i := range n {
		_, msg, err := a.CreateLinkWithEmail(ctx, LinkInput{MerchantOrderID: fmt.Sprintf("OC-%d", i), Amount: 1000,
			CustomerEmail: "ana@correo.cl", Mode: "live"}, mailFor)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.MarkMessageSent(ctx, msg.ID, "250 ok", sent); err != nil {
			t.Fatal(err)
		}
	}
	rules := ReminderRules{Mode: "live", Now: time.Now(), After: time.Hour, Max: 3}
	queued := make([]int, 2)
	for round := range 2 {
		both(t, []*Store{a, b}, func(s *Store) error {
			due, err := s.DueReminders(ctx, rules, 100)
			if err != nil {
				return err
			}
			for _, d := range due {
				msg := &OutboxMessage{To: d.Link.CustomerEmail, Subject: "r", TextBody: "t", HTMLBody: "h",
					MessageID: fmt.Sprintf("r%d-%d-%p@tienda.cl", d.Link.ID, round, s)}
				ok, err := s.QueueReminder(ctx, rules, d, msg)
				if err != nil {
					return err
				}
				if ok && s == a {
					queued[0]++
				} else if ok {
					queued[1]++
				}
			}
			return nil
		})
	}
	var reminders int64
	if err := a.read.Model(&OutboxMessage{}).Where("kind = ?", MailReminder).Count(&reminders).Error; err != nil {
		t.Fatal(err)
	}
	if reminders != n || queued[0]+queued[1] != n {
		t.Errorf("%d reminders stored, %v reported queued, for %d links due one", reminders, queued, n)
	}
}

// TestHooksSeenAcrossInstances: an endpoint added on instance A gets the
// events of changes made on instance B, which was running before it came.
func TestHooksSeenAcrossInstances(t *testing.T) {
	t.Parallel()
	onlyOnPostgres(t) // SQLite: one instance per file; the CLI adds no endpoints
	a, b := twoInstances(t)
	ctx := context.Background()
	mustEndpoint(t, a, "https://shop.example/hook", EventLinkCreated, EventLinkCancelled, EventLinkExpired)
	l, err := b.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-1", Amount: 1000, Mode: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CancelLink(ctx, l.ID, 0); err != nil {
		t.Fatal(err)
	}
	other := mustLink(t, b, "OC-2", "live")
	past := time.Now().Add(-time.Minute)
	if err := b.SetLinkExpiry(ctx, other.ID, &past); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range queuedEvents(t, a) {
		types = append(types, e.Type)
	}
	want := []string{EventLinkCreated, EventLinkCancelled, EventLinkCreated, EventLinkExpired}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("events queued by the other instance: %v, want %v", types, want)
	}
}
