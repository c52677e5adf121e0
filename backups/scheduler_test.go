package backups

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/models"
)

func newScheduler(t *testing.T, every time.Duration, keep int) (*Scheduler, *models.Store) {
	t.Helper()
	store, err := models.Open(context.Background(), filepath.Join(t.TempDir(), "shop.db"), models.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var mu sync.Mutex
	clock := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	s := &Scheduler{Store: store, Dir: t.TempDir(), Every: every, Keep: keep, Logger: slog.New(slog.DiscardHandler),
		// Each reading of the clock is an hour later, so every backup has its own name.
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Hour); return clock }}
	return s, store
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// finished are the backups in dir with their final names.
func finished(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	for _, name := range files(t, dir) {
		if !strings.HasPrefix(name, ".") {
			names = append(names, name)
		}
	}
	return names
}

// Backups are whole, checked copies with their time in the name, directly in
// the folder; only the newest BACKUP_KEEP stay.
func TestBackupsArePrunedToKeep(t *testing.T) {
	s, store := newScheduler(t, time.Hour, 3)
	if _, err := store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: "OC-1", Amount: 990, Mode: "live"}); err != nil {
		t.Fatal(err)
	}
	var made []string
	for range 5 {
		path, err := s.BackupNow(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, filepath.Base(path))
	}
	got := files(t, s.Dir)
	if strings.Join(got, ",") != strings.Join(made[2:], ",") {
		t.Fatalf("folder holds %v, want the newest three %v", got, made[2:])
	}
	copy, err := models.Open(context.Background(), filepath.Join(s.Dir, got[2]))
	if err != nil {
		t.Fatal(err)
	}
	defer copy.Close()
	if _, err := copy.LinkByCode(context.Background(), "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the backup does not open as a database: %v", err)
	}
	newest, err := Newest(s.Dir)
	if err != nil || newest.Format(nameLayout) != strings.TrimSuffix(strings.TrimPrefix(got[2], prefix), suffix) {
		t.Fatalf("Newest = %v, %v; want the time of %s", newest, err, got[2])
	}
}

// Run makes the first backup at once, the next after Every, and clears what
// a crash left half written; it stops with its context.
func TestRunBacksUpOnSchedule(t *testing.T) {
	s, _ := newScheduler(t, 150*time.Millisecond, 14)
	s.Now = time.Now
	leftover := filepath.Join(s.Dir, "."+prefix+"20260101T000000.000Z"+suffix)
	os.WriteFile(leftover, []byte("half"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(finished(t, s.Dir)) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	got := files(t, s.Dir)
	if len(got) < 2 {
		t.Fatalf("after a while the folder holds %v, want at least two backups", got)
	}
	for _, name := range got {
		if strings.HasPrefix(name, ".") {
			t.Errorf("%s is left in the folder", name)
		}
	}
	if _, err := Newest(t.TempDir()); !errors.Is(err, ErrNone) {
		t.Errorf("an empty folder: %v", err)
	}
}

// With no backup yet, the first is made at start, not an interval later.
func TestFirstBackupAtStart(t *testing.T) {
	s, _ := newScheduler(t, 24*time.Hour, 14)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(finished(t, s.Dir)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if n := len(finished(t, s.Dir)); n != 1 {
		t.Fatalf("%d backups after start with BACKUP_EVERY=24h, want 1", n)
	}
}
