package main

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
)

// compareDatabases reads every table of the SQLite file (but its search
// index) and of the target, row by row, and fails on any difference: every
// value, as each engine gives it back, must be the same, times to the
// microsecond PostgreSQL keeps.
func compareDatabases(t *testing.T, src, target string) {
	t.Helper()
	ctx := context.Background()
	lite, err := sql.Open(sqlite.DriverName, "file:"+src+"?_pragma=query_only(1)")
	must(t, err)
	defer lite.Close()
	pg, err := pgx.Connect(ctx, target)
	must(t, err)
	defer pg.Close(ctx)
	tables := sqliteStrings(t, lite, "SELECT name FROM sqlite_master WHERE type = 'table' "+
		"AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'links_fts%' ORDER BY name")
	if len(tables) < 15 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	total := 0
	for _, table := range tables {
		cols := sqliteStrings(t, lite, "SELECT name FROM pragma_table_info('"+table+"') ORDER BY cid")
		q := `SELECT "` + strings.Join(cols, `", "`) + `" FROM "` + table + `"`
		want := sqliteRows(t, lite, q)
		got := pgRows(t, pg, q)
		if len(want) != len(got) {
			t.Errorf("%s: %d rows on SQLite, %d on PostgreSQL", table, len(want), len(got))
			continue
		}
		for i := range want {
			if want[i] != got[i] {
				t.Errorf("%s (%s):\nSQLite     %s\nPostgreSQL %s", table, strings.Join(cols, ","), want[i], got[i])
				break
			}
		}
		total += len(want)
	}
	if total < 800 {
		t.Errorf("only %d rows compared", total)
	}
}

func sqliteStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	must(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		must(t, rows.Scan(&s))
		out = append(out, s)
	}
	must(t, rows.Err())
	return out
}

// sqliteRows and pgRows give a table's rows as text, sorted.
func sqliteRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	must(t, err)
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, rows.Scan(ptrs...))
		out = append(out, rowText(vals))
	}
	must(t, rows.Err())
	slices.Sort(out)
	return out
}

func pgRows(t *testing.T, pg *pgx.Conn, q string) []string {
	t.Helper()
	rows, err := pg.Query(context.Background(), q)
	must(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		must(t, err)
		out = append(out, rowText(vals))
	}
	must(t, rows.Err())
	slices.Sort(out)
	return out
}

// rowText spells a row the same way whichever engine read it: SQLite's
// 0/1 as booleans cannot be told from integers, so both are numbers.
func rowText(vals []any) string {
	cells := make([]string, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
			cells[i] = "NULL"
		case bool:
			cells[i] = map[bool]string{true: "1", false: "0"}[x]
		case time.Time:
			cells[i] = x.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		case []byte:
			cells[i] = fmt.Sprintf("%q", x)
		case string:
			cells[i] = fmt.Sprintf("%q", x)
		default:
			cells[i] = fmt.Sprint(x)
		}
	}
	return strings.Join(cells, "|")
}

// sameSessions opens the app's Store on both databases and finds the same
// sessions (the list's first page, and searches: PostgreSQL's trigram indexes were built
// from the copied rows), and a new link on the target after the copied ids.
func sameSessions(t *testing.T, src, target string) {
	t.Helper()
	ctx := context.Background()
	list := func(url, q string) []string {
		s, err := models.Open(ctx, url, testStoreOptions...)
		must(t, err)
		defer s.Close()
		page, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: models.SessionFilter{Q: q}, Limit: 1000})
		must(t, err)
		var out []string
		for _, x := range page {
			out = append(out, fmt.Sprintf("%d %s %s %d %s", x.ID, x.SessionToken, x.Status, x.Amount,
				x.CreatedAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)))
		}
		return out
	}
	for _, q := range []string{"", "ñandú", "rojos", "12.990", "tok-1"} {
		want, got := list(src, q), list(target, q)
		if len(want) == 0 {
			t.Errorf("search %q finds %d sessions on SQLite", q, len(want))
		}
		if !slices.Equal(want, got) {
			t.Errorf("search %q: SQLite %d sessions, PostgreSQL %d:\n%v\n%v", q, len(want), len(got), want[:min(3, len(want))], got[:min(3, len(got))])
		}
	}
	s, err := models.Open(ctx, target, testStoreOptions...)
	must(t, err)
	defer s.Close()
	l, err := s.CreateLink(ctx, models.LinkInput{MerchantOrderID: "NUEVA-1", Amount: 5000, Mode: "sandbox"})
	must(t, err)
	if l.ID != 302 {
		t.Errorf("a new link on the target got id %d, want 302 (after the copied ones)", l.ID)
	}
}

// dumpTarget is every table of the target's schema with its row count,
// and its links.
func dumpTarget(t *testing.T, target string) string {
	t.Helper()
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, target)
	must(t, err)
	defer pg.Close(ctx)
	rows, err := pg.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1")
	must(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	must(t, err)
	var b strings.Builder
	for _, table := range tables {
		var n int64
		must(t, pg.QueryRow(ctx, `SELECT COUNT(*) FROM "`+table+`"`).Scan(&n))
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	var links string
	must(t, pg.QueryRow(ctx, "SELECT string_agg(id || ':' || merchant_order_id, ',') FROM links").Scan(&links))
	return b.String() + links
}
