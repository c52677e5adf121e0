package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/testdb"

	"gorm.io/gorm"
)

// holdRow locks what lockSQL (a statement taking args) locks in a
// transaction of its own on url, and returns the connection to watch the
// waiters on, the holder's backend pid, and release, which commits it.
func holdRow(t *testing.T, url, lockSQL string, args ...any) (raw *sql.DB, holder int, release func()) {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	hold, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Rollback() }) // when the test fails before releasing it
	if _, err := hold.ExecContext(ctx, lockSQL, args...); err != nil {
		t.Fatal(err)
	}
	if err := hold.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&holder); err != nil {
		t.Fatal(err)
	}
	return raw, holder, func() {
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOneLinkPaidByTwoSessionsOnTwoInstances: two sessions of one link paid
// at the same moment on two instances end as they do on one, where the
// writer applies them in turn: the link is paid, and flagged as paid twice. The link's row is held locked while both
// arrive, so both would read it open unless the writer locks the link
// before it reads it.
func TestOneLinkPaidByTwoSessionsOnTwoInstances(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	stores := openInstances(t, url, 2)
	ctx := context.Background()
	link := mustLink(t, stores[0], "OC-1", "live")
	tokens := []string{"tok-a", "tok-b"}
	for _, tok := range tokens {
		mustSession(t, stores[0], link, tok)
	}
	raw, holder, release := holdRow(t, url, "SELECT id FROM links WHERE id = $1 FOR UPDATE", link.ID)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { _, errs[i] = s.RecordNotification(ctx, success(tokens[i], "pay-"+tokens[i]).input("OC-1")) })
	}
	waitForLockWaiters(t, raw, holder, len(stores))
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	got, err := stores[1].LinkByID(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != LinkPaid || got.ReviewReason != ReviewDoublePayment {
		t.Errorf("link %s, review %q; want paid, flagged %q", got.Status, got.ReviewReason, ReviewDoublePayment)
	}
	var paid int64
	if err := stores[1].read.Model(&Session{}).Where("link_id = ? AND status = ?", link.ID, StatusPaid).Count(&paid).Error; err != nil {
		t.Fatal(err)
	}
	if paid != 2 {
		t.Errorf("%d sessions paid; want both", paid)
	}
}

// createBoth makes a link for order on each store at once, and checks that
// one was made and the other refused with an *OrderInUseError naming it.
func createBoth(t *testing.T, stores []*Store, order string, start func()) {
	t.Helper()
	links := make([]*Link, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			links[i], errs[i] = s.CreateLink(context.Background(), LinkInput{MerchantOrderID: order, Amount: 1000, Mode: "live"})
		})
	}
	start()
	wg.Wait()
	var made *Link
	var inUse *OrderInUseError
	for i, err := range errs {
		switch {
		case err == nil && made == nil:
			made = links[i]
		case err == nil:
			t.Fatalf("%s: two links made (%d and %d)", order, made.ID, links[i].ID)
		case !errors.As(err, &inUse):
			t.Fatalf("%s: instance %d: %v", order, i, err)
		}
	}
	if made == nil || inUse == nil || inUse.LinkID != made.ID {
		t.Fatalf("%s: made %v, refused naming %v; want one made, the other refused naming it", order, made, inUse)
	}
}

// TestOrderIDTakenOnceAcrossInstances: two instances making a link for the
// same order id at once make one; the other is told which link has it.
func TestOrderIDTakenOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	for i := range 40 {
		createBoth(t, []*Store{a, b}, fmt.Sprintf("OC-%d", i), func() {})
	}
	if n := countRows(t, a, &Link{}); n != 40 {
		t.Errorf("%d links stored for 40 order ids", n)
	}
}

// TestOrderIDCheckedAndTakenAtOnce: on PostgreSQL (READ COMMITTED), two
// instances that both find an order id free must not both take it. The
// links table is held so that no link can be inserted while both arrive:
// without a lock taken before the check, both check, find it free, and
// insert once it is released.
func TestOrderIDCheckedAndTakenAtOnce(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	stores := openInstances(t, url, 2)
	raw, holder, release := holdRow(t, url, "LOCK TABLE links IN SHARE MODE")
	createBoth(t, stores, "OC-1", func() {
		waitForLockWaiters(t, raw, holder, len(stores))
		release()
	})
	if n := countRows(t, stores[0], &Link{}); n != 1 {
		t.Errorf("%d links stored for one order id", n)
	}
}

