package seed

import (
	"context"
	"etpay-dashboard/testdb"
	"strings"
	"testing"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// TestRunMakesConsistentDemoData seeds twice (ids continue) and checks the
// rows: marked as demo, statuses as their notifications say, signatures
// that verify with the session's key.
func TestRunMakesConsistentDemoData(t *testing.T) {
	ctx := context.Background()
	s, err := models.Open(ctx, testdb.URL(t, "seed.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := Run(ctx, s, 3000)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Run(ctx, s, 500)
	if err != nil {
		t.Fatal(err)
	}
	if first.FirstLink != 1 || first.LastLink != 3000 || second.FirstLink != 3001 || second.LastLink != 3500 {
		t.Errorf("link ids %d-%d then %d-%d", first.FirstLink, first.LastLink, second.FirstLink, second.LastLink)
	}
	if first.Paid == 0 || first.Failed == 0 || first.Pending == 0 || first.Paid+first.Failed+first.Pending != 3000 {
		t.Errorf("statuses %+v", first)
	}
	for _, status := range []string{models.StatusPaid, models.StatusFailed, models.StatusPending} {
		rows, err := s.DemoSessions(ctx, status, 5000)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{models.StatusPaid: first.Paid + second.Paid, models.StatusFailed: first.Failed + second.Failed, models.StatusPending: first.Pending + second.Pending}[status]
		if len(rows) != want {
			t.Errorf("%s demo sessions: %d, want %d", status, len(rows), want)
		}
		if status == models.StatusPending {
			continue
		}
		sess, err := s.SessionByID(ctx, rows[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sess.Link.Description, models.DemoPrefix) || sess.Link.CreatedByID != nil {
			t.Errorf("link %d not marked as demo: %q", sess.Link.ID, sess.Link.Description)
		}
		notes, err := s.NotificationsForSession(ctx, sess.ID)
		if err != nil || len(notes) == 0 {
			t.Fatalf("session %d: %d notifications, %v", sess.ID, len(notes), err)
		}
		token, err := etpay.ParseNotificationBody([]byte(notes[0].Body))
		if err != nil {
			t.Fatal(err)
		}
		claims, err := etpay.VerifyNotification(token, func(string) (string, error) { return sess.SignatureToken, nil })
		if err != nil || claims.PaymentToken != sess.PaymentToken {
			t.Errorf("stored notification does not verify: %v", err)
		}
	}
	if problems, err := s.ForeignKeyProblems(ctx); err != nil || problems != 0 {
		t.Errorf("foreign_key_check: %d problems, %v", problems, err)
	}
	audit, err := s.AuditEntries(ctx, models.AuditPage{})
	if err != nil || len(audit) != 2 || audit[0].Action != models.AuditDemoSeeded || !strings.Contains(audit[0].Detail, "links 3001-3500") {
		t.Errorf("audit entries %+v, %v", audit, err)
	}
}
