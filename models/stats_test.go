package models

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
	_ "time/tzdata" // America/Santiago on machines without zoneinfo
)

func santiago(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v.UTC()
}

// statLink inserts a link directly, with any status and mode.
func statLink(t *testing.T, s *Store, order, mode, status, review string) *Link {
	t.Helper()
	l := &Link{Code: "code-" + order, MerchantOrderID: order, Amount: 1000, Status: status, Mode: mode, ReviewReason: review}
	if err := s.write.Create(l).Error; err != nil {
		t.Fatal(err)
	}
	return l
}

var statSeq int

// statSession inserts a session directly; paidAt, when set, also makes it paid.
func statSession(t *testing.T, s *Store, link *Link, status string, amount int64, created time.Time, paidAt *time.Time) *Session {
	t.Helper()
	statSeq++
	sess := &Session{
		LinkID: link.ID, SessionToken: fmt.Sprintf("tok-%d", statSeq), SignatureToken: "sig", Mode: link.Mode,
		Status: status, MerchantOrderID: link.MerchantOrderID, Amount: amount, CreatedAt: created, PaidAt: paidAt,
	}
	if err := s.write.Create(sess).Error; err != nil {
		t.Fatal(err)
	}
	return sess
}

func paidSession(t *testing.T, s *Store, link *Link, amount int64, at string) {
	t.Helper()
	paid := utc(at)
	statSession(t, s, link, StatusPaid, amount, paid.Add(-time.Minute), &paid)
}

func TestDayStart(t *testing.T) {
	loc := santiago(t)
	tests := []struct {
		name    string
		y       int
		m       time.Month
		d       int
		wantUTC string
	}{
		{"summer day", 2026, time.March, 1, "2026-03-01T03:00:00Z"},
		{"winter day", 2026, time.July, 15, "2026-07-15T04:00:00Z"},
		{"25-hour day before clocks go back", 2026, time.April, 4, "2026-04-04T03:00:00Z"},
		{"day after clocks go back", 2026, time.April, 5, "2026-04-05T04:00:00Z"},
		{"day without midnight starts at 01:00", 2026, time.September, 6, "2026-09-06T04:00:00Z"},
		{"day past the month end", 2026, time.February, 29, "2026-03-01T03:00:00Z"},
		{"day zero is the last of the month before", 2026, time.January, 0, "2025-12-31T03:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DayStart(tt.y, tt.m, tt.d, loc)
			if !got.Equal(utc(tt.wantUTC)) {
				t.Errorf("DayStart = %s (%s UTC), want %s", got, got.UTC(), tt.wantUTC)
			}
			if got.Location() != loc {
				t.Errorf("location = %s, want Santiago", got.Location())
			}
		})
	}
}

