package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// pgPool is a PostgreSQL connection pool as GORM and the plain-SQL paths
// see it: every query is rebound (see rebind) before it goes to pgx, and a
// transaction it begins is a pgTx that does the same.
type pgPool struct{ db *sql.DB }

// PrepareContext implements gorm.ConnPool.
func (p *pgPool) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return p.db.PrepareContext(ctx, rebind(q))
}

// ExecContext implements gorm.ConnPool.
func (p *pgPool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return p.db.ExecContext(ctx, rebind(q), args...)
}

// QueryContext implements gorm.ConnPool.
func (p *pgPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return p.db.QueryContext(ctx, rebind(q), args...)
}

// QueryRowContext implements gorm.ConnPool.
func (p *pgPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return p.db.QueryRowContext(ctx, rebind(q), args...)
}

// BeginTx implements gorm.ConnPoolBeginner.
func (p *pgPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := p.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &pgTx{tx}, nil
}

// GetDBConn implements gorm.GetDBConnector (GORM's DB()).
func (p *pgPool) GetDBConn() (*sql.DB, error) { return p.db, nil }

// Close closes the pool.
func (p *pgPool) Close() error { return p.db.Close() }

// pgTx is a transaction on a pgPool.
type pgTx struct{ tx *sql.Tx }

// PrepareContext implements gorm.ConnPool.
func (t *pgTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, rebind(q))
}

// ExecContext implements gorm.ConnPool.
func (t *pgTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, rebind(q), args...)
}

// QueryContext implements gorm.ConnPool.
func (t *pgTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, rebind(q), args...)
}

// QueryRowContext implements gorm.ConnPool.
func (t *pgTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, rebind(q), args...)
}

// Commit implements gorm.TxCommitter.
func (t *pgTx) Commit() error { return t.tx.Commit() }

// Rollback implements gorm.TxCommitter.
func (t *pgTx) Rollback() error { return t.tx.Rollback() }

// indexedBy matches SQLite's index hints, which PostgreSQL does not know.
var indexedBy = regexp.MustCompile(`\s+INDEXED BY\s+\w+`)

// rebind turns a query written for SQLite into PostgreSQL's: its index hints
// dropped (INDEXED BY, and the unary + before a column, as in +s.mode,
// that keeps its index from driving a query: PostgreSQL has no unary + for
// text or times), and its ? placeholders numbered $1, $2…
// Quoted text is left as it is. A query GORM already bound passes unchanged.
func rebind(q string) string {
	if strings.Contains(q, "INDEXED BY") {
		q = indexedBy.ReplaceAllString(q, "")
	}
	if !strings.ContainsAny(q, "?+") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '+' && i > 0 && (q[i-1] == ' ' || q[i-1] == '(') && i+1 < len(q) && 'a' <= q[i+1] && q[i+1] <= 'z':
			continue // a unary + before a column: a hint for SQLite's planner
		}
		b.WriteByte(c)
	}
	return b.String()
}

// openPostgresPool opens a pool on the database url names. lock_timeout is
// the busy timeout: a statement that waits longer for a lock fails as
// ErrBusy, as SQLite's busy_timeout does. A read-only pool refuses writes,
// as SQLite's query_only does, and runs each statement in its own process
// (no parallel workers): its longest statements are the lists' counts, and
// eight staff counting 200,000 sessions at once on two cores answered 38%
// more counts a second without workers (pgbench, 8 clients: 173/s against
// 125/s), which only add processes to start and wait for. Times are read
// in UTC, as SQLite's are.
func openPostgresPool(url string, readOnly bool, busy time.Duration) (*pgPool, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(busy.Milliseconds(), 10)
	cfg.RuntimeParams["timezone"] = "UTC"
	if readOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
		cfg.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	}
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, conn *pgx.Conn) error {
		conn.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}))
	return &pgPool{db}, nil
}

// openPostgresGorm opens a GORM handle over a new pool on url.
func openPostgresGorm(url string, readOnly bool, busy time.Duration, cfg *gorm.Config) (*gorm.DB, error) {
	pool, err := openPostgresPool(url, readOnly, busy)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: pool}), cfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

// pgCompat gives a PostgreSQL schema what the queries expect SQLite to have
// built in: NOCASE, a case-insensitive collation (ICU, so it also ignores
// the case of accented letters, where SQLite's folds ASCII only); instr();
// and pg_trgm for search (a trusted extension: the database's owner may
// create it). Run at every start, under the startup lock, in a transaction
// of their own before the migration's (see createCompat).
var pgCompat = []string{
	"CREATE EXTENSION IF NOT EXISTS pg_trgm",
	"CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
	"CREATE OR REPLACE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT strpos($1, $2)'",
}

// withMigrationLock runs fn in one transaction holding the startup advisory
// lock (lockStartup), so that two instances starting together against one
// database migrate it (and check its version) one after the other; the
// lock goes with the commit, when the migrated schema becomes visible. On
// SQLite it just runs fn.
func (s *Store) withMigrationLock(ctx context.Context, fn func() error) error {
	if !s.d.postgres {
		return fn()
	}
	if err := s.createCompat(ctx); err != nil {
		return err
	}
	// One transaction (PostgreSQL's DDL is transactional): a migration is
	// done whole or not at all, and costs one commit instead of a hundred.
	write := s.write
	defer func() { s.write = write }()
	return write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The migration's own statements keep the pool's lock timeout.
		if err := waitForStartupLock(tx); err != nil {
			return err
		}
		if err := tx.Exec("SET LOCAL lock_timeout TO DEFAULT").Error; err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		s.write = tx
		return fn()
	})
}

