package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

func TestBackup(t *testing.T) {
	testdb.SkipOnPostgres(t, "backup --to copies SQLite files (VACUUM INTO); TestBackupOnPostgresSaysPgDump covers PostgreSQL")
	vars, _ := newEnv(t)
	made := runCmd(t, vars, "", "links", "create", "--order", "OC-1", "--amount", "1000")
	if made.err != nil {
		t.Fatal(made.err)
	}
	url := lastLine(made.stdout)
	to := filepath.Join(t.TempDir(), "backup.db")

	r := runCmd(t, vars, "", "backup", "--to", to)
	if r.err != nil || !strings.Contains(r.stdout, "checked") {
		t.Fatalf("backup: %v %q", r.err, r.stdout)
	}
	// The copy is a working database with the link in it.
	copy, err := models.Open(context.Background(), to)
	if err != nil {
		t.Fatal(err)
	}
	defer copy.Close()
	if _, err := copy.LinkByCode(context.Background(), url[strings.LastIndex(url, "/")+1:]); err != nil {
		t.Fatalf("the backup lacks the link: %v", err)
	}
	if ok, err := copy.IntegrityCheck(context.Background()); err != nil || ok != "ok" {
		t.Fatalf("integrity_check of the copy: %q %v", ok, err)
	}

	// Never overwrite: a second backup to the same file is refused.
	if r := runCmd(t, vars, "", "backup", "--to", to); !errors.Is(r.err, models.ErrBackupExists) {
		t.Fatalf("backup over an existing file: %v", r.err)
	}
	if r := runCmd(t, vars, "", "backup"); r.err == nil {
		t.Fatal("backup without --to succeeded")
	}
}
