package models

import (
	"context"
	"errors"
	"etpay-dashboard/testdb"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// linksListStore holds six links, one per case the list shows, made through
// the Store; their creation times are set afterwards, L-1 oldest, one hour
// apart, and amounts tie. It returns the store and the list's "now".
func linksListStore(t *testing.T) (*Store, time.Time) {
	t.Helper()
	s := listStore(t)
	ctx := context.Background()
	staff, err := s.CreateUser(ctx, "vendedora@shop.cl", "hash", RoleStaff)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 20, 15, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	make := func(order, mode, email string, amount int64, expires *time.Time) *Link {
		in := LinkInput{MerchantOrderID: order, Amount: amount, Mode: mode, CustomerEmail: email, CreatedByID: &staff.ID, ExpiresAt: expires}
		if email == "" {
			in.CreatedByID = nil // as the command line makes them
			l, err := s.CreateLink(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		l, _, err := s.CreateLinkWithEmail(ctx, in, mailFor)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l1 := make("L-1", "live", "ana@shop.cl", 5000, nil)
	l2 := make("L-2", "sandbox", "", 1000, nil)
	l3 := make("L-3", "live", "bob@shop.cl", 5000, nil)
	l4 := make("L-4", "live", "", 9000, nil)
	l5 := make("L-5", "live", "eva@shop.cl", 1000, nil)
	l6 := make("L-6", "live", "", 5000, &past)

	emails := func(l *Link) []OutboxMessage {
		m, err := s.LinkEmails(ctx, l.ID)
		if err != nil || len(m) == 0 {
			t.Fatalf("emails of %s: %v %v", l.MerchantOrderID, m, err)
		}
		return m
	}
	// L-1: sent, then sent again and waiting: the newest counts.
	if err := s.MarkMessageSent(ctx, emails(l1)[0].ID, "250 ok", now); err != nil {
		t.Fatal(err)
	}
	again, _ := mailFor(l1)
	again.MessageID = "again@shop.cl"
	again.LinkID = &l1.ID
	if err := s.QueueMessages(ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMessageFailed(ctx, emails(l3)[0].ID, "550 no such user", now); err != nil {
		t.Fatal(err)
	}
	setLinkStatus(t, s, l4.ID, LinkPaid)
	if err := s.CancelLink(ctx, l5.ID, staff.ID); err != nil { // its queued email is withdrawn
		t.Fatal(err)
	}
	// L-2 opened twice: first and last are kept apart.
	for _, at := range []time.Time{now.Add(-30 * time.Minute), now.Add(-10 * time.Minute)} {
		if err := s.write.Exec("UPDATE links SET last_opened_at = ?, opened_at = COALESCE(opened_at, ?) WHERE id = ?", at, at, l2.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range []*Link{l1, l2, l3, l4, l5, l6} {
		created := now.Add(-time.Duration(6-i) * time.Hour)
		if err := s.write.Exec("UPDATE links SET created_at = ? WHERE id = ?", created, l.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	return s, now
}

func linkOrders(rows []LinkRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.MerchantOrderID
	}
	return out
}

func TestLinksListColumns(t *testing.T) {
	s, now := linksListStore(t)
	rows, err := s.ListLinks(context.Background(), LinkPage{LinkFilter: LinkFilter{Now: now}, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		opened := "-"
		if r.OpenedAt != nil {
			opened = r.OpenedAt.UTC().Format("15:04") + "/" + r.LastOpenedAt.UTC().Format("15:04")
		}
		got[r.MerchantOrderID] = fmt.Sprintf("%d %s %s by=%s email=%s opened=%s created=%s",
			r.Amount, r.CustomerEmail, r.ListStatus(now), r.CreatedByEmail, r.EmailStatus, opened, r.CreatedAt.UTC().Format("15:04"))
	}
	want := map[string]string{
		"L-1": "5000 ana@shop.cl open by=vendedora@shop.cl email=queued opened=- created=09:00",
		"L-2": "1000  open by= email= opened=14:30/14:50 created=10:00",
		"L-3": "5000 bob@shop.cl open by=vendedora@shop.cl email=failed opened=- created=11:00",
		"L-4": "9000  paid by= email= opened=- created=12:00",
		"L-5": "1000 eva@shop.cl cancelled by=vendedora@shop.cl email=withdrawn opened=- created=13:00",
		"L-6": "5000  expired by= email= opened=- created=14:00",
	}
	for order, w := range want {
		if got[order] != w {
			t.Errorf("%s: %q\n want %q", order, got[order], w)
		}
	}
	if o := linkOrders(rows); !slices.Equal(o, []string{"L-6", "L-5", "L-4", "L-3", "L-2", "L-1"}) {
		t.Errorf("default order %v, want newest first", o)
	}
}

func TestLinksListFiltersSortsAndPages(t *testing.T) {
	s, now := linksListStore(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		filter SessionFilter
		want   []string // newest first
	}{
		{"open, not expired", SessionFilter{Status: LinkOpen}, []string{"L-3", "L-2", "L-1"}},
		{"expired", SessionFilter{Status: LinkExpired}, []string{"L-6"}},
		{"paid", SessionFilter{Status: LinkPaid}, []string{"L-4"}},
		{"cancelled", SessionFilter{Status: LinkCancelled}, []string{"L-5"}},
		{"mode", SessionFilter{Mode: "sandbox"}, []string{"L-2"}},
		{"dates", SessionFilter{From: now.Add(-4 * time.Hour), Until: now.Add(-90 * time.Minute)}, []string{"L-5", "L-4", "L-3"}},
		{"search and status", SessionFilter{Q: "shop.cl", Status: LinkOpen}, []string{"L-3", "L-1"}},
		{"amount and status", SessionFilter{Q: "5.000", Status: LinkOpen}, []string{"L-3", "L-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := LinkFilter{SessionFilter: tt.filter, Now: now}
			for _, matches := range []int64{0, BroadSearch + 1} {
				rows, err := s.ListLinks(ctx, LinkPage{LinkFilter: f, Limit: 50, Matches: matches})
				if err != nil {
					t.Fatal(err)
				}
				if got := linkOrders(rows); !slices.Equal(got, tt.want) {
					t.Errorf("matches %d: %v, want %v", matches, got, tt.want)
				}
			}
			if n, err := s.CountLinks(ctx, f); err != nil || n.Count != int64(len(tt.want)) || n.More {
				t.Errorf("CountLinks = %+v, %v; want %d", n, err, len(tt.want))
			}
		})
	}

	for _, sortBy := range SessionSorts {
		for _, filter := range []SessionFilter{{}, {Status: LinkOpen}, {Q: "l-"}, {Q: "5000"}} {
			filter.Sort = sortBy
			f := LinkFilter{SessionFilter: filter, Now: now}
			all, err := s.ListLinks(ctx, LinkPage{LinkFilter: f, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			want := expectedLinkOrder(all, sortBy)
			if got := linkOrders(all); !slices.Equal(got, want) {
				t.Errorf("%s %+v: %v, want %v", sortBy, filter, got, want)
			}
			for _, size := range []int{1, 2, 4} {
				for _, matches := range []int64{0, BroadSearch + 1} {
					linkPages(t, s, LinkPage{LinkFilter: f, Limit: size, Matches: matches}, all, want)
				}
			}
		}
	}
}

// expectedLinkOrder sorts links as each sort promises, computed in Go.
func expectedLinkOrder(all []LinkRow, sortBy string) []string {
	rows := slices.Clone(all)
	slices.SortFunc(rows, func(a, b LinkRow) int {
		c := a.CreatedAt.Compare(b.CreatedAt)
		if sortBy == SortAmount || sortBy == SortAmountAsc {
			c = int(a.Amount - b.Amount)
		}
		if c == 0 {
			c = int(a.ID) - int(b.ID)
		}
		if sortBy == SortDateAsc || sortBy == SortAmountAsc {
			return c
		}
		return -c
	})
	return linkOrders(rows)
}

// linkPages pages through p forward from the first page and back from every
// row, as keysetPages does for sessions.
func linkPages(t *testing.T, s *Store, p LinkPage, all []LinkRow, want []string) {
	t.Helper()
	ctx := context.Background()
	var got []string
	p.After = nil
	for range all {
		rows, err := s.ListLinks(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, linkOrders(rows)...)
		if len(rows) < p.Limit {
			break
		}
		cur, _ := ParseSessionCursor(p.CursorAfter(&rows[len(rows)-1].Link).String())
		p.After = &cur
	}
	if !slices.Equal(got, want) {
		t.Errorf("%+v pages of %d: %v, want %v", p.SessionFilter, p.Limit, got, want)
	}
	p.After = nil
	for i := range all {
		cur := p.CursorAfter(&all[i].Link)
		p.Before = &cur
		rows, err := s.ListLinks(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := linkOrders(rows), want[max(0, i-p.Limit):i]; !slices.Equal(got, want) {
			t.Errorf("%+v before %s: %v, want %v", p.SessionFilter, all[i].MerchantOrderID, got, want)
		}
	}
}

// TestLinkQueriesUseIndexes: the links list's pages and counts never scan the
// links table; searches are looked up as the sessions' are.
func TestLinkQueriesUseIndexes(t *testing.T) {
	testdb.SkipOnPostgres(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	s := listStore(t)
	now := time.Now()
	cursor := &pageCursor{SessionCursor: SessionCursor{Key: now.UnixNano(), ID: 10}}
	for _, tt := range []struct {
		name string
		f    SessionFilter
		want string
	}{
		{"first page", SessionFilter{}, "idx_links_created_at"},
		{"by amount", SessionFilter{Sort: SortAmount}, "idx_links_amount"},
		{"open links", SessionFilter{Status: LinkOpen}, "idx_links_created_at"},
		{"mode by amount", SessionFilter{Mode: "live", Sort: SortAmountAsc}, "idx_links_amount"},
		{"a day", SessionFilter{From: now.Add(-24 * time.Hour), Until: now}, "idx_links_created_at"},
		{"search", SessionFilter{Q: "gmail.com", Status: LinkPaid}, "links_fts VIRTUAL TABLE INDEX 0:M"},
		{"exact order id", SessionFilter{Q: "OC-1", ExactOnly: true}, "idx_links_order_nocase"},
		{"two letters", SessionFilter{Q: "oc"}, "idx_links_customer_email_nocase"},
		{"amount", SessionFilter{Q: "12990"}, "idx_links_amount (amount=?)"},
	} {
		f := LinkFilter{SessionFilter: tt.f, Now: now}
		sets := []*matchSet{nil}
		if tt.f.Q != "" {
			sets = append(sets, &matchSet{ids: []uint{3, 1, 2}})
		}
		for _, set := range sets {
			for _, cur := range []*pageCursor{nil, cursor, {SessionCursor: cursor.SessionCursor, back: true}} {
				query, args := linkQuery(f, cur, 51, set)
				text := explain(t, s, query, args...)
				checkListPlan(t, fmt.Sprintf("links %s (found %v)", tt.name, set != nil), text, set != nil)
				if tt.f.Q == "" && !strings.Contains(text, tt.want) {
					t.Errorf("links %s: plan does not use %s:\n%s", tt.name, tt.want, text)
				}
			}
		}
		if tt.f.Q != "" {
			sr := parseSearch(tt.f.Q, tt.f.ExactOnly)
			lk := linkLookup(f, sr, testFTS(tt.f))
			checkLookupPlan(t, "links "+tt.name, explain(t, s, lk.sql(), lk.args...), []string{tt.want})
			if sr.words != nil { // the index deciding alone (wholeWords)
				lk := linkLookup(f, sr, textQueries{whole: ftsString(sr.words[0])})
				checkLookupPlan(t, "links "+tt.name+" (whole words)", explain(t, s, lk.sql(), lk.args...),
					[]string{"links_fts VIRTUAL TABLE INDEX 0:M"})
			}
			continue
		}
		c := linkConds(f, nil, true)
		text := explain(t, s, "SELECT COUNT(*) FROM links AS l"+c.sql(), c.args...)
		for _, line := range strings.Split(text, "\n") {
			if line == "SCAN l" || line == "SCAN links" {
				t.Errorf("count of links %s scans the table:\n%s", tt.name, text)
			}
		}
	}
}

// A second link for an order in use names the link that holds it.
func TestOrderInUseNamesTheLink(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	first := mustLink(t, s, "OC-9", "live")
	_, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-9", Amount: 1, Mode: "live"})
	var inUse *OrderInUseError
	if !errors.Is(err, ErrOrderInUse) || !errors.As(err, &inUse) || inUse.LinkID != first.ID {
		t.Fatalf("err = %v (%+v), want ErrOrderInUse naming link %d", err, inUse, first.ID)
	}
	_, _, err = s.CreateLinkWithEmail(ctx, LinkInput{MerchantOrderID: "OC-9", Amount: 1, Mode: "live", CustomerEmail: "a@b.cl"}, mailFor)
	if !errors.As(err, &inUse) || inUse.LinkID != first.ID {
		t.Fatalf("with email: err = %v", err)
	}
	// Order ids stay exact: another case is another order.
	if _, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: "oc-9", Amount: 1, Mode: "live"}); err != nil {
		t.Fatalf("oc-9: %v", err)
	}
}
