package models

import (
	"context"
	"errors"
	"etpay-dashboard/testdb"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestParseLocalDateTime(t *testing.T) {
	scl, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want string // RFC 3339 in Santiago, or empty for an error
		err  error
	}{
		{name: "an ordinary evening", in: "2026-12-31T18:00", want: "2026-12-31T18:00:00-03:00"},
		{name: "with seconds", in: "2026-06-30T09:15:30", want: "2026-06-30T09:15:30-04:00"},
		{name: "with a space", in: "2026-06-30 09:15", want: "2026-06-30T09:15:00-04:00"},
		{name: "the past is allowed", in: "2001-01-01T00:00", want: "2001-01-01T00:00:00-03:00"},
		{name: "first year", in: "2000-01-01T00:00", want: "2000-01-01T00:00:00-03:00"},
		{name: "last minute of the last year", in: "2100-12-31T20:59", want: "2100-12-31T20:59:00-03:00"},
		{name: "never, typed as 9999", in: "9999-12-31T21:00", err: ErrTimeRange},
		{name: "last year, late evening (2101 in UTC)", in: "2100-12-31T21:00", err: ErrTimeRange},
		{name: "year 1999", in: "1999-12-31T23:59", err: ErrTimeRange},
		{name: "year 1", in: "0001-01-01T00:00", err: ErrTimeRange},
		{name: "five-digit year", in: "10000-01-01T00:00", err: ErrTimeFormat},
		{name: "not a date", in: "mañana", err: ErrTimeFormat},
		{name: "31 February", in: "2026-02-31T10:00", err: ErrTimeFormat},
		{name: "hour 24", in: "2026-05-01T24:00", err: ErrTimeFormat},
		{name: "offset given", in: "2026-05-01T10:00-04:00", err: ErrTimeFormat},
		// Chile's clocks went forward at 24:00 on 2026-09-05 (to 01:00 on
		// the 6th): 00:30 never happened; the next valid minute is 01:00.
		{name: "in the spring-forward gap", in: "2026-09-06T00:30", want: "2026-09-06T01:00:00-03:00"},
		{name: "start of the gap", in: "2026-09-06T00:00", want: "2026-09-06T01:00:00-03:00"},
		{name: "just after the gap", in: "2026-09-06T01:00", want: "2026-09-06T01:00:00-03:00"},
		// They went back at 24:00 on 2026-04-04 (to 23:00 on the 4th):
		// 23:30 happened twice; the first is taken.
		{name: "in the fall-back overlap", in: "2026-04-04T23:30", want: "2026-04-04T23:30:00-03:00"},
		{name: "after the overlap", in: "2026-04-05T00:30", want: "2026-04-05T00:30:00-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLocalDateTime(tt.in, scl)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v (got %v)", err, tt.err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := got.In(scl).Format(time.RFC3339); s != tt.want {
				t.Fatalf("got %s, want %s", s, tt.want)
			}
		})
	}
}

// A database where an older version stored expiries that cannot be read back
// is repaired when opened: those expiries are cleared (what "never" meant),
// each with an audit entry; readable ones are left alone.
func TestOpenClearsUnreadableExpiries(t *testing.T) {
	testdb.SkipOnPostgres(t, "text stored in SQLite's time columns; a timestamptz is always readable")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	stored := []string{"10000-01-01 00:00:00+00:00", "10000-01-01T00:00:00Z", "1999-12-31T23:00:00Z", "mañana", "2030-05-01T12:00:00Z"}
	var ids []uint
	for i, v := range stored {
		l := mustLink(t, s, "OC-"+strconv.Itoa(i), "live")
		if err := s.write.Exec("UPDATE links SET expires_at = ? WHERE id = ?", v, l.ID).Error; err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	// As an older version left it: repairs run when a start upgrades it.
	if err := s.write.Exec("UPDATE settings SET value = '0' WHERE key = ?", schemaVersionKey).Error; err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, id := range ids {
		l, err := s.LinkByID(ctx, id)
		if err != nil {
			t.Fatalf("link with stored expiry %q unreadable after Open: %v", stored[i], err)
		}
		if last := i == len(ids)-1; last != (l.ExpiresAt != nil) {
			t.Errorf("stored %q now reads %v", stored[i], l.ExpiresAt)
		}
	}
	var n int64
	s.read.Model(&AuditEntry{}).Where("action = ?", AuditExpiryRepaired).Count(&n)
	if n != 4 {
		t.Errorf("audit entries = %d, want 4", n)
	}
}
