package models

import (
	"context"
	"database/sql"
	"errors"
	"etpay-dashboard/testdb"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"
)

// holdWriteLock takes the database's write lock from a connection of its
// own, as another process would, until the test ends or release is called.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(100)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			db.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// TestErrBusyIsDecidedByTheDriversCode: a real SQLITE_BUSY from the driver
// is ErrBusy however it is wrapped, and keeps its message; an error that only
// says "database is locked", or any other driver error, is not.
func TestErrBusyIsDecidedByTheDriversCode(t *testing.T) {
	testdb.SkipOnPostgres(t, "SQLite's busy result codes, from a second SQLite connection")
	path := filepath.Join(t.TempDir(), "busy.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	holdWriteLock(t, path)

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, busy := other.Exec("BEGIN IMMEDIATE")
	var se *gosqlite.Error
	if !errors.As(busy, &se) || se.Code()&0xff != sqliteBusy {
		t.Fatalf("second writer: %v (%T), want the driver's SQLITE_BUSY", busy, busy)
	}
	_, syntax := other.Exec("SELECT * FROM no_such_table")
	if !errors.As(syntax, &se) {
		t.Fatalf("bad query: %v (%T), want a driver error", syntax, syntax)
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"SQLITE_BUSY from the driver", busy, true},
		{"SQLITE_BUSY wrapped with its operation", fmt.Errorf("record notification batch: %w", busy), true},
		{"SQLITE_BUSY joined with another error", errors.Join(errors.New("other"), busy), true},
		{"deadline exceeded", fmt.Errorf("find signing key: %w", context.DeadlineExceeded), true},
		{"another driver error", syntax, false},
		{"only the text of a busy error", errors.New("database is locked (5) (SQLITE_BUSY)"), false},
		{"cancelled", context.Canceled, false},
		{"not found", ErrNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := markBusy(tt.err)
			if errors.Is(got, ErrBusy) != tt.want {
				t.Errorf("errors.Is(markBusy(%v), ErrBusy) = %v, want %v", tt.err, !tt.want, tt.want)
			}
			if got.Error() != tt.err.Error() || !errors.Is(got, tt.err) {
				t.Errorf("markBusy changed the error: %q, want %q in its chain", got, tt.err)
			}
			if wrapped := fmt.Errorf("outer: %w", got); errors.Is(wrapped, ErrBusy) != tt.want {
				t.Errorf("wrapped again, errors.Is(ErrBusy) = %v, want %v", !tt.want, tt.want)
			}
		})
	}
}

// TestRecordNotificationWhileLockedIsErrBusy: when another process holds the
// write lock past busy_timeout, the store says ErrBusy, naming the operation,
// and writes nothing; once the lock is gone the same notification goes in.
// (Its writer waits 200 ms for the lock, not production's 5 s.)
func TestRecordNotificationWhileLockedIsErrBusy(t *testing.T) {
	testdb.SkipOnPostgres(t, "holds SQLite's write lock from a second connection")
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	s, err := Open(ctx, path, WithBusyTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sess := mustSession(t, s, mustLink(t, s, "OC-1", "sandbox"), "tok-a")
	in := success("tok-a", "pay-1").input("OC-1")

	release := holdWriteLock(t, path)
	_, err = s.RecordNotification(ctx, in)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("RecordNotification while locked: %v, want ErrBusy", err)
	}
	if !strings.Contains(err.Error(), "record notification batch") {
		t.Errorf("error %q does not say what failed", err)
	}
	release()
	if n := countRows(t, s, &Notification{}); n != 0 {
		t.Fatalf("a busy store left %d notifications", n)
	}
	if _, err := s.RecordNotification(ctx, in); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	if got := sessionStatus(t, s, sess.ID); got != StatusPaid {
		t.Errorf("session = %s, want paid", got)
	}
}

// TestStoreErrorsNameTheOperation: a statement that fails for another reason
// than a lock is not ErrBusy and says what failed; a key lookup whose
// deadline passed is ErrBusy.
func TestStoreErrorsNameTheOperation(t *testing.T) {
	s := openTestStore(t)
	mustSession(t, s, mustLink(t, s, "OC-1", "sandbox"), "tok-a")
	refuseInserts(t, s, "boom", "notifications", "", "boom")
	_, err := s.RecordNotification(context.Background(), success("tok-a", "pay-1").input("OC-1"))
	if err == nil || errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "insert notifications: ") {
		t.Errorf("RecordNotification with a failing insert: %v, want a non-busy error naming the insert", err)
	}

	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	// A token not in memory (AddSession remembered tok-a's key), so the
	// lookup goes to SQL.
	if _, err := s.NotificationKey(ctx, "tok-unseen"); !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("NotificationKey past its deadline: %v, want ErrBusy", err)
	}
	if _, err := s.NotificationKey(context.Background(), "tok-nope"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrBusy) {
		t.Errorf("NotificationKey of an unknown session: %v, want ErrNotFound", err)
	}
}
