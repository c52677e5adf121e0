package models

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// linkWithSentEmail makes a link in sandbox mode with a customer email whose
// email the server accepted at sentAt.
func linkWithSentEmail(t *testing.T, s *Store, order string, sentAt time.Time) *Link {
	t.Helper()
	l, msg, err := s.CreateLinkWithEmail(context.Background(), LinkInput{MerchantOrderID: order, Amount: 12990, Mode: "sandbox",
		CustomerEmail: "ana@correo.cl"}, mailFor)
	if err != nil {
		t.Fatal(err)
	}
	sendNow(t, s, msg.ID, sentAt)
	return l
}

// sendNow claims the message id as the worker would and marks it sent at.
func sendNow(t *testing.T, s *Store, id uint, at time.Time) {
	t.Helper()
	now := time.Now()
	for {
		m, err := s.ClaimDueMessage(context.Background(), now, now.Add(time.Minute))
		if err != nil {
			t.Fatalf("claim message %d: %v", id, err)
		}
		if m.ID == id {
			break
		}
	}
	if err := s.MarkMessageSent(context.Background(), id, "250 ok", at); err != nil {
		t.Fatal(err)
	}
}

// remind queues every reminder due under r and returns the links reminded.
func remind(t *testing.T, s *Store, r ReminderRules) []uint {
	t.Helper()
	due, err := s.DueReminders(context.Background(), r, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint
	for _, d := range due {
		msg := &OutboxMessage{To: d.Link.CustomerEmail, Subject: "r", MessageID: fmt.Sprintf("r-%d-%d@shop.cl", d.Link.ID, d.Sent)}
		ok, err := s.QueueReminder(context.Background(), r, d, msg)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			ids = append(ids, d.Link.ID)
		}
	}
	return ids
}

func TestReminders(t *testing.T) {
	s := openTestStore(t)
	t0 := time.Now().UTC()
	after := 48 * time.Hour
	l := linkWithSentEmail(t, s, "OC-1", t0)
	rules := func(now time.Time, max int) ReminderRules {
		return ReminderRules{Mode: "sandbox", Now: now, After: after, Max: max}
	}
	if got := remind(t, s, rules(t0.Add(after-time.Minute), 2)); len(got) != 0 {
		t.Fatalf("reminded before REMIND_AFTER: %v", got)
	}
	if got := remind(t, s, rules(t0.Add(after+time.Minute), 2)); len(got) != 1 || got[0] != l.ID {
		t.Fatalf("reminded %v, want link %d", got, l.ID)
	}
	// Queued, not yet sent: the next look waits for it.
	if got := remind(t, s, rules(t0.Add(3*after), 2)); len(got) != 0 {
		t.Fatalf("reminded again before the first reminder went out: %v", got)
	}
	mails, _ := s.LinkEmails(context.Background(), l.ID)
	if len(mails) != 2 || mails[1].Kind != MailReminder || *mails[1].DedupeKey != fmt.Sprintf("reminder:link:%d:1", l.ID) {
		t.Fatalf("link emails: %+v", mails)
	}
	t1 := t0.Add(after + 2*time.Minute)
	sendNow(t, s, mails[1].ID, t1)
	if got := remind(t, s, rules(t1.Add(after+time.Minute), 1)); len(got) != 0 {
		t.Fatalf("REMIND_MAX=1 but reminded twice: %v", got)
	}
	if got := remind(t, s, rules(t1.Add(after-time.Minute), 2)); len(got) != 0 {
		t.Fatalf("second reminder before REMIND_AFTER from the first: %v", got)
	}
	if got := remind(t, s, rules(t1.Add(after+time.Minute), 2)); len(got) != 1 {
		t.Fatalf("REMIND_MAX=2: second reminder not queued: %v", got)
	}
	if n, _ := s.RemindersSent(context.Background(), l.ID); n != 2 {
		t.Errorf("reminders sent = %d, want 2", n)
	}
}

