package models

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
)

func notify(t *testing.T, s *Store, sess *Session, at time.Time, status, paymentToken string) {
	t.Helper()
	_, err := s.RecordNotification(context.Background(), NotificationInput{
		ReceivedAt: at, Body: []byte(status + paymentToken + at.String()), Verified: true,
		SessionToken: sess.SessionToken, MerchantOrderID: sess.MerchantOrderID,
		PaymentToken: paymentToken, PaymentStatus: status, Paid: status == "success",
	})
	if err != nil {
		t.Fatalf("RecordNotification: %v", err)
	}
}

func kinds(events []TimelineEvent) string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Kind
	}
	return strings.Join(out, ",")
}

func TestLinkTimelineOrder(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	staff, err := s.CreateUser(ctx, "staff@shop.cl", "x", RoleStaff)
	if err != nil {
		t.Fatal(err)
	}
	link, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-1", Amount: 1000, Mode: "sandbox", CreatedByID: &staff.ID})
	if err != nil {
		t.Fatal(err)
	}
	// Real time moves on between steps, as it does between ETpay's calls.
	tick := func() time.Time { time.Sleep(2 * time.Millisecond); return time.Now() }
	first := mustSession(t, s, link, "tok-1")
	notify(t, s, first, tick(), "rejected_by_bank", "pt-1")
	tick()
	second := mustSession(t, s, link, "tok-2")
	notify(t, s, second, tick(), "success", "pt-2")
	notify(t, s, second, tick(), "success", "pt-2") // a duplicate

	link, err = s.LinkByID(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	events, err := s.LinkTimeline(ctx, link, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := "created,session,notification,failed,session,notification,paid,notification"
	if got := kinds(events); got != want {
		t.Fatalf("timeline %s, want %s", got, want)
	}
	for i := 1; i < len(events); i++ {
		if events[i].At.Before(events[i-1].At) {
			t.Fatalf("event %d (%s) is older than the one before it", i, events[i].Kind)
		}
	}
	if events[0].By != "staff@shop.cl" {
		t.Errorf("created by %q", events[0].By)
	}
	if n := events[2].Notification; n == nil || n.PaymentStatus != "rejected_by_bank" || events[2].Session.ID != first.ID {
		t.Errorf("first notification event: %+v", events[2])
	}
	if n := events[7].Notification; n == nil || n.Verdict != VerdictDuplicate {
		t.Errorf("last notification event: %+v", events[7])
	}
	if events[6].Session.PaymentToken != "pt-2" {
		t.Errorf("paid event's session: %+v", events[6].Session)
	}
}

func TestLinkTimelineClosingEvents(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Store, staff *User, link *Link)
		want    string
		by      string
	}{
		{"open", func(*testing.T, *Store, *User, *Link) {}, "created", ""},
		{"opened by the customer", func(t *testing.T, s *Store, _ *User, link *Link) {
			if err := s.write.Model(link).Update("opened_at", time.Now()).Error; err != nil {
				t.Fatal(err)
			}
		}, "created,opened", ""},
		{"cancelled", func(t *testing.T, s *Store, staff *User, link *Link) {
			if err := s.CancelLink(ctx, link.ID, staff.ID); err != nil {
				t.Fatal(err)
			}
		}, "created,cancelled", "staff@shop.cl"},
		{"expired", func(t *testing.T, s *Store, _ *User, link *Link) {
			if err := s.write.Model(link).Update("expires_at", time.Now()).Error; err != nil {
				t.Fatal(err)
			}
		}, "created,expired", ""},
		{"expiry still ahead", func(t *testing.T, s *Store, _ *User, link *Link) {
			if err := s.write.Model(link).Update("expires_at", time.Now().Add(time.Hour)).Error; err != nil {
				t.Fatal(err)
			}
		}, "created", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t)
			staff, err := s.CreateUser(ctx, "staff@shop.cl", "x", RoleStaff)
			if err != nil {
				t.Fatal(err)
			}
			link := mustLink(t, s, "OC-1", "sandbox")
			tt.prepare(t, s, staff, link)
			link, err = s.LinkByID(ctx, link.ID)
			if err != nil {
				t.Fatal(err)
			}
			events, err := s.LinkTimeline(ctx, link, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(events); got != tt.want {
				t.Fatalf("timeline %s, want %s", got, tt.want)
			}
			if last := events[len(events)-1]; last.By != tt.by {
				t.Errorf("last event by %q, want %q", last.By, tt.by)
			}
			if events[0].By != "" {
				t.Errorf("a link made on the command line has creator %q", events[0].By)
			}
		})
	}
}

