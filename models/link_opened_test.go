package models

import (
	"context"
	"etpay-dashboard/testdb"
	"testing"
	"time"
)

// Every opening moves last_opened_at; opened_at keeps the first.
func TestMarkLinkOpenedKeepsFirstAndLast(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	l := mustLink(t, s, "OC-1", "live")
	if err := s.MarkLinkOpened(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	first, err := s.LinkByID(ctx, l.ID)
	if err != nil || first.OpenedAt == nil || first.LastOpenedAt == nil || !first.OpenedAt.Equal(*first.LastOpenedAt) {
		t.Fatalf("after the first opening: %+v, %v", first, err)
	}
	// As if that was an hour ago.
	hourAgo := first.OpenedAt.Add(-time.Hour)
	if err := s.write.Exec("UPDATE links SET opened_at = ?, last_opened_at = ? WHERE id = ?", hourAgo, hourAgo, l.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.MarkLinkOpened(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.LinkByID(ctx, l.ID)
	if err != nil || !got.OpenedAt.Equal(hourAgo) || !got.LastOpenedAt.After(hourAgo.Add(59*time.Minute)) {
		t.Errorf("opened_at %v, last_opened_at %v: want the first kept (%v) and the last now", got.OpenedAt, got.LastOpenedAt, hourAgo)
	}
}

// A database from before last_opened_at gets it from opened_at.
func TestLastOpenedFilledAtMigration(t *testing.T) {
	ctx := context.Background()
	path := testdb.URL(t, "old.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	l := mustLink(t, s, "OC-1", "live")
	if err := s.MarkLinkOpened(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.write.Exec("ALTER TABLE links DROP COLUMN last_opened_at").Error; err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.LinkByID(ctx, l.ID)
	if err != nil || got.LastOpenedAt == nil || !got.LastOpenedAt.Equal(*got.OpenedAt) {
		t.Fatalf("after the migration: %+v, %v", got, err)
	}
}
