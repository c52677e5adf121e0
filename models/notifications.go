package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// NotificationInput is a received notification and what verifying it found.
type NotificationInput struct {
	ReceivedAt time.Time
	RemoteAddr string
	Source     string
	Body       []byte
	// Verified is false when the notification failed verification; Reason says why.
	Verified bool
	Reason   string
	// The claims; for a rejected notification they are unverified, kept only to help staff.
	SessionToken    string
	MerchantOrderID string
	PaymentToken    string
	PaymentStatus   string
	Claims          string
	// Paid says whether a verified payment_status means the order is paid.
	Paid bool
	// Mail, when set, builds the emails the stored notification calls for
	// (the customer's receipt and staff alerts). It runs inside the
	// notification's own transaction, so "payment applied" and "receipt
	// queued" are stored together; the emails go in with one statement, so
	// an email problem stores none of them and never undoes a payment (see
	// NotificationResult.MailErr).
	Mail NotificationMail
}

// NotificationMail builds the emails for a stored notification from the rows
// the writer already holds. It is called, inside the writer's transaction,
// only for a payment applied (Effect == EffectPaid: Link is set): the
// customer's receipt and alerts to staff, the enabled users who opted in.
// Messages with a DedupeKey already stored are skipped, so a receipt goes
// out once per session. Rejected notifications reach staff as a digest (see
// RejectedDigestsDue), never from here. It runs on goroutines beside the
// writer while the transaction is open (calls may run at the same time), and
// its messages are queued in that transaction.
type NotificationMail func(MailEvent) ([]*OutboxMessage, error)

// MailEvent is what a NotificationMail sees.
type MailEvent struct {
	// Notification is a copy of the notification as judged, before it is
	// stored (its ID is not set yet).
	Notification *Notification
	// Session is the session as it is after the notification; nil when none.
	Session *Session
	// Link is the session's link, for a payment (Effect == EffectPaid).
	Link  *Link
	Staff []User
}

// NotificationResult is what storing a notification did.
type NotificationResult struct {
	Notification *Notification
	// Session is the notification's session as it is after it (without its
	// signature token or link), ready for the live tables; nil when none.
	Session *Session
	// Queued is how many emails the notification queued (before dedupe).
	Queued int
	// MailErr is why its emails could not be queued; the notification itself
	// is stored and applied all the same.
	MailErr error
	// Unreadable names stored values of its session or link that could not
	// be read ("link 7.expires_at"): they were taken as empty, the payment
	// was applied all the same, and the link was flagged for review.
	Unreadable []string
}

// RecordNotification stores a notification and applies it to its session in
// one transaction, so that a notification is never acknowledged unless both
// are durable. State changes are compare-and-set: paid is final, duplicates
// change nothing, and an identical rejected body is counted on its first row.
//
// Notifications arriving together are group-committed: one writer goroutine
// (see notifier) applies them as one group inside a single transaction (see
// noteGroup), and every caller returns only after that transaction has
// committed. Each notification sees the ones before it exactly as if they had
// been committed one by one, so the rules are unchanged; a failure undoes only
// its own notification, unless the commit itself fails, which fails them all.
func (s *Store) RecordNotification(ctx context.Context, in NotificationInput) (*Notification, error) {
	res, err := s.ApplyNotification(ctx, in)
	if err != nil {
		return nil, err
	}
	return res.Notification, nil
}

// ApplyNotification is RecordNotification returning also the session as it
// now is and what became of the notification's emails (in.Mail).
//
// Errors name what failed; one that means the database stayed busy (or ctx's
// deadline passed first) is ErrBusy, and then nothing was stored.
func (s *Store) ApplyNotification(ctx context.Context, in NotificationInput) (*NotificationResult, error) {
	in.ReceivedAt = s.d.stored(in.ReceivedAt)
	req := newNoteRequest(ctx, in)
	if err := s.notes.submit(ctx, req); err != nil {
		return nil, markBusy(err)
	}
	// Once queued, wait for the outcome even if ctx ends: the answer must say
	// whether the notification was stored. (The writer skips requests whose
	// ctx ended before their turn.)
	if err := <-req.done; err != nil {
		return nil, markBusy(err)
	}
	return req.result(), nil
}

func newNoteRequest(ctx context.Context, in NotificationInput) *noteRequest {
	n := newNotification(in)
	return &noteRequest{ctx: ctx, n: n, orig: *n, verified: in.Verified, paid: in.Paid, mail: in.Mail, done: make(chan error, 1)}
}

func newNotification(in NotificationInput) *Notification {
	sum := sha256.Sum256(in.Body)
	n := &Notification{
		ReceivedAt:      in.ReceivedAt.UTC(),
		LastReceivedAt:  in.ReceivedAt.UTC(),
		Count:           1,
		RemoteAddr:      in.RemoteAddr,
		Source:          in.Source,
		Body:            string(in.Body),
		BodySize:        len(in.Body),
		BodyHash:        hex.EncodeToString(sum[:]),
		Reason:          in.Reason,
		SessionToken:    in.SessionToken,
		MerchantOrderID: in.MerchantOrderID,
		PaymentToken:    in.PaymentToken,
		PaymentStatus:   in.PaymentStatus,
		Claims:          in.Claims,
		Effect:          EffectNone,
	}
	if n.Source == "" {
		n.Source = "webhook"
	}
	return n
}

// LatestNotification returns the most recently stored notification.
func (s *Store) LatestNotification(ctx context.Context) (*Notification, error) {
	var n Notification
	if err := s.read.WithContext(ctx).Order("id DESC").Take(&n).Error; err != nil {
		return nil, notFound(err)
	}
	return &n, nil
}

// NotificationByID returns one stored notification.
func (s *Store) NotificationByID(ctx context.Context, id uint) (*Notification, error) {
	var n Notification
	if err := s.read.WithContext(ctx).Where("id = ?", id).Take(&n).Error; err != nil {
		return nil, notFound(err)
	}
	return &n, nil
}
