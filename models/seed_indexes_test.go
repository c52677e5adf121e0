package models

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// demoTableIndexes lists the secondary indexes of the demo tables, name
// and statement.
func demoTableIndexes(t *testing.T, s *Store) []indexDef {
	t.Helper()
	var defs []indexDef
	if err := s.write.Raw("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (" + demoIndexedTables + ") ORDER BY name").Scan(&defs).Error; err != nil {
		t.Fatal(err)
	}
	return defs
}

// TestDemoIndexesComeBack: a seed into a fresh database drops the demo
// tables' indexes and makes them again, the same; if it never gets to
// (killed), the next Open makes them; a database with links keeps them.
func TestDemoIndexesComeBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idx.db")
	s, err := Open(ctx, path, WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	want := demoTableIndexes(t, s)
	if len(want) < 15 {
		t.Fatalf("only %d indexes on the demo tables: %+v", len(want), want)
	}
	d, err := s.SuspendDemoIndexes(ctx)
	if err != nil || !d.Suspended() {
		t.Fatalf("fresh database: suspended %v, %v", d.Suspended(), err)
	}
	if left := demoTableIndexes(t, s); len(left) != 0 {
		t.Errorf("indexes left while suspended: %+v", left)
	}
	if _, err := s.InsertDemo(ctx, demoTestRows(50)); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreDemoIndexes(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := demoTableIndexes(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("indexes after the seed:\n%+v\nwant\n%+v", got, want)
	}
	if d, err := s.SuspendDemoIndexes(ctx); err != nil || d.Suspended() {
		t.Errorf("database with links: suspended %v, %v", d.Suspended(), err)
	}

	// Killed mid-seed: the next start makes every index again.
	if err := s.write.Exec("DELETE FROM sessions").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.write.Exec("DELETE FROM links").Error; err != nil {
		t.Fatal(err)
	}
	if d, err = s.SuspendDemoIndexes(ctx); err != nil || !d.Suspended() {
		t.Fatalf("emptied database: suspended %v, %v", d.Suspended(), err)
	}
	s.Close()
	s, err = Open(ctx, path, WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := demoTableIndexes(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("indexes after a start:\n%+v\nwant\n%+v", got, want)
	}
	if err := s.RestoreDemoIndexes(ctx, d); err != nil {
		t.Errorf("restoring what a start made again: %v", err)
	}
}
