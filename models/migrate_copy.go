package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Moving a shop's history from its SQLite file to PostgreSQL (issue 16,
// `migrate --to`). The target's schema is made by Open, exactly as a server
// starting on it would make it; the rows are then copied table by table
// from one read snapshot of the SQLite file, which is never written. The
// tables are those both databases have (not a fixed list: a table a later
// version adds is copied too); SQLite's search index (links_fts and its
// shadow tables) is not copied, since PostgreSQL builds its own trigram
// indexes from the rows as they arrive.

// Errors of MigrateToPostgres that the command line explains.
var (
	ErrTargetNotPostgres = errors.New("the target is not a PostgreSQL URL")
	ErrSourceNotSQLite   = errors.New("the source is not an SQLite file")
	ErrSourceMissing     = errors.New("the SQLite file does not exist")
	ErrSourceVersion     = errors.New("the SQLite file is not at this version's schema")
	ErrTargetNotEmpty    = errors.New("the target database is not empty")
	ErrMigrateMismatch   = errors.New("the copy differs from the source")
)

// TargetNotEmptyError names a table of the target that holds rows.
type TargetNotEmptyError struct{ Table string }

func (e *TargetNotEmptyError) Error() string {
	return "the target database is not empty: table " + e.Table + " has rows"
}

// Is makes errors.Is(err, ErrTargetNotEmpty) true.
func (e *TargetNotEmptyError) Is(target error) bool { return target == ErrTargetNotEmpty }

// copyBatchRows is how many rows go to PostgreSQL in one COPY.
const copyBatchRows = 5000

// MigrateProgress is one step of a copy, for the terminal.
type MigrateProgress struct {
	Table        string
	Copied, Rows int64
}

// MigrateOptions are what MigrateToPostgres reports to and, in tests, what
// it runs between the copy and the comparison.
type MigrateOptions struct {
	// Progress, when set, is called after every batch.
	Progress func(MigrateProgress)
	// BeforeCompare, when set, runs on the target after the copy is
	// committed and before it is compared (tests change the target there).
	BeforeCompare func(ctx context.Context, target *pgx.Conn) error
}

// MigrateResult is what a copy did and found.
type MigrateResult struct {
	// Checks are the per-table comparisons, in copy order.
	Checks []TableCheck
	// Skipped are tables of one side only: SQLite's search index, and
	// PostgreSQL's own tables, named with why.
	Skipped []string
	Elapsed time.Duration
}

// MigrateToPostgres copies every row of the SQLite file at src into the
// empty PostgreSQL database at dst (creating its schema), then compares
// the two table by table. It answers ErrMigrateMismatch (with the result)
// when a count or a sum differs.
func MigrateToPostgres(ctx context.Context, src, dst string, o MigrateOptions) (*MigrateResult, error) {
	start := time.Now()
	source, err := openMigrateSource(ctx, src, dst)
	if err != nil {
		return nil, err
	}
	defer source.Close()
	snap, err := source.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src, err)
	}
	defer snap.Rollback()
	if err := checkSourceVersion(ctx, snap); err != nil {
		return nil, err
	}
	if err := prepareTarget(ctx, dst); err != nil {
		return nil, err
	}
	target, err := pgx.Connect(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("open target: %w", err)
	}
	defer target.Close(context.WithoutCancel(ctx))
	plan, err := planCopy(ctx, snap, target)
	if err != nil {
		return nil, err
	}
	if err := copyTables(ctx, snap, target, plan, o.Progress); err != nil {
		return nil, err
	}
	if _, err := target.Exec(ctx, "ANALYZE"); err != nil {
		return nil, fmt.Errorf("analyze target: %w", err)
	}
	if o.BeforeCompare != nil {
		if err := o.BeforeCompare(ctx, target); err != nil {
			return nil, err
		}
	}
	res := &MigrateResult{Skipped: plan.skipped}
	res.Checks, err = compareTables(ctx, snap, target, plan.tables)
	res.Elapsed = time.Since(start)
	if err != nil {
		return res, err
	}
	for _, c := range res.Checks {
		if !c.OK() {
			return res, ErrMigrateMismatch
		}
	}
	return res, nil
}

// openMigrateSource checks the two URLs and opens the SQLite file at src
// read-only (query_only: not even a WAL checkpoint is written).
func openMigrateSource(ctx context.Context, src, dst string) (*sql.DB, error) {
	if !IsPostgresURL(dst) {
		return nil, ErrTargetNotPostgres
	}
	if IsPostgresURL(src) || strings.Contains(src, "://") {
		return nil, ErrSourceNotSQLite
	}
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSourceMissing, src)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open(sqlite.DriverName, "file:"+src+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", src, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", src, err)
	}
	return db, nil
}

// checkSourceVersion refuses a file of another schema version: its tables
// would not be the target's (start this version on it once to upgrade it).
func checkSourceVersion(ctx context.Context, snap *sql.Tx) error {
	var v string
	err := snap.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", schemaVersionKey).Scan(&v)
	if err != nil || v != fmt.Sprint(SchemaVersion) {
		return fmt.Errorf("%w (v%s; this binary's is v%d)", ErrSourceVersion, v, SchemaVersion)
	}
	return nil
}

// prepareTarget refuses a target holding any row, before touching it, and
// then makes its schema with Open (which also records its version: that
// one settings row is all an empty, migrated database holds).
func prepareTarget(ctx context.Context, dst string) error {
	conn, err := pgx.Connect(ctx, dst)
	if err != nil {
		return fmt.Errorf("open target: %w", err)
	}
	err = targetEmpty(ctx, conn, nil)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	store, err := Open(ctx, dst)
	if err != nil {
		return err
	}
	return store.Close()
}

// targetEmpty answers ErrTargetNotEmpty, naming the first table found
// holding a row, unless each of tables (nil: every table of the target's
// schema) is empty (the version Open records excepted).
func targetEmpty(ctx context.Context, conn pgQuerier, tables []string) error {
	if tables == nil {
		var err error
		if tables, err = pgTables(ctx, conn); err != nil {
			return err
		}
	}
	for _, t := range tables {
		q := "SELECT EXISTS (SELECT 1 FROM " + pgx.Identifier{t}.Sanitize() + ")"
		if t == "settings" {
			q = "SELECT EXISTS (SELECT 1 FROM settings WHERE key <> '" + schemaVersionKey + "')"
		}
		var found bool
		if err := conn.QueryRow(ctx, q).Scan(&found); err != nil {
			return fmt.Errorf("read target %s: %w", t, err)
		}
		if found {
			return &TargetNotEmptyError{Table: t}
		}
	}
	return nil
}

// pgQuerier is a pgx connection or a transaction on one.
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgTables are the tables of the target's schema (current_schema()).
func pgTables(ctx context.Context, conn pgQuerier) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT table_name FROM information_schema.tables "+
		"WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")
	if err != nil {
		return nil, fmt.Errorf("list target tables: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
