package models_test

import (
	"context"
	"etpay-dashboard/testdb"
	"slices"
	"strconv"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/seed"
)

// broadRows is how many demo sessions the broad-search tests hold: more
// than models.BroadSearch, so that "demo" (in every order id) is broad.
const broadRows = models.BroadSearch + 300

func broadStore(t *testing.T) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), testdb.URL(t, "broad.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := seed.Run(context.Background(), s, broadRows); err != nil {
		t.Fatal(err)
	}
	return s
}

func sessionIDs(rows []models.Session) []uint {
	ids := make([]uint, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// A search matching more than BroadSearch sessions is counted up to the
// bound and not summed; its pages and export still hold every match, in
// order. Narrowed by a filter below the bound, it is counted and summed
// exactly again.
func TestBroadSearchIsCountedToTheBound(t *testing.T) {
	s := broadStore(t)
	ctx := context.Background()
	broad := models.SessionFilter{Q: "demo"}
	totals, err := s.CountSessions(ctx, broad)
	if err != nil || !totals.More || totals.Count != models.BroadSearch || totals.Summed || totals.Paid != 0 {
		t.Fatalf("CountSessions(demo) = %+v, %v; want more than %d, not summed", totals, err, models.BroadSearch)
	}
	// Every demo session matches, so its pages are the whole list's.
	for _, sortBy := range models.SessionSorts {
		broad.Sort = sortBy
		all, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: models.SessionFilter{Sort: sortBy}, Limit: 120})
		if err != nil {
			t.Fatal(err)
		}
		first, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: broad, Limit: 60, Found: &totals.Found})
		if err != nil || !slices.Equal(sessionIDs(first), sessionIDs(all[:60])) {
			t.Fatalf("%s: first page %v, %v; want %v", sortBy, sessionIDs(first), err, sessionIDs(all[:60]))
		}
		cur := broad.CursorAfter(&first[len(first)-1])
		next, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: broad, After: &cur, Limit: 60, Found: &totals.Found})
		if err != nil || !slices.Equal(sessionIDs(next), sessionIDs(all[60:])) {
			t.Fatalf("%s: next page %v, %v; want %v", sortBy, sessionIDs(next), err, sessionIDs(all[60:]))
		}
	}
	n := 0
	if err := s.EachSession(ctx, models.SessionFilter{Q: "DEMO"}, func(*models.SessionExport) error { n++; return nil }); err != nil || n != broadRows {
		t.Errorf("export of a broad search: %d rows, %v; want %d", n, err, broadRows)
	}
	links, err := s.CountLinks(ctx, models.LinkFilter{SessionFilter: models.SessionFilter{Q: "demo"}, Now: time.Now()})
	if err != nil || !links.More || links.Count != models.BroadSearch {
		t.Errorf("CountLinks(demo) = %+v, %v; want more than %d", links, err, models.BroadSearch)
	}

	// Failed sessions are fewer than the bound: counted and summed exactly.
	failed := models.SessionFilter{Status: models.StatusFailed}
	want, err := s.CountSessions(ctx, failed)
	if err != nil || want.Count == 0 || want.Count > models.BroadSearch {
		t.Fatalf("failed sessions: %+v, %v", want, err)
	}
	failed.Q = "demo"
	got, err := s.CountSessions(ctx, failed)
	if err != nil || got.More || got.Count != want.Count || !got.Summed {
		t.Errorf("demo and failed: %+v, %v; want %d, summed", got, err, want.Count)
	}
}

// A narrow search is counted, summed and paged from what one lookup found.
func TestNarrowSearchAmongMany(t *testing.T) {
	s := broadStore(t)
	ctx := context.Background()
	// The newest paid session: its order id (…-1290, say) is part of no other.
	paid, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: models.SessionFilter{Status: models.StatusPaid}, Limit: 1})
	if err != nil || len(paid) != 1 {
		t.Fatalf("paid: %v, %v", paid, err)
	}
	for _, q := range []string{paid[0].MerchantOrderID, paid[0].PaymentToken} {
		f := models.SessionFilter{Q: q}
		totals, err := s.CountSessions(ctx, f)
		if err != nil || totals.More || totals.Count != 1 || totals.Paid != paid[0].Amount {
			t.Errorf("%s: %+v, %v; want 1 session, %d paid", q, totals, err, paid[0].Amount)
		}
		rows, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: f, Limit: 50, Found: &totals.Found})
		if err != nil || len(rows) != 1 || rows[0].ID != paid[0].ID {
			t.Errorf("%s: page %v, %v", q, sessionIDs(rows), err)
		}
	}
}

// A broad search's page walks the list and tests each row, its link's text
// or the start of its order id included (on PostgreSQL through a subquery
// by the link's id, sessionLinkTestPG): rows that do not match are left out.
// Three links that match neither "demo" nor "de" lead the walk (the largest
// amounts, listed by amount).
func TestBroadWalkLeavesOutRowsThatDoNotMatch(t *testing.T) {
	s := broadStore(t)
	ctx := context.Background()
	others := map[uint]bool{}
	for i := range 3 {
		l, err := s.CreateLink(ctx, models.LinkInput{MerchantOrderID: "OC-WALK-" + strconv.Itoa(i), Amount: 90_000_000 + int64(i),
			CustomerEmail: "walk@ejemplo.cl", Description: "Otra cosa", Mode: "sandbox"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddSession(ctx, &models.Session{LinkID: l.ID, SessionToken: "tok-walk-" + strconv.Itoa(i), SignatureToken: "sig", Mode: "sandbox"}); err != nil {
			t.Fatal(err)
		}
		others[l.ID] = true
	}
	byAmount := models.SessionFilter{Sort: models.SortAmount}
	all, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: byAmount, Limit: 63})
	if err != nil || len(all) != 63 || !others[all[0].LinkID] {
		t.Fatalf("sessions by amount: %d, %v; want the three others first", len(all), err)
	}
	allLinks, err := s.ListLinks(ctx, models.LinkPage{LinkFilter: models.LinkFilter{SessionFilter: byAmount, Now: time.Now()}, Limit: 63})
	if err != nil || len(allLinks) != 63 || !others[allLinks[0].ID] {
		t.Fatalf("links by amount: %d, %v; want the three others first", len(allLinks), err)
	}
	for _, q := range []string{"demo", "de"} {
		f := models.SessionFilter{Q: q, Sort: models.SortAmount}
		totals, err := s.CountSessions(ctx, f)
		if err != nil || !totals.More {
			t.Fatalf("CountSessions(%s) = %+v, %v; want broad", q, totals, err)
		}
		page, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: f, Limit: 60, Found: &totals.Found})
		if err != nil || !slices.Equal(sessionIDs(page), sessionIDs(all[3:])) {
			t.Errorf("%s: sessions %v, %v; want %v", q, sessionIDs(page), err, sessionIDs(all[3:]))
		}
		lf := models.LinkFilter{SessionFilter: f, Now: time.Now()}
		found, err := s.CountLinks(ctx, lf)
		if err != nil || !found.More {
			t.Fatalf("CountLinks(%s) = %+v, %v; want broad", q, found, err)
		}
		links, err := s.ListLinks(ctx, models.LinkPage{LinkFilter: lf, Limit: 60, Found: &found})
		if err != nil || !slices.Equal(linkIDs(links), linkIDs(allLinks[3:])) {
			t.Errorf("%s: links %v, %v; want %v", q, linkIDs(links), err, linkIDs(allLinks[3:]))
		}
	}
}

func linkIDs(rows []models.LinkRow) []uint {
	ids := make([]uint, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}
