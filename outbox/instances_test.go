package outbox

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

// TestOutboxOnceAcrossInstances: two instances' workers sending the same
// outbox at once send every email exactly once, and all of them.
func TestOutboxOnceAcrossInstances(t *testing.T) {
	s := newSink(t)
	url := testdb.URL(t, "w.db")
	a, b := newWorkerOn(t, url, "smtp://"+s.addr), newWorkerOn(t, url, "smtp://"+s.addr)
	const n = 40
	for i := range n {
		queue(t, a, models.MailLink, fmt.Sprintf("c%d@cliente.cl", i))
	}
	var wg sync.WaitGroup
	for _, w := range []*Worker{a, b} {
		wg.Go(func() { w.SendDue(context.Background()) })
	}
	wg.Wait()
	got := map[string]int{}
	for _, to := range s.received() {
		got[to]++
	}
	for i := range n {
		if to := fmt.Sprintf("c%d@cliente.cl", i); got[to] != 1 {
			t.Errorf("%s got %d emails, want 1", to, got[to])
		}
	}
	if len(s.received()) != n {
		t.Errorf("%d emails sent for %d queued", len(s.received()), n)
	}
	rows, err := b.Store.OutboxMessages(context.Background(), models.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rows {
		if m.Status != models.MailSent || m.Attempts != 1 {
			t.Errorf("message %d: %s after %d attempts, want sent after 1", m.ID, m.Status, m.Attempts)
		}
	}
}

// TestOutboxDeadInstanceLosesNothing: an instance that claimed an email and
// died before sending it leaves it to another once its lease passes, with
// its same Message-ID; before that, the other does not touch it.
func TestOutboxDeadInstanceLosesNothing(t *testing.T) {
	s := newSink(t)
	url := testdb.URL(t, "w.db")
	dead, alive := newWorkerOn(t, url, "smtp://"+s.addr), newWorkerOn(t, url, "smtp://"+s.addr)
	queue(t, dead, models.MailLink, "ana@cliente.cl")
	ctx := context.Background()
	now := time.Now()
	claimed, err := dead.Store.ClaimDueMessage(ctx, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	alive.SendDue(ctx) // the lease runs: the dead instance might still be sending
	if got := s.received(); len(got) != 0 {
		t.Fatalf("sent %v under another instance's lease", got)
	}
	// The lease passes (as if claimed an hour ago): the other instance sends it.
	if err := dead.Store.MarkMessageRetry(ctx, claimed.ID, "", now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Store.ClaimDueMessage(ctx, now, now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	alive.SendDue(ctx)
	m, err := alive.Store.OutboxMessageByID(ctx, claimed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.received(); len(got) != 1 || m.Status != models.MailSent || m.MessageID != claimed.MessageID {
		t.Fatalf("after the lease: sent %v, message %s %q", got, m.Status, m.MessageID)
	}
}