func TestRemindersOnlyForOpenLinks(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	t0 := time.Now().UTC()
	paid := linkWithSentEmail(t, s, "OC-PAID", t0)
	setLinkStatus(t, s, paid.ID, LinkPaid)
	cancelled := linkWithSentEmail(t, s, "OC-CANCELLED", t0)
	if err := s.CancelLink(ctx, cancelled.ID, 1); err != nil {
		t.Fatal(err)
	}
	expired := linkWithSentEmail(t, s, "OC-EXPIRED", t0)
	soon := t0.Add(time.Hour)
	if err := s.SetLinkExpiry(ctx, expired.ID, &soon); err != nil {
		t.Fatal(err)
	}
	off := linkWithSentEmail(t, s, "OC-OFF", t0)
	if err := s.SetLinkReminders(ctx, off.ID, true); err != nil {
		t.Fatal(err)
	}
	late := linkWithSentEmail(t, s, "OC-LATE", t0.Add(-ReminderLate-time.Hour))
	open := linkWithSentEmail(t, s, "OC-OPEN", t0)
	got := remind(t, s, ReminderRules{Mode: "sandbox", Now: t0.Add(49 * time.Hour), After: 48 * time.Hour, Max: 1})
	if len(got) != 1 || got[0] != open.ID {
		t.Fatalf("reminded %v, want only the open link %d (not late %d)", got, open.ID, late.ID)
	}
	if got := remind(t, s, ReminderRules{Mode: "live", Now: t0.Add(49 * time.Hour), After: 48 * time.Hour, Max: 1}); len(got) != 0 {
		t.Fatalf("live mode reminded sandbox links: %v", got)
	}
	if err := s.SetLinkReminders(ctx, 999999, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown link: %v", err)
	}
}

// A reminder queued before its link was paid, or before staff turned the
// link's reminders off, is withdrawn when the worker claims it.
func TestReminderWithdrawnAtClaim(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	t0 := time.Now().UTC().Add(-49 * time.Hour)
	rules := ReminderRules{Mode: "sandbox", Now: time.Now(), After: 48 * time.Hour, Max: 1}
	paid := linkWithSentEmail(t, s, "OC-PAID", t0)
	off := linkWithSentEmail(t, s, "OC-OFF", t0)
	if got := remind(t, s, rules); len(got) != 2 {
		t.Fatalf("reminded %v, want both", got)
	}
	// Behind the Store's back, as a payment recorded by another process
	// between the queueing and the claim would look to this one.
	setLinkStatus(t, s, paid.ID, LinkPaid)
	if err := s.write.Exec("UPDATE links SET reminders_off = true WHERE id = ?", off.ID).Error; err != nil {
		t.Fatal(err)
	}
	if m, err := s.ClaimDueMessage(ctx, time.Now(), time.Now().Add(time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claimed %+v (%v), want both reminders withdrawn", m, err)
	}
	for _, id := range []uint{paid.ID, off.ID} {
		mails, _ := s.LinkEmails(ctx, id)
		if last := mails[len(mails)-1]; last.Kind != MailReminder || last.Status != MailWithdrawn {
			t.Errorf("link %d's reminder: %s %s", id, last.Kind, last.Status)
		}
	}
}

// Turning a link's reminders off withdraws the one still queued at once.
func TestSetLinkRemindersWithdraws(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	l := linkWithSentEmail(t, s, "OC-1", time.Now().Add(-49*time.Hour))
	if got := remind(t, s, ReminderRules{Mode: "sandbox", Now: time.Now(), After: 48 * time.Hour, Max: 1}); len(got) != 1 {
		t.Fatalf("reminded %v", got)
	}
	if err := s.SetLinkReminders(ctx, l.ID, true); err != nil {
		t.Fatal(err)
	}
	mails, _ := s.LinkEmails(ctx, l.ID)
	if last := mails[len(mails)-1]; last.Status != MailWithdrawn || last.WithdrawnAt == nil {
		t.Errorf("queued reminder after turning reminders off: %s", last.Status)
	}
	link, _ := s.LinkByID(ctx, l.ID)
	if !link.RemindersOff {
		t.Error("reminders_off not stored")
	}
}
