// Package backups makes the scheduled backups BACKUP_DIR asks for: every
// BACKUP_EVERY a consistent copy of the live database (the same safe way as
// `backup --to`: VACUUM INTO, then an integrity check), written under a
// dot-prefixed name and renamed when complete, so a file with the final name
// is always a whole, checked backup; only the newest BACKUP_KEEP are kept.
// It knows nothing of HTTP.
package backups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"etpay-dashboard/models"
)

// Names of the files in the folder: prefix + UTC time + suffix, so that
// names sort like times; a backup being written has a dot in front.
const (
	prefix     = "etpay-dashboard-"
	suffix     = ".db"
	nameLayout = "20060102T150405.000Z"
)

// Scheduler makes backups into Dir every Every, keeping the newest Keep.
type Scheduler struct {
	Store  *models.Store
	Dir    string
	Every  time.Duration
	Keep   int
	Logger *slog.Logger
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Run makes a backup whenever the newest one is Every old (at once when
// there is none), until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	s.removeUnfinished()
	for {
		// The first at once when there is none; else Every after the newest.
		var wait time.Duration
		if last, err := Newest(s.Dir); err == nil {
			wait = last.Add(s.Every).Sub(s.now())
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if _, err := s.BackupNow(ctx); err != nil {
			s.Logger.Error("scheduled backup failed; trying again later", "dir", s.Dir, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(s.Every, time.Hour)):
			}
		}
	}
}

// BackupNow writes one backup and prunes the folder to the newest Keep. It
// returns the backup's path.
func (s *Scheduler) BackupNow(ctx context.Context) (string, error) {
	name := FileName(s.now())
	final := filepath.Join(s.Dir, name)
	partial := filepath.Join(s.Dir, "."+name)
	if err := s.Store.Backup(ctx, partial); err != nil {
		os.Remove(partial)
		return "", err
	}
	if err := os.Rename(partial, final); err != nil {
		os.Remove(partial)
		return "", fmt.Errorf("backup: %w", err)
	}
	s.Logger.Info("backup written and checked", "path", final)
	return final, s.prune()
}

// prune removes all but the newest Keep backups.
func (s *Scheduler) prune() error {
	names, err := backupNames(s.Dir)
	if err != nil || len(names) <= s.Keep {
		return err
	}
	var errs []error
	for _, name := range names[:len(names)-s.Keep] {
		errs = append(errs, os.Remove(filepath.Join(s.Dir, name)))
	}
	return errors.Join(errs...)
}

// removeUnfinished deletes backups a crash left half written.
func (s *Scheduler) removeUnfinished() {
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+prefix) {
			os.Remove(filepath.Join(s.Dir, e.Name()))
		}
	}
}

// backupNames lists the finished backups in dir, oldest first.
func backupNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if _, ok := timeOf(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// timeOf is when a backup of ours was made, read from its name.
func timeOf(name string) (time.Time, bool) {
	stamp, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return time.Time{}, false
	}
	stamp, ok = strings.CutSuffix(stamp, suffix)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(nameLayout, stamp)
	return t, err == nil
}

// FileName is the name of a finished backup made at t.
func FileName(t time.Time) string { return prefix + t.UTC().Format(nameLayout) + suffix }

// Late reports whether a backup made at last is too old for backups asked for
// every every: one missed backup is forgiven, two are not. The overview, the
// go-live page and doctor all judge by it.
func Late(last time.Time, every time.Duration, now time.Time) bool {
	return now.Sub(last) > 2*every
}

// ErrNone says the folder holds no finished backup.
var ErrNone = errors.New("no backup yet")

// Newest is when the newest finished backup in dir was made: ErrNone when
// there is none, the folder's error when it cannot be read.
func Newest(dir string) (time.Time, error) {
	names, err := backupNames(dir)
	if err != nil {
		return time.Time{}, err
	}
	if len(names) == 0 {
		return time.Time{}, ErrNone
	}
	t, _ := timeOf(names[len(names)-1])
	return t, nil
}
