package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"etpay-dashboard/testdb"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// schemaFingerprints records the schema of each SchemaVersion: a fresh
// database migrated by this code must match the current version's entry.
var schemaFingerprints = map[int]string{
	1:  "6b05b76e05f302c8",
	2:  "361e4207182a0781", // second factors, recovery codes, logins awaiting their code
	3:  "8f942e1aee166c90", // links_fts and its triggers, links.last_opened_at, the lists' indexes
	4:  "5c79f401225212fb", // the shop's webhooks: endpoints, events, deliveries, attempts; idx_links_open_expiry
	5:  "0f7487308995b5c5", // link_imports, links.reminders_off, idx_outbox_link_sent
	6:  "f29a65787fe9dd31", // api_keys, idempotency_keys, links.created_via
	7:  "3a5e6af71b0c69c2", // idx_sessions_amount_created
	8:  "18f878e0d78591be", // outbox_messages.data (receipts and payment alerts queued as their data); idx_outbox_messages_created_at dropped
	9:  "68e7521a255a661a", // login_attempts, acme_certs (several instances on one PostgreSQL)
	10: "63edb70c910aed13", // webhook_deliveries.priority, idx_webhook_deliveries_due_first (payments before other events)
	11: "24f39e121c9d2935", // webhook_endpoints.mode (an endpoint gets its own mode's events only)
	12: "feaaf9a91dff4c15", // idx_sessions_payment_token_set (only sessions with a payment_token) replaces idx_sessions_payment_token
	13: "9b578e9c86ace9ec", // idx_sessions_created_id_status replaces idx_sessions_status_created and idx_sessions_created_at
}

// schemaFingerprint sums the tables' columns and the indexes of a database.
func schemaFingerprint(t *testing.T, s *Store) string {
	t.Helper()
	var lines []string
	rows, err := s.read.Raw("SELECT m.type, m.name, COALESCE(p.name, ''), COALESCE(p.type, ''), COALESCE(p.\"notnull\", 0), COALESCE(p.pk, 0) " +
		"FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) p WHERE m.type IN ('table', 'index') AND m.name NOT LIKE 'sqlite_%' " +
		"ORDER BY m.type, m.name, p.name").Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name, col, typ string
		var notNull, pk int
		if err := rows.Scan(&kind, &name, &col, &typ, &notNull, &pk); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s %d %d", kind, name, col, typ, notNull, pk))
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}

func TestSchemaVersion(t *testing.T) {
	testdb.SkipOnPostgres(t, "the fingerprint is of SQLite's schema (sqlite_master and pragma table_info)")
	got := schemaFingerprint(t, openTestStore(t))
	if want := schemaFingerprints[SchemaVersion]; got != want {
		t.Fatalf("the schema's fingerprint is %s, but SchemaVersion %d recorded %q: if you changed a table or an index, "+
			"bump SchemaVersion to %d and add %d: %q to schemaFingerprints (a start then backs a database up before migrating it)",
			got, SchemaVersion, want, SchemaVersion+1, SchemaVersion+1, got)
	}
}

// A start that changes the schema first copies the database next to its
// file; a start at the same version, or on a new database, does not.
func TestOpenBacksUpBeforeAMigration(t *testing.T) {
	testdb.SkipOnPostgres(t, "the copy before a migration is an SQLite file (VACUUM INTO); PostgreSQL's is pg_dump's")
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "shop.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mustLink(t, s, "OC-1", "live")
	if s.MigrationBackup() != "" {
		t.Fatalf("a new database was backed up: %s", s.MigrationBackup())
	}
	// As if this database had been migrated by an older version.
	if err := s.write.Exec("UPDATE settings SET value = '0' WHERE key = ?", schemaVersionKey).Error; err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	backup := s.MigrationBackup()
	s.Close()
	if filepath.Dir(backup) != dir || !strings.HasPrefix(filepath.Base(backup), "shop.db.before-schema-v") {
		t.Fatalf("backup %q is not next to the database", backup)
	}
	copy, err := Open(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, copy, &Link{}); n != 1 {
		t.Errorf("the backup holds %d links, want 1", n)
	}
	copy.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if s.MigrationBackup() != "" {
		t.Errorf("a start at the same version made a backup")
	}
	// A database from a newer version is refused, not written to.
	s.write.Exec("UPDATE settings SET value = ? WHERE key = ?", fmt.Sprint(SchemaVersion+1), schemaVersionKey)
	s.Close()
	if _, err := Open(ctx, path); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("a newer schema: %v, want ErrSchemaTooNew", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) > 4 { // the database, its -wal and -shm, one backup
		t.Errorf("files next to the database: %v", entries)
	}
}