func TestOverviewFigures(t *testing.T) {
	ctx := context.Background()
	loc := santiago(t)
	s := openTestStore(t)

	live := statLink(t, s, "L1", "live", LinkPaid, "")
	statLink(t, s, "L2", "live", LinkOpen, "")
	statLink(t, s, "L3", "live", LinkCancelled, "")
	sandbox := statLink(t, s, "S1", "sandbox", LinkPaid, "")

	// 02:30 UTC on 1 March is 23:30 on 28 February in Santiago (UTC-3 in summer).
	paidSession(t, s, live, 12990, "2026-03-01T02:30:00Z")
	// Santiago's midnight exactly belongs to the new day.
	paidSession(t, s, live, 7000, "2026-02-28T03:00:00Z")
	paidSession(t, s, live, 5000, "2026-03-01T03:30:00Z") // 00:30 on 1 March
	paidSession(t, s, live, 3000, "2026-03-02T03:00:00Z") // 00:00 on 2 March
	paidSession(t, s, live, 1000, "2026-01-31T03:00:00Z") // 00:00 on 31 January
	paidSession(t, s, live, 2000, "2026-01-31T02:59:59Z") // 23:59:59 on 30 January
	paidSession(t, s, sandbox, 40000, "2026-03-01T14:00:00Z")
	statSession(t, s, live, StatusFailed, 900, utc("2026-03-01T12:00:00Z"), nil)
	statSession(t, s, live, StatusPending, 800, utc("2026-03-01T12:00:00Z"), nil)

	firstOfMarch := time.Date(2026, 3, 1, 12, 0, 0, 0, loc)
	midMarch := time.Date(2026, 3, 15, 12, 0, 0, 0, loc)
	tests := []struct {
		name              string
		mode              string
		now               time.Time
		today, month      int64
		days              map[int]int64 // non-zero days by index; today is 29
		sessions, links   map[string]int64
		conversion        float64
		firstDay, lastDay string
	}{
		{
			name: "live on the first of the month", mode: "live", now: firstOfMarch,
			today: 5000, month: 5000,
			days:       map[int]int64{0: 1000, 28: 19990, 29: 5000},
			sessions:   map[string]int64{StatusPaid: 6, StatusFailed: 1, StatusPending: 1},
			links:      map[string]int64{LinkPaid: 1, LinkOpen: 1, LinkCancelled: 1},
			conversion: 100.0 / 3,
			firstDay:   "2026-01-31", lastDay: "2026-03-01",
		},
		{
			name: "sandbox only", mode: "sandbox", now: firstOfMarch,
			today: 40000, month: 40000,
			days:       map[int]int64{29: 40000},
			sessions:   map[string]int64{StatusPaid: 1},
			links:      map[string]int64{LinkPaid: 1},
			conversion: 100,
			firstDay:   "2026-01-31", lastDay: "2026-03-01",
		},
		{
			name: "both modes", mode: "", now: firstOfMarch,
			today: 45000, month: 45000,
			days:       map[int]int64{0: 1000, 28: 19990, 29: 45000},
			sessions:   map[string]int64{StatusPaid: 7, StatusFailed: 1, StatusPending: 1},
			links:      map[string]int64{LinkPaid: 2, LinkOpen: 1, LinkCancelled: 1},
			conversion: 50,
			firstDay:   "2026-01-31", lastDay: "2026-03-01",
		},
		{
			name: "live in mid-month", mode: "live", now: midMarch,
			today: 0, month: 8000,
			days:       map[int]int64{14: 19990, 15: 5000, 16: 3000},
			sessions:   map[string]int64{StatusPaid: 6, StatusFailed: 1, StatusPending: 1},
			links:      map[string]int64{LinkPaid: 1, LinkOpen: 1, LinkCancelled: 1},
			conversion: 100.0 / 3,
			firstDay:   "2026-02-14", lastDay: "2026-03-15",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := s.Overview(ctx, OverviewQuery{Mode: tt.mode, Now: tt.now, Loc: loc, Days: 30})
			if err != nil {
				t.Fatal(err)
			}
			if o.Today != tt.today || o.Month != tt.month {
				t.Errorf("today/month = %d/%d, want %d/%d", o.Today, o.Month, tt.today, tt.month)
			}
			if len(o.Days) != 30 {
				t.Fatalf("len(Days) = %d, want 30", len(o.Days))
			}
			for i, d := range o.Days {
				if d.Amount != tt.days[i] {
					t.Errorf("day %d (%s) = %d, want %d", i, d.Day.Format("2006-01-02"), d.Amount, tt.days[i])
				}
				if h, m, _ := d.Day.Clock(); h != 0 || m != 0 || d.Day.Location() != loc {
					t.Errorf("day %d starts at %s, want Santiago midnight", i, d.Day)
				}
			}
			if got := o.Days[0].Day.Format("2006-01-02"); got != tt.firstDay {
				t.Errorf("first day = %s, want %s", got, tt.firstDay)
			}
			if got := o.Days[29].Day.Format("2006-01-02"); got != tt.lastDay {
				t.Errorf("last day = %s, want %s", got, tt.lastDay)
			}
			if fmt.Sprint(o.SessionsByStatus) != fmt.Sprint(tt.sessions) {
				t.Errorf("sessions by status = %v, want %v", o.SessionsByStatus, tt.sessions)
			}
			if fmt.Sprint(o.LinksByStatus) != fmt.Sprint(tt.links) {
				t.Errorf("links by status = %v, want %v", o.LinksByStatus, tt.links)
			}
			pct, ok := o.Conversion()
			if !ok || math.Abs(pct-tt.conversion) > 1e-9 {
				t.Errorf("conversion = %v, %v; want %v", pct, ok, tt.conversion)
			}
			if o.Empty() {
				t.Error("Empty() = true with rows")
			}
		})
	}
}

