package models_test

import (
	"context"
	"etpay-dashboard/testdb"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

func TestQuickCheck(t *testing.T) {
	testdb.SkipOnPostgres(t, "PRAGMA quick_check of a damaged SQLite file")
	path := filepath.Join(t.TempDir(), "q.db")
	s, err := models.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.QuickCheck(context.Background())
	s.Close()
	if err != nil || got != "ok" {
		t.Fatalf("QuickCheck of a new database = %q, %v; want ok", got, err)
	}

	// Damage a table page (not the header, so the file still opens): the
	// check must say something other than "ok".
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4096 + 100; i < len(raw) && i < 4096*4; i++ {
		raw[i] = 0xff
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = models.Open(context.Background(), path)
	if err != nil {
		t.Skipf("damaged file does not open (%v): nothing to check", err)
	}
	defer s.Close()
	got, err = s.QuickCheck(context.Background())
	if err == nil && (got == "ok" || strings.TrimSpace(got) == "") {
		t.Errorf("QuickCheck of a damaged database = %q, want problems", got)
	}
}
