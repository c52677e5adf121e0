package doctor

import (
	"context"
	"errors"
	"etpay-dashboard/backups"
	"path/filepath"
	"strings"
	"time"
)

// databaseCheck runs PRAGMA quick_check on the server's database.
func databaseCheck(ctx context.Context, r *run) []Result {
	const name = "system.check.database"
	path := r.Config.DatabaseName()
	switch {
	case r.StoreErr != nil:
		return []Result{result(Fail, name, "system.database.open_failed", path, r.StoreErr.Error())}
	case r.Store == nil:
		return []Result{result(Warn, name, "system.database.missing", path)}
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	if r.Store.OnPostgres() {
		// Its integrity, disks and copies are PostgreSQL's (and its host's).
		if err := r.Store.Ping(ctx); err != nil {
			return []Result{result(Fail, name, "system.database.open_failed", path, err.Error())}
		}
		return []Result{result(Warn, name, "system.database.postgres", path)}
	}
	verdict, err := r.Store.QuickCheck(ctx)
	if err != nil {
		verdict = err.Error()
	}
	if verdict != "ok" {
		return []Result{result(Fail, name, "system.database.damaged", path, verdict)}
	}
	return []Result{result(OK, name, "system.database.ok", path)}
}

// Free disk thresholds where the database lives: under diskFail SQLite may
// soon fail to write a payment; under diskWarn there is time to act.
const (
	mib      = 1 << 20
	diskWarn = 1 << 30
	diskFail = 100 * mib
)

// diskCheck measures the free space in the database's folder.
func diskCheck(_ context.Context, r *run) []Result {
	if r.Config.OnPostgres() {
		return []Result{result(Warn, "system.check.disk", "system.disk.postgres")}
	}
	dir := filepath.Dir(r.Config.DatabaseURL)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	free, err := freeBytes(dir)
	if err != nil {
		return []Result{result(Warn, "system.check.disk", "system.disk.unknown", dir, err.Error())}
	}
	return []Result{DiskResult(free, dir)}
}

// DiskResult judges free bytes in dir.
func DiskResult(free uint64, dir string) Result {
	const name = "system.check.disk"
	freeMiB := int64(free / mib)
	switch {
	case free < diskFail:
		return result(Fail, name, "system.disk.full", freeMiB, dir)
	case free < diskWarn:
		return result(Warn, name, "system.disk.low", freeMiB, dir)
	}
	return result(OK, name, "system.disk.ok", freeMiB, dir)
}

// backupsCheck judges the scheduled backups BACKUP_DIR and BACKUP_EVERY ask for.
func backupsCheck(_ context.Context, r *run) []Result {
	if r.Config.OnPostgres() {
		return []Result{result(Warn, "system.check.backups", "system.backups.postgres")}
	}
	return []Result{Backups(r.Config.BackupDir, r.Config.BackupEvery, time.Now())}
}

// Backups judges the newest finished backup in dir (as package backups
// names them): Warn when there is none, or when it is older than two periods
// of every (one missed backup is forgiven, two are not); no dir means no
// scheduled backups (Warn).
func Backups(dir string, every time.Duration, now time.Time) Result {
	const name = "system.check.backups"
	if dir == "" {
		return result(Warn, name, "system.backups.none_scheduled")
	}
	newest, err := backups.Newest(dir)
	switch {
	case errors.Is(err, backups.ErrNone):
		return result(Warn, name, "system.backups.empty", dir)
	case err != nil:
		return result(Fail, name, "system.backups.unreadable", dir, err.Error())
	}
	file := filepath.Join(dir, backups.FileName(newest))
	age := now.Sub(newest)
	if backups.Late(newest, every, now) {
		return result(Warn, name, "system.backups.old", file, shortDuration(age), shortDuration(every))
	}
	return result(OK, name, "system.backups.ok", file, shortDuration(age))
}

// shortDuration is d to the minute, without the zero seconds: "26h5m".
func shortDuration(d time.Duration) string {
	if d = d.Round(time.Minute); d == 0 {
		return "0m"
	}
	return strings.TrimSuffix(d.String(), "0s")
}
