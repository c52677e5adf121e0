package models

import (
	"context"
	"etpay-dashboard/testdb"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"
)

// explain returns SQLite's plan for a statement on the read pool.
func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	var plan []struct{ Detail string }
	if err := s.read.Raw("EXPLAIN QUERY PLAN "+query, args...).Scan(&plan).Error; err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	lines := make([]string, len(plan))
	for i, p := range plan {
		lines[i] = p.Detail
	}
	return strings.Join(lines, "\n")
}

// TestHotPathQueriesUseIndexes checks the plans of the queries every
// notification and every staff page runs: each must be an index lookup.
func TestHotPathQueriesUseIndexes(t *testing.T) {
	testdb.SkipOnPostgres(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	s := listStore(t)
	tests := []struct {
		name, query string
		args        []any
		want        string
	}{
		{"signing key by session_token", "SELECT signature_token FROM sessions WHERE session_token = ? LIMIT 1", []any{"x"},
			"SEARCH sessions USING INDEX idx_sessions_session_token (session_token=?)"},
		{"rejected bodies seen before", rejectedByBodyQuery(2), []any{"h", "i"},
			"SEARCH notifications USING INDEX idx_notifications_rejected_body (body_hash=?)"},
		{"notifications of a session", "SELECT * FROM notifications WHERE session_id = ? ORDER BY id", []any{1},
			"SEARCH notifications USING INDEX idx_notifications_session_id (session_id=?)"},
		{"staff session", "SELECT * FROM staff_sessions WHERE id = ? LIMIT 1", []any{"x"}, "USING INDEX"},
		{"paid in a window (overview)", "SELECT SUM(amount) FROM " + paidSessions + " WHERE status = 'paid' AND paid_at >= ? AND paid_at < ?",
			[]any{"2026-01-01", "2026-02-01"}, "SEARCH sessions USING INDEX idx_sessions_paid (paid_at>? AND paid_at<?)"},
		// The notification writer's group statements (see noteGroup).
		{"a group's sessions", sessionsByTokenQuery(3), []any{"a", "b", "c"},
			"SEARCH s USING INDEX idx_sessions_session_token (session_token=?)"},
		{"a group's sessions: their links", sessionsByTokenQuery(3), []any{"a", "b", "c"},
			"SEARCH l USING INTEGER PRIMARY KEY (rowid=?)"},
		{"a group's sessions: their links' queued emails", sessionsByTokenQuery(3), []any{"a", "b", "c"},
			"SEARCH o USING INDEX idx_outbox_messages_link_id (link_id=?)"},
		{"a group's stored results", storedResultsQuery(3), []any{1, 2, 3},
			"SEARCH notifications USING INDEX idx_notifications_session_id (session_id=?)"},
		{"a group's session updates", movedSessionsQuery(valueRows(2, 10)), make([]any, 20),
			"SEARCH sessions USING INTEGER PRIMARY KEY (rowid=?)"},
		{"a group's paid links' emails withdrawn", withdrawEmailsQuery(2), []any{MailWithdrawn, "t", MailLink, MailReminder, MailQueued, "t", 1, 2},
			"SEARCH outbox_messages USING INDEX idx_outbox_messages_link_id (link_id=?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(t, s, tt.query, tt.args...)
			if !strings.Contains(plan, tt.want) {
				t.Errorf("plan does not contain %q:\n%s", tt.want, plan)
			}
			for _, line := range strings.Split(plan, "\n") {
				// Scanning the group's own VALUES is expected.
				if strings.HasPrefix(line, "SCAN ") && line != "SCAN v" && !strings.HasSuffix(line, "CONSTANT ROWS") {
					t.Errorf("plan scans: %q\n%s", line, plan)
				}
			}
		})
	}
}

// countQueries counts the statements the read pool runs while fn runs.
func countQueries(t *testing.T, s *Store, fn func()) int64 {
	t.Helper()
	var n atomic.Int64
	count := func(*gorm.DB) { n.Add(1) }
	cb := s.read.Callback()
	for name, err := range map[string]error{
		"query": cb.Query().After("gorm:query").Register("test:count_query", count),
		"row":   cb.Row().After("gorm:row").Register("test:count_row", count),
		"raw":   cb.Raw().After("gorm:raw").Register("test:count_raw", count),
	} {
		if err != nil {
			t.Fatalf("register %s callback: %v", name, err)
		}
	}
	t.Cleanup(func() {
		_ = cb.Query().Remove("test:count_query")
		_ = cb.Row().Remove("test:count_row")
		_ = cb.Raw().Remove("test:count_raw")
	})
	fn()
	return n.Load()
}

// TestSessionPageIsOneQuery guards against N+1: a page of 50 sessions, with
// or without a search or a cursor, and a whole export, are one statement each.
// A search is looked up once per request, by the count: its page reads what
// the count found; looked up by the page itself, it costs two statements
// more (the trigrams' probe and the lookup), whatever it matches; one fewer
// on PostgreSQL, which probes only a search that spells an amount too
// (searchTextQueries).
func TestSessionPageIsOneQuery(t *testing.T) {
	s := listStore(t)
	ctx := context.Background()
	for i := range 60 {
		link := mustLink(t, s, "OC-N1-"+itoa(i), "sandbox")
		mustSession(t, s, link, "tok-n1-"+itoa(i))
	}
	counted, err := s.CountSessions(ctx, SessionFilter{Q: "OC-N1-7"})
	if err != nil || counted.Count != 1 {
		t.Fatalf("OC-N1-7: %+v, %v", counted, err)
	}
	tests := []struct {
		name string
		run  func() int
	}{
		{"first page", func() int {
			rows, err := s.ListSessions(ctx, SessionPage{Limit: 51})
			must(t, err)
			return len(rows)
		}},
		{"next page", func() int {
			first, err := s.ListSessions(ctx, SessionPage{Limit: 50})
			must(t, err)
			cur := SessionFilter{}.CursorAfter(&first[len(first)-1])
			rows, err := s.ListSessions(ctx, SessionPage{After: &cur, Limit: 51})
			must(t, err)
			return len(rows)
		}},
		{"search", func() int {
			rows, err := s.ListSessions(ctx, SessionPage{SessionFilter: SessionFilter{Q: "OC-N1-7"}, Limit: 51, Found: &counted.Found})
			must(t, err)
			return len(rows)
		}},
		{"search looked up by the page", func() int {
			rows, err := s.ListSessions(ctx, SessionPage{SessionFilter: SessionFilter{Q: "OC-N1-7"}, Limit: 51})
			must(t, err)
			return len(rows)
		}},
		{"export", func() int {
			n := 0
			must(t, s.EachSession(ctx, SessionFilter{}, func(*SessionExport) error { n++; return nil }))
			return n
		}},
	}
	want := map[string]int64{"first page": 1, "next page": 2, "search": 1, "search looked up by the page": 3, "export": 1}
	if s.d.postgres {
		want["search looked up by the page"] = 2
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rows int
			got := countQueries(t, s, func() { rows = tt.run() })
			if rows == 0 {
				t.Fatal("no rows: the count would prove nothing")
			}
			if got != want[tt.name] {
				t.Errorf("%s ran %d queries for %d rows, want %d", tt.name, got, rows, want[tt.name])
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
