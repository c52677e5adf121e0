package handlers_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"etpay-dashboard/testdb"
)

// openRaw opens the app's database directly, as another program would.
func openRaw(t *testing.T, h *harness) *gorm.DB {
	t.Helper()
	dialector := sqlite.Open(h.cfg.DatabaseURL)
	if h.cfg.OnPostgres() {
		dialector = postgres.Open(h.cfg.DatabaseURL)
	}
	db, err := gorm.Open(dialector, &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	return db
}

// storedData is what the database keeps of the second factor, as someone
// with a copy of it would read it: the SQLite files (with the WAL), or on
// PostgreSQL the tables' rows as text.
func storedData(t *testing.T, h *harness) []byte {
	t.Helper()
	var stored []byte
	if h.cfg.OnPostgres() {
		for _, table := range []string{"second_factors", "recovery_codes", "staff_sessions", "audit_entries"} {
			var rows []string
			if err := openRaw(t, h).Raw("SELECT CAST(r AS text) FROM " + table + " AS r").Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				stored = append(stored, r...)
			}
		}
		return stored
	}
	for _, suffix := range []string{"", "-wal"} {
		data, _ := os.ReadFile(h.cfg.DatabaseURL + suffix)
		stored = append(stored, data...)
	}
	if len(stored) == 0 {
		t.Fatalf("database files not found next to %s", filepath.Base(h.cfg.DatabaseURL))
	}
	return stored
}

// databaseLevel is the system page's verdict on a healthy database: ok
// from SQLite's quick_check, warn on PostgreSQL ("managed by PostgreSQL").
func databaseLevel() string {
	if testdb.OnPostgres() {
		return "warn"
	}
	return "ok"
}

// holdWriteLock makes another connection hold what a notification for
// session id must wait for, until release: SQLite's write lock (BEGIN
// IMMEDIATE), or on PostgreSQL the session's row (FOR UPDATE).
func holdWriteLock(t *testing.T, h *harness, sessionID uint) (release func()) {
	t.Helper()
	ctx := context.Background()
	driver, dsn, begin := "sqlite", h.cfg.DatabaseURL+"?_pragma=busy_timeout(1000)", "BEGIN IMMEDIATE"
	if h.cfg.OnPostgres() {
		driver, dsn, begin = "pgx", h.cfg.DatabaseURL, "BEGIN"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		t.Fatal(err)
	}
	if h.cfg.OnPostgres() {
		if _, err := conn.ExecContext(ctx, "SELECT id FROM sessions WHERE id = $1 FOR UPDATE", sessionID); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			conn.ExecContext(ctx, "ROLLBACK")
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release) // a test that fails holding it must not keep it
	return release
}
