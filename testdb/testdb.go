// Package testdb gives each test its own empty database on the engine the
// test run is for (issue 16): an SQLite file in the test's temporary
// directory, as always, or, when TEST_DATABASE_URL names a PostgreSQL
// database, a schema of its own in it (CREATE SCHEMA t_<random>, named by
// search_path in the URL it returns), dropped when the test ends.
//
//	TEST_DATABASE_URL=postgres://… go test ./...
//
// (.ci/postgres starts a throwaway cluster and prints that URL.)
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// Env is the variable naming the PostgreSQL database the tests run on.
const Env = "TEST_DATABASE_URL"

// OnPostgres says whether this test run is on PostgreSQL.
func OnPostgres() bool { return postgresURL() != "" }

func postgresURL() string {
	u := os.Getenv(Env)
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		return u
	}
	return ""
}

// SkipOnPostgres skips a test that is SQLite's by nature (a pragma, a file
// copy, FTS5) on a PostgreSQL run; reason says why, and shows in -v output.
func SkipOnPostgres(t testing.TB, reason string) {
	t.Helper()
	if OnPostgres() {
		t.Skip("SQLite only: " + reason)
	}
}

// RequirePostgres skips a test of what only PostgreSQL has (instances
// sharing one database, moving a shop into it) on a SQLite run; reason
// says what, and shows in -v output.
func RequirePostgres(t testing.TB, reason string) {
	t.Helper()
	if !OnPostgres() {
		t.Skip("PostgreSQL only: " + reason + " (set " + Env + ", see .ci/postgres)")
	}
}

// PostgresURL is the PostgreSQL server of this run, for a test that makes
// its own schemas or sequences; a SQLite run skips the test (RequirePostgres).
func PostgresURL(t testing.TB, reason string) string {
	t.Helper()
	RequirePostgres(t, reason)
	return postgresURL()
}

// URL is a new empty database for t, as DATABASE_URL spells it: the SQLite
// file name in t.TempDir(), or a PostgreSQL URL whose search_path is a new
// schema, dropped at t's cleanup.
func URL(t testing.TB, name string) string {
	t.Helper()
	base := postgresURL()
	if base == "" {
		return filepath.Join(t.TempDir(), name)
	}
	db, err := admin(base)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("testdb: create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("testdb: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testdb: %s: %v", Env, err)
	}
	q := u.Query()
	// public last: pg_trgm, made once per database (see admin), lives there.
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

var (
	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
)

// admin is the run's own connection to TEST_DATABASE_URL, which makes and
// drops the schemas. It installs pg_trgm once, in public: an extension is
// one per database, and each test's schema finds it through search_path.
func admin(base string) (*sql.DB, error) {
	adminOnce.Do(func() {
		adminDB, adminErr = sql.Open("pgx", base)
		if adminErr != nil {
			return
		}
		adminDB.SetMaxOpenConns(2)
		ctx := context.Background()
		var have bool
		if adminErr = adminDB.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')").Scan(&have); adminErr != nil || have {
			return
		}
		// Packages' tests run in parallel processes: another may win.
		if _, err := adminDB.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"); err != nil {
			if adminErr = adminDB.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')").Scan(&have); adminErr == nil && !have {
				adminErr = fmt.Errorf("create extension pg_trgm: %w", err)
			}
		}
	})
	return adminDB, adminErr
}
