package models

import (
	"context"
	"errors"
	"testing"
)

// applyAsOneBatch hands the writer these notifications as one batch, as a
// burst would, and returns each one's outcome.
func applyAsOneBatch(t *testing.T, s *Store, ins ...NotificationInput) ([]*noteRequest, []error) {
	t.Helper()
	batch := make([]*noteRequest, len(ins))
	for i, in := range ins {
		batch[i] = newNoteRequest(context.Background(), in)
	}
	s.applyNotes(batch)
	errs := make([]error, len(batch))
	for i, r := range batch {
		errs[i] = <-r.done
	}
	return batch, errs
}

func sessionStatus(t *testing.T, s *Store, id uint) string {
	t.Helper()
	sess, err := s.SessionByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sess.Status
}

// TestGroupFailureUndoesOnlyItsOwn makes one notification's insert fail in
// the middle of a batch: the batch is applied again one by one, and only
// that notification is refused; the others are stored and applied.
func TestGroupFailureUndoesOnlyItsOwn(t *testing.T) {
	s := openTestStore(t)
	var sessions []*Session
	for _, tok := range []string{"tok-a", "tok-b", "tok-c"} {
		sessions = append(sessions, mustSession(t, s, mustLink(t, s, "OC-"+tok, "sandbox"), tok))
	}
	if err := s.write.Exec("CREATE TRIGGER boom BEFORE INSERT ON notifications WHEN NEW.payment_token = 'boom' " +
		"BEGIN SELECT RAISE(ABORT, 'boom'); END").Error; err != nil {
		t.Fatal(err)
	}
	batch, errs := applyAsOneBatch(t, s,
		success("tok-a", "pay-a").input("OC-tok-a"), success("tok-b", "boom").input("OC-tok-b"), success("tok-c", "pay-c").input("OC-tok-c"))
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors = %v, want only the second to fail", errs)
	}
	for i, want := range []string{StatusPaid, StatusPending, StatusPaid} {
		if got := sessionStatus(t, s, sessions[i].ID); got != want {
			t.Errorf("session %s = %s, want %s", sessions[i].SessionToken, got, want)
		}
	}
	if n := countRows(t, s, &Notification{}); n != 2 {
		t.Errorf("notification rows = %d, want 2", n)
	}
	if batch[0].result().Notification.ID == 0 || batch[2].result().Notification.ID == 0 {
		t.Error("applied notifications have no ID")
	}
	link, err := s.LinkByID(context.Background(), sessions[1].LinkID)
	if err != nil || link.Status != LinkOpen {
		t.Errorf("refused notification's link = %+v, %v; want open", link, err)
	}
}

// TestGroupWithUnknownSession: a verified notification whose session is
// gone is refused without disturbing the rest of its group.
func TestGroupWithUnknownSession(t *testing.T) {
	s := openTestStore(t)
	a := mustSession(t, s, mustLink(t, s, "OC-1", "sandbox"), "tok-a")
	_, errs := applyAsOneBatch(t, s, success("tok-gone", "pay-x").input("OC-1"), success("tok-a", "pay-a").input("OC-1"))
	if !errors.Is(errs[0], ErrNotFound) || errs[1] != nil {
		t.Fatalf("errors = %v, want ErrNotFound then nil", errs)
	}
	if got := sessionStatus(t, s, a.ID); got != StatusPaid {
		t.Errorf("session = %s, want paid", got)
	}
	if n := countRows(t, s, &Notification{}); n != 1 {
		t.Errorf("notification rows = %d, want 1", n)
	}
}

// TestGroupMailIsPerNotification: a group's emails go in with one statement;
// when it fails, each notification's emails are queued on their own, so one
// bad email costs only its own and never a payment.
func TestGroupMailIsPerNotification(t *testing.T) {
	s := openTestStore(t)
	a := mustSession(t, s, mustLink(t, s, "OC-1", "sandbox"), "tok-a")
	b := mustSession(t, s, mustLink(t, s, "OC-2", "sandbox"), "tok-b")
	if err := s.write.Exec("CREATE TRIGGER bad_mail BEFORE INSERT ON outbox_messages WHEN NEW.subject = 'Recibo OC-2' " +
		"BEGIN SELECT RAISE(ABORT, 'bad mail'); END").Error; err != nil {
		t.Fatal(err)
	}
	calls := 0
	inA, inB := success("tok-a", "pay-a").input("OC-1"), success("tok-b", "pay-b").input("OC-2")
	inA.Mail, inB.Mail = receiptMail(&calls, nil), receiptMail(&calls, nil)
	batch, errs := applyAsOneBatch(t, s, inA, inB)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors = %v", errs)
	}
	if calls != 2 {
		t.Errorf("mail built %d times, want 2", calls)
	}
	ra, rb := batch[0].result(), batch[1].result()
	if ra.Queued != 1 || ra.MailErr != nil || rb.Queued != 0 || rb.MailErr == nil {
		t.Errorf("queued/mailErr = %d/%v and %d/%v, want 1/nil and 0/error", ra.Queued, ra.MailErr, rb.Queued, rb.MailErr)
	}
	if n := countRows(t, s, &OutboxMessage{}); n != 1 {
		t.Errorf("outbox rows = %d, want 1", n)
	}
	for _, sess := range []*Session{a, b} {
		if got := sessionStatus(t, s, sess.ID); got != StatusPaid {
			t.Errorf("session %s = %s, want paid", sess.SessionToken, got)
		}
	}
}
