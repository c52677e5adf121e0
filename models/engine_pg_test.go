package models

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/testdb"
)

// onlyOnPostgres skips a test of what only PostgreSQL's instances share.
func onlyOnPostgres(t *testing.T) {
	testdb.RequirePostgres(t, "what instances sharing a database share")
}

// openInstances opens n Stores on one database at once, as n instances
// starting together would.
func openInstances(t *testing.T, url string, n int) []*Store {
	t.Helper()
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), url, WithPasswordCost(bcrypt.MinCost)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	return stores
}

// TestInstancesStartingTogether: three instances starting at once against an
// empty database migrate it once, make one first admin and agree on one
// session secret.
func TestInstancesStartingTogether(t *testing.T) {
	onlyOnPostgres(t)
	stores := openInstances(t, testdb.URL(t, "test.db"), 3)
	ctx := context.Background()
	created := make([]bool, len(stores))
	secrets := make([]string, len(stores))
	errs := make([]error, 2*len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { created[i], errs[i] = s.CreateFirstAdmin(ctx, "admin@shop.cl", "hash") })
		wg.Go(func() { secrets[i], errs[len(stores)+i] = s.SessionSecret(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	admins := 0
	for _, c := range created {
		if c {
			admins++
		}
	}
	if admins != 1 || countRows(t, stores[0], &User{}) != 1 {
		t.Errorf("%d instances made the first admin, %d users stored; want one", admins, countRows(t, stores[0], &User{}))
	}
	for _, s := range secrets[1:] {
		if s != secrets[0] || s == "" {
			t.Errorf("session secrets %q differ", secrets)
			break
		}
	}
}

// TestSameNotificationOnTwoInstancesIsAppliedOnce: ETpay's notification
// delivered to two instances at once is applied by one; the other finds it
// applied (a duplicate). The session's row is held locked while both
// arrive, so both read it at the same moment unless the writer locks what
// it reads.
func TestSameNotificationOnTwoInstancesIsAppliedOnce(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	stores := openInstances(t, url, 2)
	ctx := context.Background()
	sess := mustSession(t, stores[0], mustLink(t, stores[0], "OC-1", "live"), "tok-a")

	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	hold, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback() // when the test fails before committing it
	if _, err := hold.ExecContext(ctx, "SELECT id FROM sessions WHERE id = $1 FOR UPDATE", sess.ID); err != nil {
		t.Fatal(err)
	}
	var holder int
	if err := hold.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&holder); err != nil {
		t.Fatal(err)
	}
	results := make([]*Notification, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { results[i], errs[i] = s.RecordNotification(ctx, success("tok-a", "pay-1").input("OC-1")) })
	}
	waitForLockWaiters(t, raw, holder, len(stores))
	if err := hold.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	verdicts := map[string]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		verdicts[results[i].Verdict]++
	}
	if verdicts[VerdictVerified] != 1 || verdicts[VerdictDuplicate] != 1 {
		t.Errorf("verdicts %v; want one verified and one duplicate", verdicts)
	}
	if got := sessionStatus(t, stores[1], sess.ID); got != StatusPaid {
		t.Errorf("session %s, want paid", got)
	}
}

// waitForLockWaiters waits until n backends wait for a lock holder holds:
// behind it, or (PostgreSQL queues a row's waiters) behind one that is.
func waitForLockWaiters(t *testing.T, db *sql.DB, holder, n int) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Second) // under the writers' lock_timeout of 5 s
	for {
		waiting := lockWaiters(t, db, holder)
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d writers wait for the session's lock", waiting, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockWaiters counts the backends waiting for a lock holder holds: behind
// it, or behind one that is.
func lockWaiters(t *testing.T, db *sql.DB, holder int) int {
	t.Helper()
	var waiting int
	err := db.QueryRow("WITH first AS (SELECT pid FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))) "+
		"SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)) OR pg_blocking_pids(pid) && ARRAY(SELECT pid FROM first)",
		holder).Scan(&waiting)
	if err != nil {
		t.Fatal(err)
	}
	return waiting
}
