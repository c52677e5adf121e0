package models

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// errPanic asks receiptMail to panic instead of failing.
var errPanic = errors.New("panic")

// receiptCalls guards the counts of receiptMail's calls: the writer builds a
// group's emails concurrently, and two hooks may share a count.
var receiptCalls sync.Mutex

// receiptMail is a NotificationMail that queues one receipt per paid session
// and counts its calls.
func receiptMail(calls *int, fail error) NotificationMail {
	return func(ev MailEvent) ([]*OutboxMessage, error) {
		receiptCalls.Lock()
		*calls++
		receiptCalls.Unlock()
		if fail == errPanic {
			panic("template blew up")
		}
		if fail != nil {
			return nil, fail
		}
		key := "receipt:session:" + ev.Session.SessionToken
		return []*OutboxMessage{{Kind: MailReceipt, To: "ana@cliente.cl", Subject: "Recibo " + ev.Link.MerchantOrderID,
			TextBody: "t", HTMLBody: "h", MessageID: ev.Session.SessionToken + ev.Notification.PaymentToken + "@x", DedupeKey: &key,
			LinkID: &ev.Link.ID, SessionID: &ev.Session.ID}}, nil
	}
}

func TestApplyNotificationQueuesMailInItsTransaction(t *testing.T) {
	tests := []struct {
		name       string
		notes      []note
		fail       error
		wantCalls  int
		wantOutbox int64
		wantStatus string
		wantMail   bool // MailErr set on the last result
	}{
		{name: "payment queues its receipt", notes: []note{success("tok-a", "pay-1")}, wantCalls: 1, wantOutbox: 1, wantStatus: StatusPaid},
		{name: "a repeat queues nothing more", notes: []note{success("tok-a", "pay-1"), success("tok-a", "pay-1")}, wantCalls: 1, wantOutbox: 1, wantStatus: StatusPaid},
		{name: "a failure queues nothing", notes: []note{failure("tok-a", "pay-1")}, wantCalls: 0, wantOutbox: 0, wantStatus: StatusFailed},
		{name: "a mail error never undoes the payment", notes: []note{success("tok-a", "pay-1")}, fail: errors.New("template broke"),
			wantCalls: 1, wantOutbox: 0, wantStatus: StatusPaid, wantMail: true},
		{name: "a panicking mail hook never undoes the payment", notes: []note{success("tok-a", "pay-1")}, fail: errPanic,
			wantCalls: 1, wantOutbox: 0, wantStatus: StatusPaid, wantMail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTestStore(t)
			l := mustLink(t, s, "OC-1", "sandbox")
			sess := mustSession(t, s, l, "tok-a")
			calls := 0
			var last *NotificationResult
			for _, n := range tt.notes {
				in := n.input("OC-1")
				in.Mail = receiptMail(&calls, tt.fail)
				res, err := s.ApplyNotification(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				last = res
			}
			if calls != tt.wantCalls {
				t.Errorf("mail built %d times, want %d", calls, tt.wantCalls)
			}
			if n := countRows(t, s, &OutboxMessage{}); n != tt.wantOutbox {
				t.Errorf("outbox rows = %d, want %d", n, tt.wantOutbox)
			}
			if (last.MailErr != nil) != tt.wantMail {
				t.Errorf("MailErr = %v, want set: %v", last.MailErr, tt.wantMail)
			}
			stored, err := s.SessionByID(ctx, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != tt.wantStatus {
				t.Errorf("session status = %s, want %s", stored.Status, tt.wantStatus)
			}
			// The session returned for the live tables is the stored one.
			if last.Session == nil || last.Session.ID != stored.ID || last.Session.Status != stored.Status ||
				!last.Session.UpdatedAt.Equal(stored.UpdatedAt) || last.Session.LastNotificationNote != stored.LastNotificationNote ||
				last.Session.PaymentToken != stored.PaymentToken || (last.Session.PaidAt == nil) != (stored.PaidAt == nil) {
				t.Errorf("returned session %+v, stored %+v", last.Session, stored)
			}
		})
	}
}

func TestNotificationKeyDoesNotRememberMisses(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := s.NotificationKey(ctx, "tok-later"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v, want ErrNotFound", err)
	}
	mustSession(t, s, mustLink(t, s, "OC-1", "sandbox"), "tok-later")
	for i := range 2 { // found, then from the cache
		if key, err := s.NotificationKey(ctx, "tok-later"); err != nil || key != "sig-tok-later" {
			t.Fatalf("lookup %d: %q, %v; want sig-tok-later", i, key, err)
		}
	}
}

// TestNotificationKeyOfNewSessionNeedsNoSQL: AddSession leaves the key where
// the webhook finds it without a query (a signature_token never changes, so
// the stored one is altered here only to tell the two sources apart).
func TestNotificationKeyOfNewSessionNeedsNoSQL(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	sess := mustSession(t, s, mustLink(t, s, "OC-1", "sandbox"), "tok-new")
	if err := s.write.Exec("UPDATE sessions SET signature_token = 'from-sql' WHERE id = ?", sess.ID).Error; err != nil {
		t.Fatal(err)
	}
	if key, err := s.NotificationKey(ctx, "tok-new"); err != nil || key != "sig-tok-new" {
		t.Errorf("NotificationKey = %q, %v; want sig-tok-new from memory", key, err)
	}
	// A session another process added (the CLI's seed) is found by SQL.
	if err := s.write.Exec("INSERT INTO sessions (link_id, session_token, signature_token, mode, status, merchant_order_id, amount, created_at, updated_at) "+
		"SELECT link_id, 'tok-other', 'sig-other', mode, status, merchant_order_id, amount, created_at, updated_at FROM sessions WHERE id = ?", sess.ID).Error; err != nil {
		t.Fatal(err)
	}
	if key, err := s.NotificationKey(ctx, "tok-other"); err != nil || key != "sig-other" {
		t.Errorf("NotificationKey of a session added elsewhere = %q, %v; want sig-other", key, err)
	}
}

// When the staff to alert cannot be read, every payment of the group says
// so (its staff alerts are lost), not only the first one, and every
// customer's receipt is still queued.
func TestAlertStaffErrorReachesEveryPaymentOfTheGroup(t *testing.T) {
	s := openTestStore(t)
	if err := s.write.Exec("ALTER TABLE mail_alert_subscriptions RENAME TO mail_alert_subscriptions_gone").Error; err != nil {
		t.Fatal(err)
	}
	calls := 0
	var ins []NotificationInput
	for _, order := range []string{"OC-A1", "OC-A2"} {
		l := mustLink(t, s, order, "sandbox")
		mustSession(t, s, l, "tok-"+order)
		in := success("tok-"+order, "pay-"+order).input(order)
		in.Mail = receiptMail(&calls, nil)
		ins = append(ins, in)
	}
	batch, errs := applyAsOneBatch(t, s, ins...)
	for i, r := range batch {
		if errs[i] != nil {
			t.Fatalf("notification %d: %v", i, errs[i])
		}
		if res := r.result(); res.MailErr == nil || res.Queued != 1 {
			t.Errorf("notification %d: MailErr = %v, queued %d; want the staff lookup's error and its receipt queued", i, res.MailErr, res.Queued)
		}
	}
}
