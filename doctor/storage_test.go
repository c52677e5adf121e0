package doctor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// The newest *.db directly in the folder counts; older than two periods is a warning.
func TestBackups(t *testing.T) {
	t.Parallel()
	now := time.Now()
	file := func(dir, name string, age time.Duration) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	fresh := t.TempDir()
	file(fresh, "etpay-2026-01-01.db", 72*time.Hour)
	file(fresh, "etpay-2026-01-03.db", 20*time.Hour)
	file(fresh, "notes.txt", time.Minute) // not a backup

	stale := t.TempDir()
	file(stale, "etpay-2026-01-01.db", 49*time.Hour)
	file(stale, "newer.db.tmp", time.Minute) // not a backup
	if err := os.Mkdir(filepath.Join(stale, "sub.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	file(filepath.Join(stale, "sub.db"), "inner.db", time.Minute) // not directly in the folder

	tests := []struct {
		name, dir string
		every     time.Duration
		level     doctor.Level
		key, says string
	}{
		{"no BACKUP_DIR", "", 24 * time.Hour, doctor.Warn, "system.backups.none_scheduled", "BACKUP_DIR"},
		{"fresh", fresh, 24 * time.Hour, doctor.OK, "system.backups.ok", "etpay-2026-01-03.db"},
		{"two periods missed", stale, 24 * time.Hour, doctor.Warn, "system.backups.old", "etpay-2026-01-01.db"},
		{"weekly, within two periods", stale, 7 * 24 * time.Hour, doctor.OK, "system.backups.ok", "etpay-2026-01-01.db"},
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

// Until config has them, BACKUP_DIR and BACKUP_EVERY are read through the
// same getenv as the other settings.
func TestBackupSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.db"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "b.db"), old, old); err != nil {
		t.Fatal(err)
	}
	cfg := settings(t)
	want(t, only(t, run(t, cfg, "BACKUP_DIR", dir), "system.check.backups"), doctor.OK, "system.backups.ok")
	want(t, only(t, run(t, cfg, "BACKUP_DIR", dir, "BACKUP_EVERY", "1h"), "system.check.backups"), doctor.Warn, "system.backups.old")
	want(t, only(t, run(t, cfg, "BACKUP_DIR", dir, "BACKUP_EVERY", "daily"), "system.check.backups"), doctor.Fail, "system.backups.bad_every")
}
