package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"
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
}

// RecordNotification stores a notification and applies it to its session in
// one transaction, so that a notification is never acknowledged unless both
// are durable. State changes are compare-and-set: paid is final, duplicates
// change nothing, and an identical rejected body is counted on its first row.
//
// Notifications arriving together are group-committed: one writer goroutine
// (see notifier) applies each in turn inside a single transaction, each under
// its own savepoint, and every caller returns only after that transaction has
// committed. Each notification sees the ones before it exactly as if they had
// been committed one by one, so the rules are unchanged; a failure undoes only
// its own notification, unless the commit itself fails, which fails them all.
func (s *Store) RecordNotification(ctx context.Context, in NotificationInput) (*Notification, error) {
	req := &noteRequest{ctx: ctx, n: newNotification(in), verified: in.Verified, paid: in.Paid, done: make(chan error, 1)}
	if s.notes == nil { // a Store bound to a transaction: write in it directly
		if err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return applyNote(tx, req) }); err != nil {
			return nil, err
		}
		return req.n, nil
	}
	if err := s.notes.submit(ctx, req); err != nil {
		return nil, err
	}
	// Once queued, wait for the outcome even if ctx ends: the answer must say
	// whether the notification was stored. (The writer skips requests whose
	// ctx ended before their turn.)
	if err := <-req.done; err != nil {
		return nil, err
	}
	return req.n, nil
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

// ErrClosed is returned for writes attempted after the Store was closed.
var ErrClosed = errors.New("store closed")

// maxNoteBatch bounds one group commit, so one transaction stays short.
const maxNoteBatch = 256

// noteRequest is one notification waiting for the writer.
type noteRequest struct {
	ctx            context.Context
	n              *Notification
	verified, paid bool
	done           chan error
}

// notifier is the single goroutine that writes notifications. Callers queue
// requests; it takes whatever has gathered (at most maxNoteBatch) and applies
// it in one transaction, so a burst costs one commit (one fsync) instead of
// one per notification, without ever delaying a lone notification.
type notifier struct {
	mu     sync.RWMutex // held for reading while sending, for writing while closing
	closed bool
	queue  chan *noteRequest
	done   chan struct{}
}

func (s *Store) startNotifier() {
	s.notes = &notifier{queue: make(chan *noteRequest, maxNoteBatch), done: make(chan struct{})}
	go s.runNotifier()
}

func (q *notifier) submit(ctx context.Context, req *noteRequest) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	select {
	case q.queue <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop lets queued requests finish and ends the writer goroutine.
func (q *notifier) stop() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.queue)
	}
	q.mu.Unlock()
	<-q.done
}

