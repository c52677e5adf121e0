package doctor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/backups"
	"etpay-dashboard/doctor"
)

// Warn under 1 GiB free, FAIL under 100 MiB.
func TestDiskThresholds(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		free  uint64
		level doctor.Level
	}{
		{0, doctor.Fail},
		{100*mib - 1, doctor.Fail},
		{100 * mib, doctor.Warn},
		{1024*mib - 1, doctor.Warn},
		{1024 * mib, doctor.OK},
		{500 * 1024 * mib, doctor.OK},
	}
	for _, tt := range tests {
		if got := doctor.DiskResult(tt.free, "/srv"); got.Level != tt.level {
			t.Errorf("%d bytes free: %s, want %s", tt.free, got.Level, tt.level)
		}
	}
}

// The disk where the database lives is measured (on this test's machine,
// whatever its free space, the measure itself must work).
func TestDiskIsMeasured(t *testing.T) {
	t.Parallel()
	cfg := settings(t)
	r := only(t, run(t, cfg), "system.check.disk")
	if r.Advice.Key == "system.disk.unknown" || !strings.Contains(say(r), filepath.Dir(cfg.DatabaseURL)) {
		t.Errorf("%s: %s", r.Level, say(r))
	}
}

// The newest finished backup directly in the folder counts, by the time in
// its name; older than two periods is a warning.
func TestBackups(t *testing.T) {
	t.Parallel()
	now := time.Now()
	file := func(dir, name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	backup := func(age time.Duration) string { return backups.FileName(now.Add(-age)) }
	fresh := t.TempDir()
	file(fresh, backup(72*time.Hour))
	newest := backup(20 * time.Hour)
	file(fresh, newest)
	file(fresh, "notes.txt") // not a backup

	stale := t.TempDir()
	old := backup(49 * time.Hour)
	file(stale, old)
	file(stale, "."+backup(time.Minute)) // being written: not a backup yet
	file(stale, "etpay-2026-01-01.db")   // not one of ours
	if err := os.Mkdir(filepath.Join(stale, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	file(filepath.Join(stale, "sub"), backup(time.Minute)) // not directly in the folder

	tests := []struct {
		name, dir string
		every     time.Duration
		level     doctor.Level
		key, says string
	}{
		{"no BACKUP_DIR", "", 24 * time.Hour, doctor.Warn, "system.backups.none_scheduled", "BACKUP_DIR"},
		{"fresh", fresh, 24 * time.Hour, doctor.OK, "system.backups.ok", newest},
		{"two periods missed", stale, 24 * time.Hour, doctor.Warn, "system.backups.old", old},
		{"weekly, within two periods", stale, 7 * 24 * time.Hour, doctor.OK, "system.backups.ok", old},
		{"empty folder", t.TempDir(), 24 * time.Hour, doctor.Warn, "system.backups.empty", ""},
		{"no such folder", filepath.Join(fresh, "missing"), 24 * time.Hour, doctor.Fail, "system.backups.unreadable", "BACKUP_DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := doctor.Backups(tt.dir, tt.every, now)
			want(t, r, tt.level, tt.key)
			if !strings.Contains(say(r), tt.says) {
				t.Errorf("advice does not say %q: %s", tt.says, say(r))
			}
		})
	}
}

// The check reads BACKUP_DIR and BACKUP_EVERY from the configuration.
func TestBackupSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, backups.FileName(time.Now().Add(-3*time.Hour))), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	want(t, only(t, run(t, settings(t, "BACKUP_DIR", dir)), "system.check.backups"), doctor.OK, "system.backups.ok")
	want(t, only(t, run(t, settings(t, "BACKUP_DIR", dir, "BACKUP_EVERY", "1h")), "system.check.backups"), doctor.Warn, "system.backups.old")
}
