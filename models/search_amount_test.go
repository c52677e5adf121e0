package models

import (
	"context"
	"etpay-dashboard/testdb"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// amountStore holds one link with n sessions of 777 pesos, one in three
// paid, a minute apart, ten of 776 and 778 pesos among them, and a link
// OC-777 of another amount (whose order id holds 777 too).
func amountStore(t *testing.T, n int) *Store {
	t.Helper()
	s := listStore(t)
	l := mustLink(t, s, "AMOUNT-1", "live")
	mustLink(t, s, "OC-777", "live")
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	err := s.write.Transaction(func(tx *gorm.DB) error {
		for i := range n {
			status := StatusPending
			if i%3 == 0 {
				status = StatusPaid
			}
			// Every tenth one shares its date with the one before: the page
			// order falls back on the id.
			at := start.Add(time.Duration(i-i%10/9) * time.Minute)
			if err := tx.Exec("INSERT INTO sessions (link_id, session_token, signature_token, mode, status, merchant_order_id, amount, created_at, updated_at) "+
				"VALUES (?, ?, 'sig', 'live', ?, 'AMOUNT-1', 777, ?, ?)", l.ID, fmt.Sprintf("ST-A-%d", i), status, at, at).Error; err != nil {
				return err
			}
		}
		// Neighbours of another amount, among the same dates.
		for i := range 10 {
			at := start.Add(time.Duration(i*n/10) * time.Minute)
			if err := tx.Exec("INSERT INTO sessions (link_id, session_token, signature_token, mode, status, merchant_order_id, amount, created_at, updated_at) "+
				"VALUES (?, ?, 'sig', 'live', 'paid', 'AMOUNT-1', ?, ?, ?)", l.ID, fmt.Sprintf("ST-B-%d", i), 776+2*(i%2), at, at).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantAmountPage is the sessions of 777 in f's order, from all of them.
func wantAmountPage(t *testing.T, s *Store, f SessionFilter) []uint {
	t.Helper()
	var rows []Session
	order := map[string]string{SortDate: "created_at DESC, id DESC", SortDateAsc: "created_at, id", SortAmount: "id DESC", SortAmountAsc: "id"}[f.Sort]
	if err := s.read.Raw("SELECT * FROM sessions WHERE amount = 777 ORDER BY " + order).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	ids := make([]uint, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// An amount typed alone is counted, summed and paged from its indexes, with
// the same answers as reading its sessions (as "777", which a link's text
// holds too, is): narrow (counted and summed) and broad (more than
// BroadSearch), in every order, both ways, and exported.
func TestAmountAlone(t *testing.T) {
	for _, n := range []int{90, BroadSearch + 60} {
		s := amountStore(t, n)
		ctx := context.Background()
		for _, q := range []string{"$777", "777"} {
			f := SessionFilter{Q: q}
			totals, err := s.CountSessions(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			// 777 is in the order id OC-777 too (a link with no session):
			// the same sessions, not found as the amount alone.
			if alone := q == "$777"; totals.set.amountAlone() != alone {
				t.Fatalf("%d sessions, %q: read as the amount alone: %v, want %v", n, q, !alone, alone)
			}
			paid := int64((n+2)/3) * 777
			if broad := n > BroadSearch; totals.More != broad || (!broad && (totals.Count != int64(n) || totals.Paid != paid || !totals.Summed)) {
				t.Errorf("%d sessions, %q: %+v; want %d, %d paid (broad %v)", n, q, totals, n, paid, broad)
			}
			for _, sortBy := range SessionSorts {
				f.Sort = sortBy
				checkAmountPages(t, s, f, &totals.Found, wantAmountPage(t, s, f))
			}
			exported := 0
			if err := s.EachSession(ctx, f, func(*SessionExport) error { exported++; return nil }); err != nil || exported != n {
				t.Errorf("%q: exported %d, %v; want %d", q, exported, err, n)
			}
		}
	}
}

// checkAmountPages reads f's pages of 40 both ways and compares them with want.
func checkAmountPages(t *testing.T, s *Store, f SessionFilter, found *Found, want []uint) {
	t.Helper()
	ctx := context.Background()
	var got []uint
	var cur *SessionCursor
	for len(got) < len(want) {
		rows, err := s.ListSessions(ctx, SessionPage{SessionFilter: f, After: cur, Limit: 40, Found: found})
		if err != nil || len(rows) == 0 {
			t.Fatalf("%s: page after %d rows: %d, %v", f.Sort, len(got), len(rows), err)
		}
		for i := range rows {
			got = append(got, rows[i].ID)
		}
		c := f.CursorAfter(&rows[len(rows)-1])
		cur = &c
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: pages %v\nwant %v", f.Sort, got, want)
	}
	var lastRow Session
	if err := s.read.Raw("SELECT * FROM sessions WHERE id = ?", want[len(want)-1]).Scan(&lastRow).Error; err != nil {
		t.Fatal(err)
	}
	last := f.CursorAfter(&lastRow)
	back, err := s.ListSessions(ctx, SessionPage{SessionFilter: f, Before: &last, Limit: 40, Found: found})
	if err != nil || len(back) != 40 || back[0].ID != want[len(want)-41] || back[39].ID != want[len(want)-2] {
		t.Errorf("%s: the page before the last row: %d rows, %v", f.Sort, len(back), err)
	}
}

// An amount that is also an exact id, or that the text of a link holds, is
// not the amount alone: it is found both ways.
func TestAmountAndMore(t *testing.T) {
	s := amountStore(t, 30)
	ctx := context.Background()
	mustSession(t, s, mustLink(t, s, "$777", "live"), "ST-EXACT")
	for _, q := range []string{"$777", "777"} {
		totals, err := s.CountSessions(ctx, SessionFilter{Q: q})
		if err != nil || totals.set.amountAlone() {
			t.Fatalf("%q: %+v, %v; the order id $777 matches too", q, totals, err)
		}
		if want := int64(31); totals.Count != want {
			t.Errorf("%q: %d sessions, want %d", q, totals.Count, want)
		}
	}
}

// A page of an amount alone walks idx_sessions_amount_created (dates) or
// idx_sessions_amount (amounts: ids), in order; and recording a
// notification (its UPDATE of sessions) never writes the new index.
func TestAmountAloneUsesItsIndex(t *testing.T) {
	testdb.SkipOnPostgres(t, "reads SQLite's bytecode (EXPLAIN)")
	s := listStore(t)
	set := &matchSet{amount: 777, broad: true}
	for _, sortBy := range SessionSorts {
		f := SessionFilter{Q: "$777", Sort: sortBy}
		for _, cur := range []*pageCursor{nil, {SessionCursor: SessionCursor{Key: 1, ID: 9}}, {SessionCursor: SessionCursor{Key: 1, ID: 9}, back: true}} {
			query, args := sessionQuery(sessionColumns, f, cur, 51, set)
			plan := explain(t, s, query, args...)
			checkListPlan(t, "amount "+sortBy, plan, false)
			if !strings.Contains(plan, "idx_sessions_amount") {
				t.Errorf("%s: the page does not read the amount's index:\n%s", sortBy, plan)
			}
		}
	}
	var root int64
	if err := s.read.Raw("SELECT rootpage FROM sqlite_master WHERE name = 'idx_sessions_amount_created'").Scan(&root).Error; err != nil || root == 0 {
		t.Fatalf("idx_sessions_amount_created: root page %d, %v", root, err)
	}
	var ops []struct {
		Opcode string
		P2     int64
	}
	if err := s.read.Raw("EXPLAIN "+movedSessionsQuery(valueRows(1, 10)), make([]any, 10)...).Scan(&ops).Error; err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, op := range ops {
		if op.Opcode == "OpenWrite" {
			opened++
			if op.P2 == root {
				t.Errorf("recording a notification writes idx_sessions_amount_created")
			}
		}
	}
	if opened == 0 {
		t.Fatal("the notification's UPDATE opens nothing for writing: the test proves nothing")
	}
}