func TestOverviewAcrossDaylightSaving(t *testing.T) {
	ctx := context.Background()
	loc := santiago(t)
	s := openTestStore(t)
	live := statLink(t, s, "L1", "live", LinkPaid, "")
	// 4 April 2026 has 25 hours: at 24:00 (03:00 UTC) clocks go back to 23:00.
	paidSession(t, s, live, 100, "2026-04-05T03:30:00Z") // 23:30 on 4 April, second time round
	paidSession(t, s, live, 200, "2026-04-05T04:00:00Z") // 00:00 on 5 April
	// 6 September 2026 has no midnight: at 24:00 (04:00 UTC) clocks jump to 01:00.
	paidSession(t, s, live, 300, "2026-09-06T03:30:00Z") // 23:30 on 5 September
	paidSession(t, s, live, 400, "2026-09-06T04:00:00Z") // 01:00 on 6 September

	tests := []struct {
		name  string
		now   time.Time
		today int64
		days  map[int]int64
	}{
		{"clocks go back", time.Date(2026, 4, 5, 12, 0, 0, 0, loc), 200, map[int]int64{28: 100, 29: 200}},
		{"clocks go forward", time.Date(2026, 9, 6, 12, 0, 0, 0, loc), 400, map[int]int64{28: 300, 29: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := s.Overview(ctx, OverviewQuery{Mode: "live", Now: tt.now, Loc: loc})
			if err != nil {
				t.Fatal(err)
			}
			if o.Today != tt.today {
				t.Errorf("today = %d, want %d", o.Today, tt.today)
			}
			if len(o.Days) != 30 {
				t.Fatalf("len(Days) = %d, want 30 (the default)", len(o.Days))
			}
			for i, d := range o.Days {
				if d.Amount != tt.days[i] {
					t.Errorf("day %d (%s) = %d, want %d", i, d.Day.Format("2006-01-02"), d.Amount, tt.days[i])
				}
			}
		})
	}
}