// createCompat creates pgCompat's objects in a short transaction of its own,
// holding the startup lock (instances sharing a schema would otherwise race
// to create its collation), before the migration's. CREATE COLLATION takes
// a lock on pg_collation, one catalog for every schema of the database,
// until its transaction ends: inside the migration's transaction a new
// schema's migration held it to its commit (up to 0.9 s in the tests), and
// every other schema's first start waited that long for it and failed when
// its busy timeout was shorter; DROP SCHEMA … CASCADE of another schema
// holds it too while it drops that schema's collation. So the lock is held
// here for milliseconds, and waited for without lock_timeout: like the
// startup lock, it is another instance's work finishing, not a busy
// database, and its waiters hold up no query (reading pg_collation takes a
// lock this one does not block). Once the objects exist, the statements
// take no lock at all (IF NOT EXISTS looks before it locks).
func (s *Store) createCompat(ctx context.Context) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := waitForStartupLock(tx); err != nil {
			return err
		}
		for _, stmt := range pgCompat {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("migrate database: %w", err)
			}
		}
		return nil
	})
}

// waitForStartupLock takes the startup lock in tx, waiting however long it
// takes (lock_timeout 0 for the rest of tx): waiting for it is waiting for
// another instance's start to finish, not for a busy database.
func waitForStartupLock(tx *gorm.DB) error {
	if err := tx.Exec("SET LOCAL lock_timeout = 0").Error; err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if err := lockStartup(tx); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	return nil
}

// PostgreSQL's error codes for a lock or a deadline: lock_not_available
// (lock_timeout passed), serialization_failure, deadlock_detected and
// query_canceled (a statement_timeout or a cancelled context).
var pgBusyCodes = map[string]bool{"55P03": true, "40001": true, "40P01": true, "57014": true}

// pgBusy says whether err is PostgreSQL's way of saying "busy, try again".
func pgBusy(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pgBusyCodes[pe.Code]
}

// demoTx is what a demo batch (InsertDemo) writes through: the *sql.Tx
// itself on SQLite, a pgTx over it on PostgreSQL.
type demoTx interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// demoTx wraps a demo batch's transaction for the engine. On PostgreSQL it
// first locks the three tables against other writers (SQLite's immediate
// transaction does that): the batch picks its ids after the largest stored.
func (d dialect) demoTx(ctx context.Context, tx *sql.Tx) (demoTx, error) {
	if !d.postgres {
		return tx, nil
	}
	t := &pgTx{tx}
	if _, err := t.ExecContext(ctx, "LOCK TABLE links, sessions, notifications IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		return nil, fmt.Errorf("lock demo tables: %w", err)
	}
	return t, nil
}

// demoInserted moves PostgreSQL's id sequences past the ids a demo batch
// chose itself, so that the next link, session or notification made the
// ordinary way does not take one of them. SQLite needs nothing.
func (d dialect) demoInserted(ctx context.Context, tx demoTx) error {
	if !d.postgres {
		return nil
	}
	for _, table := range []string{"links", "sessions", "notifications"} {
		if _, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+table+"', 'id'), "+
			"(SELECT MAX(id) FROM "+table+"))"); err != nil {
			return fmt.Errorf("advance %s ids: %w", table, err)
		}
	}
	return nil
}

// pgBulkConn sets up conn for demo batches on PostgreSQL: commits that do
// not wait for the disk (synchronous_commit off, as SQLite's synchronous
// NORMAL: a crash may lose the last demo batches, never anything else),
// set back when released.
func pgBulkConn(ctx context.Context, conn *sql.Conn) (*sql.Conn, func(), error) {
	if _, err := conn.ExecContext(ctx, "SET synchronous_commit = off"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, func() {
		conn.ExecContext(context.WithoutCancel(ctx), "RESET synchronous_commit")
		conn.Close()
	}, nil
}

// countRows runs query, a COUNT(*) of a whole table. On PostgreSQL it runs
// with index-only scans off, in a read transaction of its own (SET LOCAL):
// the planner counts through the table's smallest index, which holds no
// visibility, so every row of a page written since the last VACUUM is
// looked up in the table as well. After a burst of payments (65,000 of
// 240,000 sessions updated) that count took 75–400 ms until autovacuum came
// round, a minute or more later, against 11 ms on a vacuumed table; the
// sequential scan reads each page once: 12 ms vacuumed, 25 ms after the
// burst (median of 5, one at a time).
func (s *Store) countRows(ctx context.Context, query string) (int64, error) {
	var n int64
	if !s.d.postgres {
		err := s.read.WithContext(ctx).Raw(query).Row().Scan(&n)
		return n, err
	}
	err := s.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL enable_indexonlyscan = off").Error; err != nil {
			return err
		}
		return tx.Raw(query).Row().Scan(&n)
	})
	return n, err
}