func (s *Store) runNotifier() {
	defer close(s.notes.done)
	batch := make([]*noteRequest, 0, maxNoteBatch)
	for first := range s.notes.queue {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxNoteBatch {
			select {
			case r, ok := <-s.notes.queue:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.applyNotes(batch)
	}
}

// applyNotes applies a batch in one transaction and tells every caller.
func (s *Store) applyNotes(batch []*noteRequest) {
	errs := make([]error, len(batch))
	applied := 0
	// Not any caller's ctx: one caller giving up must not undo the others.
	err := s.write.Transaction(func(tx *gorm.DB) error {
		for i, r := range batch {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			if err := tx.Exec("SAVEPOINT note").Error; err != nil {
				return err
			}
			if errs[i] = applyNote(tx, r); errs[i] != nil {
				if err := tx.Exec("ROLLBACK TO note").Error; err != nil {
					return err
				}
			} else {
				applied++
			}
			if err := tx.Exec("RELEASE note").Error; err != nil {
				return err
			}
		}
		if applied == 0 {
			return errNothingApplied
		}
		return nil
	})
	for i, r := range batch {
		switch {
		case errs[i] != nil:
			r.done <- errs[i]
		case err != nil:
			r.done <- err
		default:
			r.done <- nil
		}
	}
}

// errNothingApplied rolls back a batch in which every notification failed.
var errNothingApplied = errors.New("no notification applied")

func applyNote(tx *gorm.DB, r *noteRequest) error {
	if !r.verified {
		return recordRejected(tx, r.n)
	}
	return applyVerified(tx, r.n, r.paid)
}

func recordRejected(tx *gorm.DB, n *Notification) error {
	n.Verdict = VerdictRejected
	var seen Notification
	err := tx.Where("body_hash = ? AND verdict = ? AND reason = ?", n.BodyHash, VerdictRejected, n.Reason).Take(&seen).Error
	if err == nil {
		seen.Count++
		seen.LastReceivedAt = n.ReceivedAt
		*n = seen
		return tx.Model(&seen).Updates(map[string]any{"count": seen.Count, "last_received_at": seen.LastReceivedAt}).Error
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return err
	}
	// Attach it to the session it names, unverified, so staff see the attempt there.
	if n.SessionToken != "" {
		var sess Session
		if err := tx.Select("id").Where("session_token = ?", n.SessionToken).Take(&sess).Error; err == nil {
			n.SessionID = &sess.ID
			if err := noteOnSession(tx, sess.ID, n); err != nil {
				return err
			}
		}
	}
	return tx.Create(n).Error
}

func applyVerified(tx *gorm.DB, n *Notification, paid bool) error {
	var sess Session
	if err := tx.Where("session_token = ?", n.SessionToken).Take(&sess).Error; err != nil {
		return notFound(err)
	}
	n.SessionID = &sess.ID
	n.Verdict = VerdictVerified

	duplicate, err := isDuplicate(tx, sess.ID, n)
	if err != nil {
		return err
	}
	switch {
	case n.MerchantOrderID != sess.MerchantOrderID:
		// Genuinely signed, but not about this order: keep it for review, never pay.
		n.Verdict = VerdictRejected
		n.Reason = ReasonOrderMismatch
	case duplicate:
		n.Verdict = VerdictDuplicate
	default:
		effect, err := applyToSession(tx, &sess, n, paid)
		if err != nil {
			return err
		}
		n.Effect = effect
	}
	if err := noteOnSession(tx, sess.ID, n); err != nil {
		return err
	}
	return tx.Create(n).Error
}

// isDuplicate reports whether the session already has a verified notification
// saying the same thing.
func isDuplicate(tx *gorm.DB, sessionID uint, n *Notification) (bool, error) {
	var count int64
	err := tx.Model(&Notification{}).
		Where("session_id = ? AND verdict IN ? AND payment_token = ? AND payment_status = ?",
			sessionID, []string{VerdictVerified, VerdictDuplicate}, n.PaymentToken, n.PaymentStatus).
		Count(&count).Error
	return count > 0, err
}

// applyToSession moves the session (and its link) as a verified result says.
func applyToSession(tx *gorm.DB, sess *Session, n *Notification, paid bool) (string, error) {
	now := n.ReceivedAt
	if paid {
		if sess.Status == StatusPaid {
			if sess.PaymentToken == n.PaymentToken {
				return EffectNone, nil
			}
			return EffectConflict, tx.Model(&Session{}).Where("id = ?", sess.ID).Update("conflict", true).Error
		}
		// A success on a session ETpay already called failed is applied (failed
		// is not final) but flagged: the two answers contradict each other.
		res := tx.Model(&Session{}).Where("id = ? AND status <> ?", sess.ID, StatusPaid).Updates(map[string]any{
			"status": StatusPaid, "payment_status": n.PaymentStatus, "payment_token": n.PaymentToken, "paid_at": now,
			"conflict": sess.Status == StatusFailed,
		})
		if res.Error != nil {
			return "", res.Error
		}
		return EffectPaid, markLinkPaid(tx, sess.LinkID, now)
	}
	switch sess.Status {
	case StatusPaid:
		// paid is final: a later failure is kept as a conflict for staff to see.
		return EffectConflict, tx.Model(&Session{}).Where("id = ?", sess.ID).Update("conflict", true).Error
	case StatusFailed:
		return EffectNone, nil
	}
	err := tx.Model(&Session{}).Where("id = ? AND status = ?", sess.ID, StatusPending).Updates(map[string]any{
		"status": StatusFailed, "payment_status": n.PaymentStatus, "payment_token": n.PaymentToken, "failed_at": now,
	}).Error
	return EffectFailed, err
}

// markLinkPaid closes the link. A link that was already paid, cancelled or
// expired is flagged for a refund, because the customer then paid twice or
// too late; an expired one is still marked paid, so it is never replaced.
func markLinkPaid(tx *gorm.DB, linkID uint, at time.Time) error {
	var link Link
	if err := tx.Where("id = ?", linkID).Take(&link).Error; err != nil {
		return err
	}
	updates := map[string]any{}
	switch {
	case link.Status == LinkPaid:
		updates["review_reason"] = ReviewDoublePayment
	case link.Status == LinkCancelled:
		updates["review_reason"] = ReviewPaidAfterCancel
	case link.Expired(at):
		updates = map[string]any{"status": LinkPaid, "paid_at": at, "review_reason": ReviewPaidAfterExpiry}
	default:
		updates = map[string]any{"status": LinkPaid, "paid_at": at}
	}
	return tx.Model(&Link{}).Where("id = ?", linkID).Updates(updates).Error
}

func noteOnSession(tx *gorm.DB, sessionID uint, n *Notification) error {
	return tx.Model(&Session{}).Where("id = ?", sessionID).Updates(map[string]any{
		"last_notification_at": n.ReceivedAt, "last_notification_note": n.Verdict,
	}).Error
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
