package main

import (
	"context"
	"etpay-dashboard/testdb"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// With BACKUP_DIR set, the server makes backups on its own: the first at
// start, then every BACKUP_EVERY, keeping the newest BACKUP_KEEP.
func TestServeMakesScheduledBackups(t *testing.T) {
	testdb.SkipOnPostgres(t, "scheduled backups are SQLite copies; off on PostgreSQL")
	dir := t.TempDir()
	vars, _ := newEnv(t, "LISTEN_ADDR", "127.0.0.1:0", "BACKUP_DIR", dir, "BACKUP_EVERY", "200ms", "BACKUP_KEEP", "2")
	ctx, cancel := context.WithCancel(context.Background())
	env := environment{storeOptions: testStoreOptions, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		getenv: func(k string) string { return vars[k] }}
	done := make(chan error, 1)
	go func() { done <- run(ctx, env) }()
	deadline := time.Now().Add(10 * time.Second)
	var names []string
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		names = names[:0]
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "etpay-dashboard-") {
				names = append(names, e.Name())
			}
		}
		if len(names) == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond) // a few more intervals: still two
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	kept := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "etpay-dashboard-") {
			kept++
		}
	}
	if len(names) != 2 || kept != 2 {
		t.Fatalf("backups seen %v, kept %d; want two kept", names, kept)
	}
}