func TestOverviewEmpty(t *testing.T) {
	s := openTestStore(t)
	o, err := s.Overview(context.Background(), OverviewQuery{Mode: "live", Now: time.Now(), Loc: santiago(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Empty() || o.Today != 0 || o.Month != 0 || len(o.Days) != 30 {
		t.Errorf("overview of an empty store = %+v", o)
	}
	if _, ok := o.Conversion(); ok {
		t.Error("Conversion() ok with no links")
	}
}

// Open links past their expiry are counted apart, as the links list shows
// them, so that every count matches the list it links to.
func TestOverviewCountsExpiredLinksApart(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	now := time.Now()
	past, later := now.Add(-time.Minute), now.Add(time.Hour)
	for i, exp := range []*time.Time{&past, &past, &later, nil} {
		if _, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: fmt.Sprint("E-", i), Amount: 1, Mode: "live", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := s.Overview(ctx, OverviewQuery{Mode: "live", Now: now, Loc: santiago(t)})
	if err != nil {
		t.Fatal(err)
	}
	if o.LinksByStatus[LinkOpen] != 2 || o.LinksByStatus[LinkExpired] != 2 || o.LinksMade != 4 {
		t.Errorf("links by status %v, made %d; want 2 open, 2 expired, 4 made", o.LinksByStatus, o.LinksMade)
	}
	for _, st := range []string{LinkOpen, LinkExpired} {
		n, err := s.CountLinks(ctx, LinkFilter{SessionFilter: SessionFilter{Status: st, Mode: "live"}, Now: now})
		if err != nil || n.Count != o.LinksByStatus[st] {
			t.Errorf("the %s list counts %d, %v; the overview %d", st, n.Count, err, o.LinksByStatus[st])
		}
	}
}

func TestNeedsAttention(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := utc("2026-03-10T15:00:00Z")

	double := statLink(t, s, "L-double", "live", LinkPaid, "double_payment")
	late := statLink(t, s, "S-late", "sandbox", LinkCancelled, "paid_after_cancel")
	live := statLink(t, s, "L-ok", "live", LinkOpen, "")
	conflict := statSession(t, s, double, StatusPaid, 1000, now.Add(-time.Hour), &now)
	if err := s.write.Model(conflict).Update("conflict", true).Error; err != nil {
		t.Fatal(err)
	}
	statSession(t, s, late, StatusPaid, 1000, now.Add(-time.Hour), &now)
	statSession(t, s, live, StatusPending, 1000, now.Add(-20*time.Minute), nil) // stale
	statSession(t, s, live, StatusPending, 1000, now.Add(-5*time.Minute), nil)  // still fresh

	notes := []Notification{
		{Verdict: VerdictRejected, Reason: "bad_signature", ReceivedAt: now.Add(-3 * time.Hour), LastReceivedAt: now.Add(-time.Hour), Count: 3},
		// First seen before the window, seen again inside it: one delivery is known to be inside.
		{Verdict: VerdictRejected, Reason: "bad_signature", ReceivedAt: now.Add(-30 * time.Hour), LastReceivedAt: now.Add(-2 * time.Hour), Count: 5},
		{Verdict: VerdictRejected, Reason: "malformed", ReceivedAt: now.Add(-10 * time.Minute), LastReceivedAt: now.Add(-10 * time.Minute), Count: 1},
		{Verdict: VerdictRejected, Reason: "expired", ReceivedAt: now.Add(-25 * time.Hour), LastReceivedAt: now.Add(-25 * time.Hour), Count: 2},
		{Verdict: VerdictVerified, ReceivedAt: now.Add(-time.Hour), LastReceivedAt: now.Add(-time.Hour), Count: 1},
	}
	for i := range notes {
		notes[i].Body = fmt.Sprintf("body-%d", i)
		notes[i].BodyHash = fmt.Sprintf("hash-%d", i)
		if err := s.write.Create(&notes[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	wantRejected := []RejectedReason{
		{Reason: "bad_signature", Count: 4, Last: now.Add(-time.Hour)},
		{Reason: "malformed", Count: 1, Last: now.Add(-10 * time.Minute)},
	}

	tests := []struct {
		name                string
		mode                string
		review              []string
		conflicts, stale    int64
		conflictOrderWanted string
	}{
		{"live", "live", []string{"L-double"}, 1, 1, "L-double"},
		{"sandbox", "sandbox", []string{"S-late"}, 0, 0, ""},
		{"both modes", "", []string{"S-late", "L-double"}, 1, 1, "L-double"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := s.NeedsAttention(ctx, AttentionQuery{Mode: tt.mode, RejectedSince: now.Add(-24 * time.Hour), PendingBefore: now.Add(-15 * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			var review []string
			for _, l := range a.Review {
				review = append(review, l.MerchantOrderID)
			}
			if fmt.Sprint(review) != fmt.Sprint(tt.review) || a.ReviewCount != int64(len(tt.review)) {
				t.Errorf("review = %v (count %d), want %v", review, a.ReviewCount, tt.review)
			}
			if a.ConflictCount != tt.conflicts || int64(len(a.Conflicts)) != tt.conflicts {
				t.Errorf("conflicts = %d listed, count %d; want %d", len(a.Conflicts), a.ConflictCount, tt.conflicts)
			}
			if len(a.Conflicts) > 0 && a.Conflicts[0].MerchantOrderID != tt.conflictOrderWanted {
				t.Errorf("conflict order = %s, want %s", a.Conflicts[0].MerchantOrderID, tt.conflictOrderWanted)
			}
			if a.StalePending != tt.stale {
				t.Errorf("stale pending = %d, want %d", a.StalePending, tt.stale)
			}
			if len(a.Rejected) != len(wantRejected) {
				t.Fatalf("rejected = %+v, want %+v", a.Rejected, wantRejected)
			}
			for i, w := range wantRejected {
				if g := a.Rejected[i]; g.Reason != w.Reason || g.Count != w.Count || !g.Last.Equal(w.Last) {
					t.Errorf("rejected[%d] = %+v, want %+v", i, g, w)
				}
			}
			if !a.Any() {
				t.Error("Any() = false")
			}
		})
	}

	t.Run("nothing to see", func(t *testing.T) {
		a, err := openTestStore(t).NeedsAttention(ctx, AttentionQuery{RejectedSince: now.Add(-24 * time.Hour), PendingBefore: now})
		if err != nil {
			t.Fatal(err)
		}
		if a.Any() {
			t.Errorf("Any() = true on an empty store: %+v", a)
		}
	})
}
