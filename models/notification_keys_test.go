package models

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// addSessionElsewhere inserts a session the way another process would (the
// CLI, another instance): straight into the table, so this Store's key
// cache never hears of it. It copies tmpl's link, order and mode.
func addSessionElsewhere(t *testing.T, s *Store, tmpl *Session, token string) {
	t.Helper()
	if err := s.write.Exec("INSERT INTO sessions (link_id, session_token, signature_token, mode, status, merchant_order_id, amount, created_at, updated_at) "+
		"SELECT link_id, ?, ?, mode, status, merchant_order_id, amount, created_at, updated_at FROM sessions WHERE id = ?",
		token, "sig-"+token, tmpl.ID).Error; err != nil {
		t.Fatal(err)
	}
}

// alterKeys changes every stored signing key (which never happens for real)
// so that a key still read as "sig-…" can only have come from memory.
func alterKeys(t *testing.T, s *Store) {
	t.Helper()
	if err := s.write.Exec("UPDATE sessions SET signature_token = 'from-sql-' || session_token").Error; err != nil {
		t.Fatal(err)
	}
}

func wantKey(t *testing.T, s *Store, token, want string) {
	t.Helper()
	if key, err := s.NotificationKey(context.Background(), token); err != nil || key != want {
		t.Errorf("NotificationKey(%s) = %q, %v; want %q", token, key, err, want)
	}
}

// TestNotificationKeyRefillsSessionsAddedElsewhere: the first miss on a
// session another process added reads the keys of the sessions added after
// it in one query, so their notifications need no SQL for the key.
func TestNotificationKeyRefillsSessionsAddedElsewhere(t *testing.T) {
	s := openTestStore(t)
	tmpl := mustSession(t, s, mustLink(t, s, "OC-1", "sandbox"), "tok-here")
	for i := range 20 {
		addSessionElsewhere(t, s, tmpl, fmt.Sprintf("tok-%02d", i))
	}
	wantKey(t, s, "tok-00", "sig-tok-00") // a miss, by SQL
	if n := s.notes.keys.refills.Load(); n != 1 {
		t.Fatalf("%d refills after the first miss, want 1", n)
	}
	alterKeys(t, s)
	for i := 1; i < 20; i++ {
		tok := fmt.Sprintf("tok-%02d", i)
		wantKey(t, s, tok, "sig-"+tok)
	}
	if n := s.notes.keys.refills.Load(); n != 1 {
		t.Errorf("%d refills, want still 1: every later key was read by the first", n)
	}
	// A token that is no session is still refused, and remembered nowhere.
	if _, err := s.NotificationKey(context.Background(), "tok-20"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
}

// TestKeyRefillsAreBounded: a flood of unknown tokens reads no bulk at all,
// and sessions found one after another start at most one refill per
// keyRefillEvery (the clock stands still here unless the test moves it).
func TestKeyRefillsAreBounded(t *testing.T) {
	s := openTestStore(t)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.notes.keys.now = func() time.Time { return now }
	tmpl := mustSession(t, s, mustLink(t, s, "OC-1", "sandbox"), "tok-here")
	for i := range 1000 {
		if _, err := s.NotificationKey(context.Background(), fmt.Sprintf("stranger-%d", i)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown token %d: %v, want ErrNotFound", i, err)
		}
		now = now.Add(time.Second)
	}
	if n := s.notes.keys.refills.Load(); n != 0 {
		t.Fatalf("%d refills after 1,000 unknown tokens, want 0", n)
	}

	addSessionElsewhere(t, s, tmpl, "tok-a1")
	addSessionElsewhere(t, s, tmpl, "tok-a2")
	wantKey(t, s, "tok-a1", "sig-tok-a1") // refill 1 reads tok-a2
	for i := range 5 {
		addSessionElsewhere(t, s, tmpl, fmt.Sprintf("tok-b%d", i))
	}
	// Each is newer than what refill 1 read, but the clock has not moved:
	// found one by one, no refill.
	for i := range 4 {
		tok := fmt.Sprintf("tok-b%d", i)
		wantKey(t, s, tok, "sig-"+tok)
	}
	if n := s.notes.keys.refills.Load(); n != 1 {
		t.Fatalf("%d refills within %v, want 1", n, keyRefillEvery)
	}
	alterKeys(t, s)
	wantKey(t, s, "tok-a2", "sig-tok-a2") // read by refill 1
	wantKey(t, s, "tok-b4", "from-sql-tok-b4")

	now = now.Add(keyRefillEvery)
	addSessionElsewhere(t, s, tmpl, "tok-c1")
	addSessionElsewhere(t, s, tmpl, "tok-c2")
	wantKey(t, s, "tok-c1", "sig-tok-c1") // by SQL; refill 2 reads tok-c2
	if n := s.notes.keys.refills.Load(); n != 2 {
		t.Fatalf("%d refills once %v passed, want 2", n, keyRefillEvery)
	}
	if err := s.write.Exec("UPDATE sessions SET signature_token = 'changed' WHERE session_token = 'tok-c2'").Error; err != nil {
		t.Fatal(err)
	}
	wantKey(t, s, "tok-c2", "sig-tok-c2") // from memory
	// An old session (below what refills read) never starts one.
	now = now.Add(time.Hour)
	s.notes.keys = keyCache{now: s.notes.keys.now, newest: s.notes.keys.newest}
	wantKey(t, s, "tok-here", "from-sql-tok-here")
	if n := s.notes.keys.refills.Load(); n != 0 {
		t.Errorf("%d refills for an old session, want 0", n)
	}
}
