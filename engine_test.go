package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"etpay-dashboard/testdb"
)

// TestBackupOnPostgresSaysPgDump: on PostgreSQL, backup --to writes no file
// and says to use pg_dump instead of pretending.
func TestBackupOnPostgresSaysPgDump(t *testing.T) {
	testdb.RequirePostgres(t, "backup --to on PostgreSQL")
	vars, _ := newEnv(t)
	to := filepath.Join(t.TempDir(), "copia.db")
	r := runCmd(t, vars, "", "backup", "--to", to)
	if r.err == nil || !strings.Contains(r.err.Error(), "pg_dump") {
		t.Fatalf("backup --to on PostgreSQL: %v, want an error naming pg_dump", r.err)
	}
	if _, err := os.Stat(to); !os.IsNotExist(err) {
		t.Errorf("backup --to on PostgreSQL left %s (%v)", to, err)
	}
}
