package models

import (
	"context"
	"etpay-dashboard/testdb"
	"strings"
	"testing"
	"time"
)

func TestBodyBudgetTakesUpToTheHourlyCapAndRenews(t *testing.T) {
	var b bodyBudget
	at := time.Date(2026, 11, 30, 10, 15, 0, 0, time.UTC)
	for i := 0; i < RejectedBodyBudget/RejectedBodyKeep; i++ {
		if !b.take(at, RejectedBodyKeep) {
			t.Fatalf("body %d refused within the budget", i)
		}
	}
	if b.take(at.Add(40*time.Minute), 1) {
		t.Fatal("a byte past the budget was granted in the same hour")
	}
	if b.take(at.Add(-time.Hour), 1) {
		t.Fatal("a late body from the hour before got a fresh budget")
	}
	if !b.take(at.Add(45*time.Minute), RejectedBodyKeep) {
		t.Fatal("the next clock hour has no budget")
	}
}

// A restart does not hand a flood a fresh budget: the writer starts from what
// the hour's rejected rows already took.
func TestBodyBudgetSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	path := testdb.URL(t, "b.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	junk := strings.Repeat("x", 10<<10)
	for i := 0; i < 3; i++ {
		in := NotificationInput{ReceivedAt: time.Now(), Source: "webhook", Reason: "malformed", Body: []byte(junk + string(rune('a'+i)))}
		n, err := s.RecordNotification(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Body) != RejectedBodyKeep || n.BodySize != len(junk)+1 {
			t.Fatalf("stored %d of %d bytes, want the first %d", len(n.Body), n.BodySize, RejectedBodyKeep)
		}
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.notes.budget.used; got != 3*RejectedBodyKeep {
		t.Fatalf("budget after restart has %d bytes used, want %d", got, 3*RejectedBodyKeep)
	}
}