// TestLinkTimelineQueryCount checks that the timeline costs the same number
// of queries whatever the number of sessions and notifications (no N+1).
func TestLinkTimelineQueryCount(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var queries atomic.Int64
	err := s.read.Callback().Query().After("gorm:query").Register("test:count", func(*gorm.DB) { queries.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	count := func(sessions int) int64 {
		t.Helper()
		link := mustLink(t, s, "OC-"+string(rune('A'+sessions)), "sandbox")
		for i := range sessions {
			sess := mustSession(t, s, link, link.MerchantOrderID+"-tok-"+string(rune('a'+i)))
			notify(t, s, sess, time.Now(), "rejected_by_bank", "pt")
			notify(t, s, sess, time.Now(), "other", "pt")
		}
		queries.Store(0)
		if _, err := s.LinkTimeline(ctx, link, time.Now()); err != nil {
			t.Fatal(err)
		}
		return queries.Load()
	}
	one, many := count(1), count(6)
	if one == 0 || one != many || one > 3 {
		t.Fatalf("timeline took %d queries for one session and %d for six; want the same, at most 3", one, many)
	}
}

func TestLinkExpired(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	before, after := now.Add(-time.Minute), now.Add(time.Minute)
	tests := []struct {
		name      string
		link      Link
		expired   bool
		startable error
	}{
		{"no expiry", Link{Status: LinkOpen}, false, nil},
		{"expiry ahead", Link{Status: LinkOpen, ExpiresAt: &after}, false, nil},
		{"expiry reached", Link{Status: LinkOpen, ExpiresAt: &now}, true, ErrLinkClosed},
		{"expiry passed", Link{Status: LinkOpen, ExpiresAt: &before}, true, ErrLinkClosed},
		{"paid before its expiry", Link{Status: LinkPaid, ExpiresAt: &before}, false, ErrLinkPaid},
		{"cancelled", Link{Status: LinkCancelled}, false, ErrLinkClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.link.Expired(now); got != tt.expired {
				t.Errorf("Expired = %v, want %v", got, tt.expired)
			}
			if err := tt.link.Startable(now); !errors.Is(err, tt.startable) || (err == nil) != (tt.startable == nil) {
				t.Errorf("Startable = %v, want %v", err, tt.startable)
			}
		})
	}
}

func TestCancelLink(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		status string
		want   error
		after  string
	}{
		{"open is cancelled", LinkOpen, nil, LinkCancelled},
		{"cancelled stays", LinkCancelled, ErrAlreadyCancelled, LinkCancelled},
		{"paid is refused", LinkPaid, ErrLinkPaid, LinkPaid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t)
			staff, err := s.CreateUser(ctx, "staff@shop.cl", "x", RoleStaff)
			if err != nil {
				t.Fatal(err)
			}
			link := mustLink(t, s, "OC-1", "sandbox")
			setLinkStatus(t, s, link.ID, tt.status)
			if err := s.CancelLink(ctx, link.ID, staff.ID); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("CancelLink = %v, want %v", err, tt.want)
			}
			got, err := s.LinkByID(ctx, link.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.after {
				t.Errorf("status %s, want %s", got.Status, tt.after)
			}
			cancelledNow := tt.want == nil
			if (got.CancelledAt != nil) != cancelledNow || (got.CancelledByID != nil) != cancelledNow {
				t.Errorf("cancelled_at %v, cancelled_by_id %v", got.CancelledAt, got.CancelledByID)
			}
			if cancelledNow {
				if *got.CancelledByID != staff.ID {
					t.Errorf("cancelled by %d, want %d", *got.CancelledByID, staff.ID)
				}
				if err := s.AddSession(ctx, &Session{LinkID: link.ID, SessionToken: "t", SignatureToken: "k", Mode: "sandbox"}); !errors.Is(err, ErrLinkClosed) {
					t.Errorf("a cancelled link accepted a session: %v", err)
				}
			}
		})
	}
	t.Run("unknown link", func(t *testing.T) {
		s := openTestStore(t)
		if err := s.CancelLink(ctx, 999, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("CancelLink = %v, want ErrNotFound", err)
		}
	})
}

