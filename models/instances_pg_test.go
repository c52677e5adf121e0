package models

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"etpay-dashboard/testdb"
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
