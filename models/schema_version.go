package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// SchemaVersion is the version of the tables and indexes this code migrates
// a database to. Bump it with every change to them: TestSchemaVersion
// fails until the new schema's fingerprint is recorded under a new version.
const SchemaVersion = 13

const schemaVersionKey = "schema_version"

// ErrSchemaTooNew is Open's answer to a database migrated by a newer version
// of etpay-dashboard: an older binary must not write to it.
var ErrSchemaTooNew = errors.New("the database was migrated by a newer etpay-dashboard")

// storedSchemaVersion is the version a database was last migrated to: 0 for
// one from before versions were kept, and isNew for an empty file.
func (s *Store) storedSchemaVersion(ctx context.Context) (version int, isNew bool, err error) {
	tables, err := s.tableCount(ctx)
	if err != nil {
		return 0, false, err
	}
	if tables == 0 {
		return 0, true, nil
	}
	var value string
	err = s.write.WithContext(ctx).Raw("SELECT value FROM settings WHERE key = ?", schemaVersionKey).Scan(&value).Error
	if err != nil || value == "" {
		return 0, false, nil // no settings table or no version yet: before versions were kept
	}
	version, err = strconv.Atoi(value)
	return version, false, err
}

// backupBeforeMigration copies a database that this start is about to
// migrate to a file next to it (not in BACKUP_DIR: it must exist even when
// scheduled backups are off), checked like any backup. A new database or
// one already at SchemaVersion is left alone. upgrading says it was copied,
// being older than this version.
func (s *Store) backupBeforeMigration(ctx context.Context, path string, now time.Time) (upgrading bool, err error) {
	version, isNew, err := s.storedSchemaVersion(ctx)
	switch {
	case err != nil:
		return false, fmt.Errorf("read schema version: %w", err)
	case isNew || version == SchemaVersion:
		return false, nil
	case version > SchemaVersion:
		return false, fmt.Errorf("%w (schema v%d, this binary migrates to v%d): use that version or a newer one", ErrSchemaTooNew, version, SchemaVersion)
	case s.d.postgres:
		// No file to copy: PostgreSQL's copies are pg_dump's (README,
		// "When one server is not enough").
		return true, nil
	}
	backup := fmt.Sprintf("%s.before-schema-v%d-%s", path, SchemaVersion, now.UTC().Format("20060102T150405Z"))
	if err := s.Backup(ctx, backup); err != nil {
		return false, fmt.Errorf("backup before migrating from schema v%d: %w", version, err)
	}
	s.migrationBackup = backup
	return true, nil
}

// recordSchemaVersion notes that the database is now at SchemaVersion.
func (s *Store) recordSchemaVersion(ctx context.Context) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			schemaVersionKey, strconv.Itoa(SchemaVersion)).Error
	})
}

// MigrationBackup is the file Open copied the database to before migrating
// it, or empty when this start changed no schema.
func (s *Store) MigrationBackup() string { return s.migrationBackup }
