package models

import (
	"context"
	"errors"
	"etpay-dashboard/testdb"
	"strconv"
	"testing"
	"time"
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
	refuseInserts(t, s, "boom", "notifications", "NEW.payment_token = 'boom'", "boom")
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
	refuseInserts(t, s, "bad_mail", "outbox_messages", "NEW.subject = 'Recibo OC-2'", "bad mail")
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

// mixedNotes is a burst touching two links and three sessions, with
// duplicates, a double payment, a conflict, an order mismatch and a rejected
// body delivered three times.
func mixedNotes() []NotificationInput {
	forged := note{token: "tok-b", status: "success", payToken: "pay-x", reason: "bad_signature"}
	notes := []note{
		success("tok-a", "pay-1"), forged, success("tok-a", "pay-1"), forged, failure("tok-c", "pay-c"),
		success("tok-b", "pay-b"), forged, success("tok-c", "pay-c2"),
		{token: "tok-c", order: "OC-OTHER", status: "success", payToken: "pay-m", verified: true},
		{body: "not json", reason: "malformed"},
	}
	ins := make([]NotificationInput, len(notes))
	for i, n := range notes {
		order := "OC-1"
		if n.token == "tok-c" {
			order = "OC-2"
		}
		ins[i] = n.input(order)
	}
	return ins
}

func mixedStore(t *testing.T) *Store {
	s := openTestStore(t)
	l1 := mustLink(t, s, "OC-1", "sandbox")
	mustSession(t, s, l1, "tok-a")
	mustSession(t, s, l1, "tok-b")
	mustSession(t, s, mustLink(t, s, "OC-2", "sandbox"), "tok-c")
	return s
}

// TestGroupResultsMatchOneByOne: each caller of a burst gets what it would
// have got alone, in turn (id, verdict, effect, reason, count), and each
// result names its own stored row.
func TestGroupResultsMatchOneByOne(t *testing.T) {
	ctx := context.Background()
	alone := mixedStore(t)
	var want []Notification
	for _, in := range mixedNotes() {
		n, err := alone.RecordNotification(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, *n)
	}
	together := mixedStore(t)
	batch, errs := applyAsOneBatch(t, together, mixedNotes()...)
	for i, r := range batch {
		if errs[i] != nil {
			t.Fatalf("notification %d: %v", i, errs[i])
		}
		got, w := r.result().Notification, want[i]
		if got.ID != w.ID || got.Verdict != w.Verdict || got.Effect != w.Effect || got.Reason != w.Reason || got.Count != w.Count {
			t.Errorf("notification %d: id/verdict/effect/reason/count = %d/%s/%s/%s/%d, one by one %d/%s/%s/%s/%d",
				i, got.ID, got.Verdict, got.Effect, got.Reason, got.Count, w.ID, w.Verdict, w.Effect, w.Reason, w.Count)
		}
		stored, err := together.NotificationByID(ctx, got.ID)
		if err != nil {
			t.Fatalf("notification %d: row %d: %v", i, got.ID, err)
		}
		if stored.BodyHash != got.BodyHash || stored.Verdict != got.Verdict || stored.Count < got.Count {
			t.Errorf("notification %d: result %+v does not match its row %+v", i, got, stored)
		}
	}
	// The stored rows are the same too.
	for _, s := range []*Store{alone, together} {
		rows, err := s.NotificationsForSession(ctx, 2) // tok-b: the forged body's row and the double payment
		if err != nil || len(rows) != 2 || rows[0].Count != 3 || rows[1].Effect != EffectPaid {
			t.Errorf("tok-b rows = %+v, %v; want the forged body counted 3 times, then the payment", rows, err)
		}
	}
	for i, ses := range []string{"tok-a", "tok-b", "tok-c"} {
		a, _ := alone.SessionByID(ctx, uint(i+1))
		b, _ := together.SessionByID(ctx, uint(i+1))
		if a.Status != b.Status || a.PaymentToken != b.PaymentToken || a.Conflict != b.Conflict || a.LastNotificationNote != b.LastNotificationNote {
			t.Errorf("%s: one by one %s/%s/%v/%s, together %s/%s/%v/%s", ses, a.Status, a.PaymentToken, a.Conflict, a.LastNotificationNote,
				b.Status, b.PaymentToken, b.Conflict, b.LastNotificationNote)
		}
	}
}

// TestGroupRetryForgetsTheFastAttempt: when a batch falls back to one
// notification at a time, nothing the abandoned attempt counted survives.
func TestGroupRetryForgetsTheFastAttempt(t *testing.T) {
	s := mixedStore(t)
	refuseInserts(t, s, "boom", "notifications", "NEW.payment_token = 'boom'", "boom")
	forged := note{token: "tok-b", status: "success", payToken: "pay-x", reason: "bad_signature"}.input("OC-1")
	batch, errs := applyAsOneBatch(t, s, forged, forged, success("tok-a", "boom").input("OC-1"), success("tok-c", "pay-c").input("OC-2"))
	if errs[0] != nil || errs[1] != nil || errs[2] == nil || errs[3] != nil {
		t.Fatalf("errors = %v, want only the third to fail", errs)
	}
	if c0, c1 := batch[0].result().Notification.Count, batch[1].result().Notification.Count; c0 != 1 || c1 != 2 {
		t.Errorf("forged body counts seen = %d, %d; want 1, 2", c0, c1)
	}
	stored, err := s.NotificationByID(context.Background(), batch[1].result().Notification.ID)
	if err != nil || stored.Count != 2 {
		t.Errorf("forged body row = %+v, %v; want counted twice", stored, err)
	}

	// The fast attempt counted the second delivery on the first one's row;
	// the first then fails alone, so the second is a new row counted once.
	refuseInserts(t, s, "boom_addr", "notifications", "NEW.remote_addr = 'boom'", "boom")
	other := note{token: "tok-c", status: "success", payToken: "pay-y", reason: "bad_signature"}.input("OC-2")
	fromBoom := other
	fromBoom.RemoteAddr = "boom"
	batch, errs = applyAsOneBatch(t, s, fromBoom, other)
	if errs[0] == nil || errs[1] != nil {
		t.Fatalf("errors = %v, want only the first to fail", errs)
	}
	got := batch[1].result().Notification
	stored, err = s.NotificationByID(context.Background(), got.ID)
	if err != nil || got.Count != 1 || stored.Count != 1 {
		t.Errorf("second delivery = %+v, row %+v, %v; want a new row counted once", got, stored, err)
	}
}

// TestInsertDemoLeavesWriterAsItWas: demo batches relax the writer's
// durability and foreign keys for themselves only.
func TestInsertDemoLeavesWriterAsItWas(t *testing.T) {
	testdb.SkipOnPostgres(t, "checks the writer's SQLite pragmas")
	s := openTestStore(t)
	at := time.Now()
	rows := []DemoLink{{
		Link:    Link{Code: "DEMO1", MerchantOrderID: "OC-D1", Amount: 1000, Status: LinkOpen, Mode: "sandbox", Description: DemoPrefix + "x", CreatedAt: at, UpdatedAt: at},
		Session: Session{SessionToken: "tok-demo", SignatureToken: "sig", Mode: "sandbox", Status: StatusPending, MerchantOrderID: "OC-D1", Amount: 1000, CreatedAt: at, UpdatedAt: at},
	}}
	if _, err := s.InsertDemo(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	for pragma, want := range map[string]string{"synchronous": "2", "foreign_keys": "1", "cache_size": strconv.Itoa(-writerCacheKiB)} {
		var got string
		if err := s.write.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil || got != want {
			t.Errorf("after a demo batch, writer PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
}
