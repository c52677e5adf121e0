package models

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrBackupExists reports a backup file that is already there: a backup never
// overwrites one.
var ErrBackupExists = errors.New("already exists; choose a new file")

// Backup writes a consistent copy of the live database to path with VACUUM
// INTO (safe while the server writes), then opens the copy and checks it.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.d.postgres {
		return fmt.Errorf("backup: %w: back PostgreSQL up with pg_dump", ErrNotOnPostgres)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s %w", path, ErrBackupExists)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	// The read pool is query-only; VACUUM INTO only reads this database, but
	// SQLite refuses it there, so it goes through the writer connection.
	if err := s.write.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := checkFile(ctx, path); err != nil {
		return fmt.Errorf("backup written to %s but it does not check out: %w", path, err)
	}
	return nil
}

// checkFile runs SQLite's integrity_check on a database file.
func checkFile(ctx context.Context, path string) error {
	db, err := gorm.Open(sqlite.Open("file:"+path+"?_pragma=query_only(1)"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	var result string
	if err := db.WithContext(ctx).Raw("PRAGMA integrity_check").Scan(&result).Error; err != nil {
		return err
	}
	if result != "ok" {
		return fmt.Errorf("integrity_check: %s", result)
	}
	var n int64
	return db.WithContext(ctx).Model(&Session{}).Count(&n).Error
}
