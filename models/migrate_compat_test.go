package models

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/testdb"
)

// TestFirstStartWaitsForAnotherSchemasCollation: an instance starting on a
// new schema while another schema of the same database is being migrated
// (its collation created, not yet committed) waits for that migration's
// lock on pg_collation, shared by every schema, however short its busy
// timeout: it used to fail to start with "canceling statement due to lock
// timeout" (seen in CI as TestWebhookAnswers503WhileStorageIsBusy's flake,
// a 200 ms busy timeout).
func TestFirstStartWaitsForAnotherSchemasCollation(t *testing.T) {
	onlyOnPostgres(t)
	ctx := context.Background()
	const busy = 50 * time.Millisecond

	// The other schema's migration, in progress: its collation created in
	// a transaction not yet committed.
	other, err := sql.Open("pgx", testdb.URL(t, "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"); err != nil {
		t.Fatal(err)
	}

	// The instance starting, named so that its wait can be seen.
	u, err := url.Parse(testdb.URL(t, "new"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	name := "starting-" + strings.SplitN(q.Get("search_path"), ",", 2)[0]
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	type opened struct {
		s   *Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := Open(ctx, u.String(), WithBusyTimeout(busy), WithPasswordCost(bcrypt.MinCost))
		done <- opened{s, err}
	}()

	// Once it waits for pg_collation, the other migration goes on for
	// longer than the busy timeout before it commits.
	for waiting := false; !waiting; {
		select {
		case o := <-done:
			if o.s != nil {
				o.s.Close()
			}
			t.Fatalf("Open returned before the other schema's migration committed: %v", o.err)
		case <-time.After(5 * time.Millisecond):
		}
		err := other.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE a.application_name = $1 AND l.relation = 'pg_collation'::regclass AND NOT l.granted)`, name).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(4 * busy)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if o.err != nil {
		t.Fatalf("Open: %v", o.err)
	}
	defer o.s.Close()
	var same bool
	if err := o.s.write.WithContext(ctx).Raw("SELECT 'ñandú' = 'ÑANDÚ' COLLATE nocase").Row().Scan(&same); err != nil || !same {
		t.Fatalf("the new schema's collation: %v, %v", same, err)
	}
}
