package models

import (
	"context"
	"etpay-dashboard/testdb"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/Santiago on machines without zoneinfo
)

// listStore is a fresh database with the list's indexes, opened again after
// creating them so that every pooled connection plans with them.
func listStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	path := testdb.URL(t, "list.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ensureSessionIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.ensureSessionIndexes(ctx); err != nil {
		t.Fatalf("ensureSessionIndexes is not idempotent: %v", err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// listRow is one hand-made session and its link.
type listRow struct {
	order   string
	amount  int64
	status  string
	mode    string
	email   string
	created time.Time
}

// listRows are made to tie: equal amounts, equal times, emails that share
// prefixes, an underscore that LIKE would take as a wildcard, and two rows one
// nanosecond either side of midnight in Santiago (UTC-3 in March).
func listRows() []listRow {
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	midnight := time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC) // 2026-03-11 00:00 in Santiago
	return []listRow{
		{"OC-1", 1000, StatusPaid, "live", "Ana.Perez@Shop.cl", t0},
		{"OC-2", 5000, StatusPending, "live", "ana_b@shop.cl", t0.Add(time.Hour)},
		{"OC-3", 5000, StatusFailed, "sandbox", "bob@shop.cl", t0.Add(time.Hour)},
		{"OC-4", 1000, StatusPaid, "sandbox", "anab@shop.cl", t0.Add(2 * time.Hour)},
		{"OC-5", 20000, StatusPaid, "live", "", t0.Add(3 * time.Hour)},
		{"OC-6", 5000, StatusPending, "live", "carla@shop.cl", t0.Add(3 * time.Hour)},
		{"OC-7", 700, StatusPaid, "live", "dani@shop.cl", midnight.Add(-time.Nanosecond)},
		{"OC-8", 9000, StatusPending, "live", "ANA@otro.cl", midnight},
		{"OC-10", 5000, StatusPaid, "live", "eva@shop.cl", midnight.Add(36 * time.Hour)},
	}
}

// insertListRows stores rows directly (times as given) and returns the
// sessions by order id. Session tokens are "ST-<order>", payment tokens of
// paid sessions "PT-<order>".
func insertListRows(t *testing.T, s *Store, rows []listRow) map[string]Session {
	t.Helper()
	out := map[string]Session{}
	for _, r := range rows {
		link := &Link{Code: "code-" + r.order, MerchantOrderID: r.order, Amount: r.amount, CustomerEmail: r.email, Status: LinkOpen, Mode: r.mode, CreatedAt: r.created}
		if err := s.write.Create(link).Error; err != nil {
			t.Fatal(err)
		}
		sess := Session{LinkID: link.ID, SessionToken: "ST-" + r.order, SignatureToken: "sig", Mode: r.mode, Status: r.status,
			MerchantOrderID: r.order, Amount: r.amount, CreatedAt: r.created.UTC()}
		if r.status == StatusPaid {
			sess.PaymentToken = "PT-" + r.order
		}
		if err := s.write.Create(&sess).Error; err != nil {
			t.Fatal(err)
		}
		out[r.order] = sess
	}
	return out
}

func orders(rows []Session) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.MerchantOrderID
	}
	return out
}

// expectedOrder sorts rows the way each sort promises, computed here
// independently of SQL: key first, then id, both in the sort's direction.
func expectedOrder(all []Session, sortBy string) []string {
	rows := slices.Clone(all)
	slices.SortFunc(rows, func(a, b Session) int {
		var c int
		switch sortBy {
		case SortAmount, SortAmountAsc:
			c = int(a.Amount - b.Amount)
		default:
			c = a.CreatedAt.Compare(b.CreatedAt)
		}
		if c == 0 {
			c = int(a.ID) - int(b.ID)
		}
		if sortBy == SortDateAsc || sortBy == SortAmountAsc {
			return c
		}
		return -c
	})
	return orders(rows)
}