// TestImportsSharingOrderIDsAcrossInstances: two imports of the same order
// ids, in opposite orders, confirmed at once on two instances, make one
// link per order id between them, and neither fails (a batch locks its
// order ids in one order: otherwise each could hold one the other waits for).
func TestImportsSharingOrderIDsAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	const n = 30
	batches := [2][]BatchLink{}
	for i := range n {
		in := LinkInput{MerchantOrderID: fmt.Sprintf("OC-%d", i), Amount: 1000, Mode: "live"}
		batches[0] = append(batches[0], BatchLink{Line: i, In: in})
		batches[1] = append([]BatchLink{{Line: i, In: in}}, batches[1]...)
	}
	both(t, []*Store{a, b}, func(s *Store) error {
		batch := batches[0]
		if s == b {
			batch = batches[1]
		}
		return s.CreateLinks(context.Background(), batch, nil)
	})
	made := map[string]uint{}
	for _, batch := range batches {
		for _, bl := range batch {
			if bl.Link != nil {
				if made[bl.In.MerchantOrderID] != 0 {
					t.Errorf("%s: two links made", bl.In.MerchantOrderID)
				}
				made[bl.In.MerchantOrderID] = bl.Link.ID
			}
		}
	}
	for _, batch := range batches {
		for _, bl := range batch {
			if bl.Link == nil && bl.InUse != made[bl.In.MerchantOrderID] {
				t.Errorf("%s: refused naming link %d, made %d", bl.In.MerchantOrderID, bl.InUse, made[bl.In.MerchantOrderID])
			}
		}
	}
	if len(made) != n || countRows(t, a, &Link{}) != n {
		t.Errorf("%d order ids got links, %d links stored; want %d", len(made), countRows(t, a, &Link{}), n)
	}
}

// TestIdempotentRequestOnTwoInstances: copies of one API request sent with
// one Idempotency-Key to two instances at once make one link, and the other
// copy gets its answer replayed, as on one instance (not the order-in-use
// refusal of a second link). The links table is held while both arrive, so
// both find no answer stored unless the key is locked before the look.
func TestIdempotentRequestOnTwoInstances(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	stores := openInstances(t, url, 2)
	raw, holder, release := holdRow(t, url, "LOCK TABLE links IN SHARE MODE")
	req := IdempotentRequest{APIKeyID: 1, Key: "k-1", RequestHash: "h-1", At: time.Now()}
	in := LinkInput{MerchantOrderID: "PED-1", Amount: 1000, Mode: "live"}
	answer := func(l *Link) (int, []byte, error) { return 201, []byte("link " + l.Code), nil }
	answers := make([]*IdempotentAnswer, len(stores))
	replays := make([]bool, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { answers[i], replays[i], errs[i] = s.CreateLinkOnce(context.Background(), in, nil, req, answer) })
	}
	waitForLockWaiters(t, raw, holder, len(stores))
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	if replays[0] == replays[1] || string(answers[0].Body) != string(answers[1].Body) {
		t.Errorf("replayed %v, answers %q and %q; want one made and the other its answer replayed",
			replays, answers[0].Body, answers[1].Body)
	}
}

// TestSessionAddedBeforeCancelAcrossInstances: a link cancelled on one
// instance while another stores a new session of it waits for that session
// (as behind one writer), rather than letting the session be stored on a
// link already cancelled. The sessions table is held so that the session's
// insert waits after its check that the link is open.
func TestSessionAddedBeforeCancelAcrossInstances(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	stores := openInstances(t, url, 2)
	ctx := context.Background()
	link := mustLink(t, stores[0], "OC-1", "live")
	raw, holder, release := holdRow(t, url, "LOCK TABLE sessions IN SHARE MODE")
	added := make(chan error, 1)
	go func() {
		added <- stores[0].AddSession(ctx, &Session{LinkID: link.ID, SessionToken: "tok-a", SignatureToken: "sig-a", Mode: "live"})
	}()
	waitForLockWaiters(t, raw, holder, 1)
	cancelled := make(chan error, 1)
	go func() { cancelled <- stores[1].CancelLink(ctx, link.ID, 0) }()
	// The cancel waits behind the session (2 waiters), or, unlocked, ends.
	for lockWaiters(t, raw, holder) < 2 {
		select {
		case err := <-cancelled:
			release()
			t.Fatalf("link cancelled (%v) while a session of it was being stored", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	release()
	if err := <-added; err != nil {
		t.Errorf("AddSession: %v", err)
	}
	if err := <-cancelled; err != nil {
		t.Errorf("CancelLink: %v", err)
	}
}

// An import of the most rows a file may have holds a bounded number of
// advisory locks: PostgreSQL's lock table is shared by every transaction of
// the server (max_locks_per_transaction × max_connections slots), and one
// lock per order id ran it out ("out of shared memory") with 25,000–40,000.
func TestOrderIDLocksAreBounded(t *testing.T) {
	onlyOnPostgres(t)
	s := openInstances(t, testdb.URL(t, "test.db"), 1)[0]
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("live\x00ped-%05d", i)
	}
	var held int
	err := s.write.Transaction(func(tx *gorm.DB) error {
		if err := lockNames(tx, "order id", names...); err != nil {
			return err
		}
		return tx.Raw("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()").Scan(&held).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if held < lockBuckets/2 || held > lockBuckets {
		t.Errorf("5,000 order ids hold %d advisory locks, want at most %d (and most of them used)", held, lockBuckets)
	}
}