func TestSetLinkExpiry(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2031, 5, 1, 18, 30, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status string
		at     *time.Time
		want   error
	}{
		{"set on open", LinkOpen, &at, nil},
		{"cleared on open", LinkOpen, nil, nil},
		{"paid keeps it", LinkPaid, &at, ErrLinkPaid},
		{"cancelled keeps it", LinkCancelled, &at, ErrLinkClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t)
			link := mustLink(t, s, "OC-1", "sandbox")
			old := at.Add(time.Hour)
			if err := s.write.Model(link).Update("expires_at", old).Error; err != nil {
				t.Fatal(err)
			}
			setLinkStatus(t, s, link.ID, tt.status)
			if err := s.SetLinkExpiry(ctx, link.ID, tt.at); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("SetLinkExpiry = %v, want %v", err, tt.want)
			}
			got, err := s.LinkByID(ctx, link.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := &old
			if tt.want == nil {
				want = tt.at
			}
			if (got.ExpiresAt == nil) != (want == nil) || (want != nil && !got.ExpiresAt.Equal(*want)) {
				t.Errorf("expires_at %v, want %v", got.ExpiresAt, want)
			}
		})
	}
	t.Run("unknown link", func(t *testing.T) {
		s := openTestStore(t)
		if err := s.SetLinkExpiry(ctx, 999, &at); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetLinkExpiry = %v, want ErrNotFound", err)
		}
	})
}

// An expired link whose order id went to a new link stays expired: clearing
// or moving its expiry forward would make two open links for one order.
func TestExpiredLinkNotReopenedOverItsOrder(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	old := mustLink(t, s, "OC-REOPEN", "sandbox")
	past := time.Now().Add(-time.Hour)
	if err := s.SetLinkExpiry(ctx, old.ID, &past); err != nil {
		t.Fatal(err)
	}
	replacement := mustLink(t, s, "OC-REOPEN", "sandbox") // allowed: the old one expired
	future := time.Now().Add(48 * time.Hour)
	for _, at := range []*time.Time{nil, &future} {
		var inUse *OrderInUseError
		if err := s.SetLinkExpiry(ctx, old.ID, at); !errors.As(err, &inUse) || inUse.LinkID != replacement.ID {
			t.Errorf("reopening with expiry %v: %v, want the order in use by link %d", at, err, replacement.ID)
		}
	}
	earlier := time.Now().Add(-2 * time.Hour).Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	if err := s.SetLinkExpiry(ctx, old.ID, &earlier); err != nil {
		t.Errorf("moving a past expiry within the past: %v", err)
	}
	if got, _ := s.LinkByID(ctx, old.ID); got.ExpiresAt == nil || !got.ExpiresAt.Equal(earlier.UTC()) {
		t.Errorf("old link's expiry %v, want %v", got.ExpiresAt, earlier)
	}
	// The replacement itself may still change its own expiry, and once it
	// is cancelled the old link may be reopened.
	if err := s.SetLinkExpiry(ctx, replacement.ID, &future); err != nil {
		t.Errorf("the holder's own expiry: %v", err)
	}
	if err := s.CancelLink(ctx, replacement.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLinkExpiry(ctx, old.ID, nil); err != nil {
		t.Errorf("reopening after the other link was cancelled: %v", err)
	}
}
