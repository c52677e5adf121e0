package models

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

func mailFor(link *Link) (*OutboxMessage, error) {
	return &OutboxMessage{Kind: MailLink, To: link.CustomerEmail, Subject: "s", TextBody: "t", HTMLBody: "h", MessageID: link.Code + "@shop.cl"}, nil
}

func countOutbox(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.read.Model(&OutboxMessage{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateLinkWithEmail(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	in := LinkInput{MerchantOrderID: "OC-1", Amount: 1000, Mode: "sandbox", CustomerEmail: "c@correo.cl"}
	link, msg, err := s.CreateLinkWithEmail(ctx, in, mailFor)
	if err != nil {
		t.Fatal(err)
	}
	if msg.LinkID == nil || *msg.LinkID != link.ID || msg.Status != MailQueued || msg.ID == 0 {
		t.Errorf("queued message = %+v", msg)
	}

	tests := []struct {
		name    string
		in      LinkInput
		email   func(*Link) (*OutboxMessage, error)
		wantErr error
	}{
		{"order in use", in, mailFor, ErrOrderInUse},
		{"email fails to build", LinkInput{MerchantOrderID: "OC-2", Amount: 1, Mode: "sandbox", CustomerEmail: "c@correo.cl"},
			func(*Link) (*OutboxMessage, error) { return nil, errors.New("template broken") }, nil},
		{"same Message-ID", LinkInput{MerchantOrderID: "OC-3", Amount: 1, Mode: "sandbox", CustomerEmail: "c@correo.cl"},
			func(*Link) (*OutboxMessage, error) { m, _ := mailFor(link); return m, nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.CreateLinkWithEmail(ctx, tt.in, tt.email)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			// Neither the link nor the email is kept.
			var links int64
			s.read.Model(&Link{}).Count(&links)
			if links != 1 || countOutbox(t, s) != 1 {
				t.Errorf("after a failure: %d links, %d emails; want 1 and 1", links, countOutbox(t, s))
			}
		})
	}
}

func TestQueueMessagesDedupe(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	key := "receipt:session:1"
	for i, id := range []string{"a@shop.cl", "b@shop.cl"} {
		if err := s.QueueMessages(ctx, &OutboxMessage{Kind: MailReceipt, To: "c@correo.cl", Subject: "s", MessageID: id, DedupeKey: &key}); err != nil {
			t.Fatalf("queue %d: %v", i, err)
		}
	}
	if n := countOutbox(t, s); n != 1 {
		t.Errorf("the same receipt queued twice made %d rows, want 1", n)
	}
}

func TestClaimDueMessage(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := time.Now()
	later := &OutboxMessage{Kind: MailLink, To: "a@correo.cl", MessageID: "later@shop.cl", NextAttemptAt: now.Add(time.Hour)}
	due := &OutboxMessage{Kind: MailLink, To: "b@correo.cl", MessageID: "due@shop.cl"}
	if err := s.QueueMessages(ctx, later, due); err != nil {
		t.Fatal(err)
	}

	m, err := s.ClaimDueMessage(ctx, now.Add(time.Second), now.Add(time.Minute))
	if err != nil || m.ID != due.ID || m.Attempts != 1 {
		t.Fatalf("claim = %+v, %v; want the due message, first attempt", m, err)
	}
	if _, err := s.ClaimDueMessage(ctx, now.Add(2*time.Second), now.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Errorf("second claim during the lease: %v, want ErrNotFound", err)
	}
	// The sender died: once the lease passes, it is taken again (same Message-ID).
	again, err := s.ClaimDueMessage(ctx, now.Add(2*time.Minute), now.Add(3*time.Minute))
	if err != nil || again.ID != due.ID || again.MessageID != "due@shop.cl" || again.Attempts != 2 {
		t.Fatalf("claim after the lease = %+v, %v", again, err)
	}
	if err := s.MarkMessageSent(ctx, due.ID, "250 OK", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimDueMessage(ctx, now.Add(10*time.Minute), now.Add(11*time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim after sent: %v, want ErrNotFound", err)
	}
	// A failure schedules the retry; giving up leaves it failed for good.
	m, _ = s.ClaimDueMessage(ctx, now.Add(2*time.Hour), now.Add(3*time.Hour))
	if err := s.MarkMessageRetry(ctx, m.ID, "connection refused", now, now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimDueMessage(ctx, now.Add(2*time.Hour+time.Minute), now.Add(4*time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim before the retry time: %v", err)
	}
	if err := s.MarkMessageFailed(ctx, m.ID, "550 no such user", now); err != nil {
		t.Fatal(err)
	}
	got, _ := s.OutboxMessageByID(ctx, m.ID)
	if got.Status != MailFailed || got.LastError != "550 no such user" || got.FailedAt == nil || got.SendingUntil != nil {
		t.Errorf("failed message = %+v", got)
	}
}

// TestClaimDueMessageConcurrent has many workers race for few messages:
// each message is claimed exactly once.
func TestClaimDueMessageConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	for _, id := range []string{"1@shop.cl", "2@shop.cl", "3@shop.cl"} {
		if err := s.QueueMessages(ctx, &OutboxMessage{Kind: MailLink, To: "c@correo.cl", MessageID: id}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[uint]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				now := time.Now()
				m, err := s.ClaimDueMessage(ctx, now, now.Add(time.Minute))
				if err != nil {
					return
				}
				mu.Lock()
				claimed[m.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 3 {
		t.Errorf("claimed %v, want 3 messages", claimed)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("message %d claimed %d times", id, n)
		}
	}
}

func TestLinkTimelineEmails(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	link, msg, err := s.CreateLinkWithEmail(ctx, LinkInput{MerchantOrderID: "OC-1", Amount: 1, Mode: "sandbox", CustomerEmail: "c@correo.cl"}, mailFor)
	if err != nil {
		t.Fatal(err)
	}
	alert := &OutboxMessage{Kind: MailAlertPaid, LinkID: &link.ID, To: "staff@shop.cl", MessageID: "alert@shop.cl"}
	if err := s.QueueMessages(ctx, alert); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMessageSent(ctx, msg.ID, "250 2.0.0 queued as ABC", time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	events, err := s.LinkTimeline(ctx, link, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range events {
		if e.Kind == EventEmailed {
			states = append(states, e.EmailState)
			if e.Email.Kind != MailLink {
				t.Errorf("timeline shows a %s email", e.Email.Kind)
			}
		}
	}
	if len(states) != 2 || states[0] != MailQueued || states[1] != MailSent || events[len(events)-1].Email.ServerAnswer != "250 2.0.0 queued as ABC" {
		t.Errorf("email events %v; want queued then sent with the server's answer", states)
	}
}

func TestMailAlerts(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	a, _ := s.CreateUser(ctx, "a@shop.cl", "x", RoleStaff)
	b, _ := s.CreateUser(ctx, "b@shop.cl", "x", RoleViewer)
	for _, id := range []uint{a.ID, b.ID, b.ID} {
		if err := s.SetMailAlerts(ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetMailAlerts(ctx, a.ID, false); err != nil {
		t.Fatal(err)
	}
	users, err := s.MailAlertRecipients(ctx)
	if err != nil || len(users) != 1 || users[0].Email != "b@shop.cl" {
		t.Errorf("recipients = %+v, %v; want b only", users, err)
	}
}

// A payment withdraws its link's email still waiting in the outbox, in the
// payment's own transaction.
func TestPaymentWithdrawsTheLinksQueuedEmail(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	l, _, err := s.CreateLinkWithEmail(ctx, LinkInput{MerchantOrderID: "OC-9", Amount: 990, Mode: "sandbox", CustomerEmail: "ana@cliente.cl"},
		func(l *Link) (*OutboxMessage, error) {
			return &OutboxMessage{Kind: MailLink, To: l.CustomerEmail, Subject: "s", MessageID: "m-9"}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	mustSession(t, s, l, "tok-9")
	if _, err := s.RecordNotification(ctx, success("tok-9", "pay-9").input("OC-9")); err != nil {
		t.Fatal(err)
	}
	rows, _ := s.LinkEmails(ctx, l.ID)
	if len(rows) != 1 || rows[0].Status != MailWithdrawn || rows[0].WithdrawnAt == nil {
		t.Fatalf("link email after the payment: %+v", rows)
	}
}

// A group paying several links withdraws exactly the link emails still
// queued and not being sent: an email already sent, or leased to a sender
// now, stays as it is, and a link without emails costs nothing.
func TestGroupWithdrawsOnlyQueuedLinkEmails(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var ins []NotificationInput
	var emails []uint
	for _, order := range []string{"OC-Q", "OC-S", "OC-L", "OC-N"} {
		in := LinkInput{MerchantOrderID: order, Amount: 990, Mode: "sandbox", CustomerEmail: "ana@cliente.cl"}
		var l *Link
		var err error
		if order == "OC-N" {
			l, err = s.CreateLink(ctx, in) // a link without emails
		} else {
			var m *OutboxMessage
			l, m, err = s.CreateLinkWithEmail(ctx, in, func(l *Link) (*OutboxMessage, error) {
				return &OutboxMessage{Kind: MailLink, To: l.CustomerEmail, Subject: "s", MessageID: "m-" + l.MerchantOrderID}, nil
			})
			if m != nil {
				emails = append(emails, m.ID)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		mustSession(t, s, l, "tok-"+order)
		ins = append(ins, success("tok-"+order, "pay-"+order).input(order))
	}
	now := time.Now()
	must(t, s.MarkMessageSent(ctx, emails[1], "250 ok", now))
	must(t, s.write.Exec("UPDATE outbox_messages SET sending_until = ? WHERE id = ?", now.Add(time.Minute).UTC(), emails[2]).Error)
	if _, errs := applyAsOneBatch(t, s, ins...); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	for i, want := range []string{MailWithdrawn, MailSent, MailQueued} {
		if m, err := s.OutboxMessageByID(ctx, emails[i]); err != nil || m.Status != want {
			t.Errorf("email of %s after the payment: %+v, %v; want %s", ins[i].MerchantOrderID, m, err, want)
		}
	}
}

// Shutdown beginning between the claim and its withdrawal check must not
// leave a closed link's email leased (for the whole lease, to every
// instance): the claim finishes what it started (the defect CI's
// TestClosedLinksSendNoEmail found on PostgreSQL).
func TestClaimFinishesWhenShutdownBeginsMidClaim(t *testing.T) {
	s := openTestStore(t)
	l, _, err := s.CreateLinkWithEmail(context.Background(), LinkInput{MerchantOrderID: "OC-EXP", Amount: 990, Mode: "sandbox", CustomerEmail: "ana@cliente.cl"},
		func(l *Link) (*OutboxMessage, error) {
			return &OutboxMessage{Kind: MailLink, To: l.CustomerEmail, Subject: "s", MessageID: "m-exp"}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	if err := s.SetLinkExpiry(context.Background(), l.ID, &past); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Shutdown begins right after the claim's UPDATE.
	if err := s.write.Callback().Update().After("gorm:update").Register("test:shutdown", func(*gorm.DB) { cancel() }); err != nil {
		t.Fatal(err)
	}
	m, err := s.ClaimDueMessage(ctx, time.Now(), time.Now().Add(time.Hour))
	if m != nil {
		t.Errorf("claimed the expired link's email: %+v", m)
	}
	_ = err // ErrNotFound or the cancellation: either is fine, a lease left behind is not
	rows, _ := s.LinkEmails(context.Background(), l.ID)
	if len(rows) != 1 || rows[0].Status != MailWithdrawn || rows[0].SendingUntil != nil {
		t.Fatalf("link email after a claim cut by shutdown: %+v", rows)
	}
}
