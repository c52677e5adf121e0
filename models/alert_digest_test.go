package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRejectedDigestsAtMostEveryQuarterHour(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	u, err := s.CreateUser(ctx, "staff@shop.cl", "x", RoleStaff)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMailAlerts(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	reject := func(body, reason string) {
		t.Helper()
		if _, err := s.RecordNotification(ctx, NotificationInput{ReceivedAt: time.Now(), Body: []byte(body), Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	if due, err := s.RejectedDigestsDue(ctx, time.Now()); err != nil || len(due) != 0 {
		t.Fatalf("digests with nothing rejected: %v, %v", due, err)
	}
	reject("a", "malformed")
	reject("b", "malformed")
	reject("a", "malformed") // counted on its row
	reject("c", "bad_signature")
	now := time.Now().Truncate(time.Microsecond) // what PostgreSQL keeps
	due, err := s.RejectedDigestsDue(ctx, now)
	if err != nil || len(due) != 1 || due[0].User.ID != u.ID || due[0].Total() != 4 {
		t.Fatalf("due = %+v, %v; want one digest of 4", due, err)
	}
	if err := s.QueueRejectedDigest(ctx, due[0], &OutboxMessage{To: u.Email, Subject: "s", MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.QueueRejectedDigest(ctx, due[0], &OutboxMessage{To: u.Email, Subject: "s", MessageID: "m2"}); !errors.Is(err, ErrDigestTaken) {
		t.Fatalf("the same digest queued twice: %v", err)
	}
	reject("d", "malformed")
	if due, _ := s.RejectedDigestsDue(ctx, now.Add(14*time.Minute)); len(due) != 0 {
		t.Fatalf("a second digest within 15 minutes: %+v", due)
	}
	due, _ = s.RejectedDigestsDue(ctx, now.Add(16*time.Minute))
	if len(due) != 1 || due[0].Total() != 1 || !due[0].Since.Equal(now.UTC()) {
		t.Fatalf("after 15 minutes: %+v, want one digest of the one new rejection since the last", due)
	}
}