func TestListSessionsFilters(t *testing.T) {
	s := listStore(t)
	ctx := context.Background()
	insertListRows(t, s, listRows())
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	mar10 := DayStart(2026, 3, 10, loc)
	mar11 := DayStart(2026, 3, 11, loc)
	mar12 := DayStart(2026, 3, 12, loc)
	tests := []struct {
		name   string
		filter SessionFilter
		want   []string // newest first
	}{
		{"everything", SessionFilter{}, []string{"OC-10", "OC-8", "OC-7", "OC-6", "OC-5", "OC-4", "OC-3", "OC-2", "OC-1"}},
		{"status paid", SessionFilter{Status: StatusPaid}, []string{"OC-10", "OC-7", "OC-5", "OC-4", "OC-1"}},
		{"status failed", SessionFilter{Status: StatusFailed}, []string{"OC-3"}},
		{"mode sandbox", SessionFilter{Mode: "sandbox"}, []string{"OC-4", "OC-3"}},
		{"status and mode", SessionFilter{Status: StatusPaid, Mode: "live"}, []string{"OC-10", "OC-7", "OC-5", "OC-1"}},
		{"order id, and the ones it is part of", SessionFilter{Q: "OC-1"}, []string{"OC-10", "OC-1"}},
		{"order id, exactly (viewers)", SessionFilter{Q: "OC-1", ExactOnly: true}, []string{"OC-1"}},
		{"two letters: the start of an order id", SessionFilter{Q: "oc"}, []string{"OC-10", "OC-8", "OC-7", "OC-6", "OC-5", "OC-4", "OC-3", "OC-2", "OC-1"}},
		{"two letters: the start of an email", SessionFilter{Q: "CA"}, []string{"OC-6"}},
		{"two letters are never matched inside", SessionFilter{Q: "ar"}, nil},
		{"amount", SessionFilter{Q: "5.000"}, []string{"OC-10", "OC-6", "OC-3", "OC-2"}},
		{"amounts are not searched by viewers", SessionFilter{Q: "5000", ExactOnly: true}, nil},
		{"payment_token", SessionFilter{Q: "PT-OC-5"}, []string{"OC-5"}},
		{"session_token", SessionFilter{Q: "ST-OC-3"}, []string{"OC-3"}},
		{"email prefix, any case", SessionFilter{Q: "ana"}, []string{"OC-8", "OC-4", "OC-2", "OC-1"}},
		{"email prefix in capitals", SessionFilter{Q: "ANA."}, []string{"OC-1"}},
		{"underscore is not a wildcard", SessionFilter{Q: "ana_"}, []string{"OC-2"}},
		{"percent is not a wildcard", SessionFilter{Q: "%"}, nil},
		{"email prefix up to the at sign", SessionFilter{Q: "bob@"}, []string{"OC-3"}},
		{"whole email", SessionFilter{Q: "carla@shop.cl"}, []string{"OC-6"}},
		{"any part of an email, any case", SessionFilter{Q: "shop.cl"}, []string{"OC-10", "OC-7", "OC-6", "OC-4", "OC-3", "OC-2", "OC-1"}},
		{"viewers never match parts of an email", SessionFilter{Q: "ana", ExactOnly: true}, nil},
		{"search and status", SessionFilter{Q: "ana", Status: StatusPaid}, []string{"OC-4", "OC-1"}},
		{"search and mode", SessionFilter{Q: "ana", Mode: "sandbox"}, []string{"OC-4"}},
		{"nothing matches", SessionFilter{Q: "nobody"}, nil},
		{"day of Mar 10 ends a nanosecond before Santiago midnight", SessionFilter{From: mar10, Until: mar11}, []string{"OC-7", "OC-6", "OC-5", "OC-4", "OC-3", "OC-2", "OC-1"}},
		{"day of Mar 11 starts at Santiago midnight", SessionFilter{From: mar11, Until: mar12}, []string{"OC-8"}},
		{"from only", SessionFilter{From: mar11}, []string{"OC-10", "OC-8"}},
		{"until only", SessionFilter{Until: mar11}, []string{"OC-7", "OC-6", "OC-5", "OC-4", "OC-3", "OC-2", "OC-1"}},
		{"dates and search", SessionFilter{Q: "ana", From: mar11}, []string{"OC-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Looked up, or walked as a broad search is: the same rows.
			for _, matches := range []int64{0, BroadSearch + 1} {
				rows, err := s.ListSessions(ctx, SessionPage{SessionFilter: tt.filter, Limit: 100, Matches: matches})
				if err != nil {
					t.Fatal(err)
				}
				if got := orders(rows); !slices.Equal(got, tt.want) {
					t.Errorf("matches %d: got %v, want %v", matches, got, tt.want)
				}
			}
			// The counts read the same rows.
			totals, err := s.CountSessions(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var paid int64
			for _, r := range listRows() {
				if r.status == StatusPaid && slices.Contains(tt.want, r.order) {
					paid += r.amount
				}
			}
			if !tt.filter.Active() {
				paid = 0 // the whole list is counted, not summed
			}
			if totals.Count != int64(len(tt.want)) || totals.Paid != paid || totals.Summed != tt.filter.Active() {
				t.Errorf("counted %+v, want %d sessions and %d paid (summed only when filtered)", totals, len(tt.want), paid)
			}
			// The export reads the same rows, with the link's email.
			var exported []string
			err = s.EachSession(ctx, tt.filter, func(r *SessionExport) error {
				exported = append(exported, r.MerchantOrderID)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(exported, tt.want) {
				t.Errorf("export got %v, want %v", exported, tt.want)
			}
		})
	}
}

func TestListSessionsSortAndKeysetPages(t *testing.T) {
	s := listStore(t)
	ctx := context.Background()
	insertListRows(t, s, listRows())
	filters := map[string]SessionFilter{
		"no filter": {},
		"live":      {Mode: "live"},
		"paid":      {Status: StatusPaid},
		"search":    {Q: "ana"},
		"amount":    {Q: "5000"},
	}
	for _, sortBy := range SessionSorts {
		for fname, f := range filters {
			f.Sort = sortBy
			all, err := s.ListSessions(ctx, SessionPage{SessionFilter: f, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			want := expectedOrder(all, sortBy)
			if got := orders(all); !slices.Equal(got, want) {
				t.Errorf("%s, %s: order %v, want %v", sortBy, fname, got, want)
			}
			// As the page handler reads it: cut in Go from what the count found.
			counted, err := s.CountSessions(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{1, 2, 3} {
				for _, matches := range []int64{0, BroadSearch + 1} { // looked up, or walked
					t.Run(fmt.Sprintf("%s/%s/pages of %d/matches %d", sortBy, fname, size, matches), func(t *testing.T) {
						keysetPages(t, s, SessionPage{SessionFilter: f, Limit: size, Matches: matches}, all, want)
					})
				}
				t.Run(fmt.Sprintf("%s/%s/pages of %d/counted", sortBy, fname, size), func(t *testing.T) {
					keysetPages(t, s, SessionPage{SessionFilter: f, Limit: size, Found: &counted.Found}, all, want)
				})
			}
		}
	}
}

// keysetPages pages through p's list forward with after= from the first
// page, and back with before= from every row, and checks both against want.
func keysetPages(t *testing.T, s *Store, p SessionPage, all []Session, want []string) {
	t.Helper()
	ctx := context.Background()
	size, f := p.Limit, p.SessionFilter
	var got []string
	seen := map[uint]bool{}
	var after *SessionCursor
	for page := 0; page <= len(all); page++ {
		p.After = after
		rows, err := s.ListSessions(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if seen[r.ID] {
				t.Fatalf("row %s on two pages", r.MerchantOrderID)
			}
			seen[r.ID] = true
		}
		got = append(got, orders(rows)...)
		if len(rows) < size {
			break
		}
		// The cursor travels as text, so round-trip it like a browser would.
		cur, err := ParseSessionCursor(f.CursorAfter(&rows[len(rows)-1]).String())
		if err != nil {
			t.Fatal(err)
		}
		after = &cur
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}
	// Back from each row: the size rows shown just before it, in list order.
	p.After = nil
	for i := range all {
		cur, err := ParseSessionCursor(f.CursorAfter(&all[i]).String())
		if err != nil {
			t.Fatal(err)
		}
		p.Before = &cur
		rows, err := s.ListSessions(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := orders(rows), want[max(0, i-size):i]; !slices.Equal(got, want) {
			t.Errorf("before %s: %v, want %v", all[i].MerchantOrderID, got, want)
		}
	}
}

func TestEachSessionExportsEmail(t *testing.T) {
	s := listStore(t)
	insertListRows(t, s, listRows())
	emails := map[string]string{}
	err := s.EachSession(context.Background(), SessionFilter{Sort: SortDateAsc}, func(r *SessionExport) error {
		emails[r.MerchantOrderID] = r.CustomerEmail
		if r.CreatedAt.IsZero() || r.SessionToken == "" {
			t.Errorf("row %s lost its session fields: %+v", r.MerchantOrderID, r.Session)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if emails["OC-1"] != "Ana.Perez@Shop.cl" || emails["OC-5"] != "" || len(emails) != 9 {
		t.Fatalf("emails = %v", emails)
	}
}

func TestParseSessionCursor(t *testing.T) {
	good := map[string]SessionCursor{
		"0_1":                     {Key: 0, ID: 1},
		"1773144000000000000_42":  {Key: 1773144000000000000, ID: 42},
		"5000_7":                  {Key: 5000, ID: 7},
		"9223372036854775807_999": {Key: 9223372036854775807, ID: 999},
	}
	for in, want := range good {
		got, err := ParseSessionCursor(in)
		if err != nil || got != want {
			t.Errorf("ParseSessionCursor(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), in)
		}
	}
	for _, in := range []string{"", "_", "1_", "_1", "1", "-1_2", "1_-2", "+1_2", "1_0", " 1_2", "1_2 ", "1_2_3",
		"1e3_2", "0x1_2", "1.5_2", "9223372036854775808_1", "1_4294967296", "1_2;DROP TABLE sessions", "١_٢"} {
		if got, err := ParseSessionCursor(in); err == nil {
			t.Errorf("ParseSessionCursor(%q) = %+v, want an error", in, got)
		}
	}
}

func TestPrefixRange(t *testing.T) {
	lo, hi := prefixRange("Ana.P")
	if lo != "ana.p" || hi != "ana.p\xff" {
		t.Fatalf("prefixRange = %q, %q", lo, hi)
	}
}

// TestSessionQueriesUseIndexes reads SQLite's plan for each list query: none
// may scan a table without an index; a search's lookup is a union of index
// lookups (the text through links_fts), and the page of a narrow one reads
// the rows found by id; a broad one's page, like every page without a
// search, comes off an index already in order.
func TestSessionQueriesUseIndexes(t *testing.T) {
	testdb.SkipOnPostgres(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	s := listStore(t)
	cursor := &pageCursor{SessionCursor: SessionCursor{Key: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC).UnixNano(), ID: 10}}
	back := &pageCursor{SessionCursor: cursor.SessionCursor, back: true}
	tests := []struct {
		name   string
		filter SessionFilter
		cur    *pageCursor
		want   []string // in the plan, besides the rules above
	}{
		{"first page", SessionFilter{}, nil, nil},
		{"next page", SessionFilter{}, cursor, nil},
		{"previous page", SessionFilter{}, back, nil},
		{"oldest first", SessionFilter{Sort: SortDateAsc}, cursor, nil},
		{"oldest first, previous page", SessionFilter{Sort: SortDateAsc}, back, nil},
		{"by amount", SessionFilter{Sort: SortAmount}, nil, nil},
		{"by amount, next page", SessionFilter{Sort: SortAmountAsc}, &pageCursor{SessionCursor: SessionCursor{Key: 5000, ID: 3}}, nil},
		{"status filter", SessionFilter{Status: StatusPaid}, nil, nil},
		{"status filter, next page", SessionFilter{Status: StatusPaid}, cursor, nil},
		{"status filter by amount", SessionFilter{Status: StatusFailed, Sort: SortAmount}, nil, nil},
		{"mode filter", SessionFilter{Mode: "live"}, cursor, nil},
		{"mode filter by amount", SessionFilter{Mode: "sandbox", Sort: SortAmountAsc}, nil, nil},
		{"date range", SessionFilter{From: cursor.at(), Until: cursor.at().Add(24 * time.Hour)}, nil, nil},
		{"search by payment_token (viewer)", SessionFilter{Q: "PT-abc", ExactOnly: true}, nil, []string{"idx_sessions_payment_token_set"}},
		{"search by order id", SessionFilter{Q: "OC-1"}, nil, []string{"idx_sessions_merchant_order_id", "links_fts VIRTUAL TABLE INDEX 0:M"}},
		{"search by session_token", SessionFilter{Q: "0123456789abcdef"}, nil, []string{"idx_sessions_session_token", "links_fts VIRTUAL TABLE INDEX 0:M"}},
		{"search by email part", SessionFilter{Q: "gmail.com"}, nil, []string{"links_fts VIRTUAL TABLE INDEX 0:M"}},
		{"search by amount", SessionFilter{Q: "$12.990"}, nil, []string{"idx_sessions_amount (amount=?)", "links_fts VIRTUAL TABLE INDEX 0:M"}},
		{"search by two letters", SessionFilter{Q: "an"}, nil, []string{"idx_links_order_nocase", "idx_links_customer_email_nocase"}},
		{"search with status, mode, dates, amount sort and cursor",
			SessionFilter{Q: "ana", Status: StatusPaid, Mode: "live", From: cursor.at(), Sort: SortAmount}, &pageCursor{SessionCursor: SessionCursor{Key: 1, ID: 1}}, nil},
		{"search, previous page", SessionFilter{Q: "ana"}, back, nil},
	}
	for _, tt := range tests {
		sets := []*matchSet{nil}
		if tt.filter.Q != "" {
			sets = append(sets, &matchSet{ids: []uint{3, 1, 2}}) // what a narrow search found
		}
		for _, set := range sets {
			for _, columns := range []string{sessionColumns, exportColumns} {
				limit := 51
				if columns == exportColumns {
					limit = exportChunk
				}
				query, args := sessionQuery(columns, tt.filter, tt.cur, limit, set)
				name := fmt.Sprintf("%s (found %v, %s)", tt.name, set != nil, columns)
				text := explain(t, s, query, args...)
				checkListPlan(t, name, text, set != nil)
				// Walked, a short prefix reads each row's own link: it may
				// match every link, too many to gather first.
				if set == nil && len(tt.filter.Q) < minSubstring && tt.filter.Q != "" &&
					(!strings.Contains(text, "SEARCH p USING INTEGER PRIMARY KEY") || strings.Contains(text, "LIST SUBQUERY")) {
					t.Errorf("%s: a walked prefix gathers links first:\n%s", name, text)
				}
			}
		}
		if tt.filter.Q != "" {
			sr := parseSearch(tt.filter.Q, tt.filter.ExactOnly)
			lk := sessionLookup(tt.filter, sr, testFTS(tt.filter))
			checkLookupPlan(t, tt.name, explain(t, s, lk.sql(), lk.args...), tt.want)
			if sr.words != nil { // the index deciding alone (wholeWords)
				lk := sessionLookup(tt.filter, sr, textQueries{whole: ftsString(sr.words[0])})
				checkLookupPlan(t, tt.name+" (whole words)", explain(t, s, lk.sql(), lk.args...),
					[]string{"links_fts VIRTUAL TABLE INDEX 0:M", "idx_sessions_link_id (link_id=?)"})
			}
		}
	}
}

// testFTS is an FTS5 query for f's words, as textLookup would choose it.
func testFTS(f SessionFilter) textQueries {
	if sr := parseSearch(f.Q, f.ExactOnly); sr.words != nil {
		return textQueries{fts: ftsString(trigrams(sr.words)[0].text)}
	}
	return textQueries{}
}

// checkLookupPlan: a search's lookup is a union of index lookups, the text
// through links_fts, each way of matching through its own index (want).
func checkLookupPlan(t *testing.T, name, text string, want []string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		// SCAN (subquery-n), or SCAN branch (the alias PostgreSQL needs), reads a branch's rows as they come.
		if strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, "VIRTUAL TABLE INDEX 0:M") && !strings.HasPrefix(line, "SCAN (subquery-") && line != "SCAN branch" {
			t.Errorf("%s: the lookup scans %q:\n%s", name, line, text)
		}
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s: the lookup does not use %s:\n%s", name, w, text)
		}
	}
}

// checkListPlan applies the rules of TestSessionQueriesUseIndexes to a plan.
func checkListPlan(t *testing.T, name, text string, lookup bool) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		fullScan := strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, " USING ") && !strings.Contains(line, "VIRTUAL TABLE INDEX 0:M")
		if fullScan {
			t.Errorf("%s: full table scan %q in plan:\n%s", name, line, text)
		}
		if lookup && strings.HasPrefix(line, "SCAN ") {
			t.Errorf("%s: a found search walks an index %q:\n%s", name, line, text)
		}
	}
	if lookup && !strings.Contains(text, "USING INTEGER PRIMARY KEY (rowid=?)") {
		t.Errorf("%s: the rows found are not read by id:\n%s", name, text)
	}
	if !lookup && strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("%s: sorts the whole result instead of reading an index in order:\n%s", name, text)
	}
}

// TestSessionCountsUseIndexes: the list's counts read indexes only, and
// without a search or with status and mode, a covering one.
func TestSessionCountsUseIndexes(t *testing.T) {
	testdb.SkipOnPostgres(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	s := listStore(t)
	day := time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		filter SessionFilter
		want   string
	}{
		{"status", SessionFilter{Status: StatusPaid}, "COVERING INDEX idx_sessions_status_mode_amount (status=?)"},
		{"status and mode", SessionFilter{Status: StatusPending, Mode: "live"}, "COVERING INDEX idx_sessions_status_mode_amount (status=? AND mode=?)"},
		{"mode", SessionFilter{Mode: "live"}, "COVERING INDEX idx_sessions_status_mode_amount"},
		{"a day", SessionFilter{From: day, Until: day.Add(24 * time.Hour)}, "idx_sessions_created_id_status (created_at>? AND created_at<?)"},
		{"search", SessionFilter{Q: "gmail.com", Status: StatusPaid}, "links_fts VIRTUAL TABLE INDEX 0:M"},
	}
	for _, tt := range tests {
		query, args := sessionCountQuery(tt.filter)
		if tt.filter.Q != "" { // counted from its lookup
			lk := sessionLookup(tt.filter, parseSearch(tt.filter.Q, false), testFTS(tt.filter))
			query, args = lk.sql(), lk.args
		}
		text := explain(t, s, query, args...)
		if !strings.Contains(text, tt.want) {
			t.Errorf("%s: plan does not contain %q:\n%s", tt.name, tt.want, text)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, " USING ") && !strings.Contains(line, "VIRTUAL TABLE INDEX 0:M") &&
				!strings.HasPrefix(line, "SCAN (subquery-") && line != "SCAN branch" {
				t.Errorf("%s: full table scan %q:\n%s", tt.name, line, text)
			}
		}
	}
}

// What a narrow search found is read (and summed) by id, never by walking
// the paid sessions' index.
func TestFoundRowsAreReadByID(t *testing.T) {
	testdb.SkipOnPostgres(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	s := listStore(t)
	text := explain(t, s, foundRowsQuery(&matchSet{ids: []uint{7, 3}}))
	if !strings.Contains(text, "SEARCH sessions USING INTEGER PRIMARY KEY (rowid=?)") || strings.Contains(text, "INDEX idx_") {
		t.Errorf("plan:\n%s", text)
	}
}

func (c *SessionCursor) at() time.Time { return time.Unix(0, c.Key).UTC() }
