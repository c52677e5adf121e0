package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
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
// only when there is something to tell: a payment applied (Effect ==
// EffectPaid: Link is set) or a notification rejected and stored as a new
// row. Staff are the enabled users who opted in to alerts. Messages with a
// DedupeKey already stored are skipped, so a receipt goes out once per session.
type NotificationMail func(MailEvent) ([]*OutboxMessage, error)

// MailEvent is what a NotificationMail sees.
type MailEvent struct {
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
	res, err := s.ApplyNotification(ctx, in)
	if err != nil {
		return nil, err
	}
	return res.Notification, nil
}

// ApplyNotification is RecordNotification returning also the session as it
// now is and what became of the notification's emails (in.Mail).
func (s *Store) ApplyNotification(ctx context.Context, in NotificationInput) (*NotificationResult, error) {
	n := newNotification(in)
	req := &noteRequest{ctx: ctx, n: n, orig: *n, verified: in.Verified, paid: in.Paid, mail: in.Mail, done: make(chan error, 1)}
	if s.notes == nil { // a Store bound to a transaction: write in it directly
		if err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return applyNote(ctx, &noteTx{gorm: tx, conn: tx.Statement.ConnPool}, req)
		}); err != nil {
			return nil, err
		}
		return req.result(), nil
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
	return req.result(), nil
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
	orig           Notification // as received, for reset
	mail           NotificationMail
	done           chan error
	// Set by the writer.
	sess        *Session
	link        *Link // for a payment applied
	newRejected bool  // a rejected notification stored as a new row
	queued      int
	mailErr     error
}

// reset forgets what an abandoned attempt found, before applying r again.
func (r *noteRequest) reset() {
	*r.n = r.orig
	r.sess, r.link, r.newRejected, r.queued, r.mailErr = nil, nil, false, 0, nil
}

func (r *noteRequest) result() *NotificationResult {
	return &NotificationResult{Notification: r.n, Session: r.sess, Queued: r.queued, MailErr: r.mailErr}
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
	keys   keyCache
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
//
// The fast way takes no savepoint per notification (each costs SQLite a copy
// of every page the notification touches): a notification that fails before
// writing anything (an unknown session) needs no undoing. If one fails after
// writing, the whole transaction is rolled back, so nothing of the batch was
// written, and the batch is applied again the careful way, each notification
// under its own savepoint, so that a failure undoes only its own.
func (s *Store) applyNotes(batch []*noteRequest) {
	errs := make([]error, len(batch))
	err := s.applyBatch(batch, errs, false)
	if errors.Is(err, errRetryCarefully) {
		for _, r := range batch {
			r.reset()
		}
		clear(errs)
		err = s.applyBatch(batch, errs, true)
	}
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

// errRetryCarefully abandons a batch's fast transaction (see applyNotes).
var errRetryCarefully = errors.New("notification failed after writing: retry the batch with savepoints")

func (s *Store) applyBatch(batch []*noteRequest, errs []error, savepoints bool) error {
	applied := 0
	// Not any caller's ctx: one caller giving up must not undo the others.
	ctx := context.Background()
	return s.write.Transaction(func(tx *gorm.DB) error {
		t := &noteTx{gorm: tx, conn: tx.Statement.ConnPool}
		for i, r := range batch {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			if savepoints {
				if _, err := t.conn.ExecContext(ctx, "SAVEPOINT note"); err != nil {
					return err
				}
			}
			t.wrote = false
			errs[i] = applyNote(ctx, t, r)
			switch {
			case errs[i] == nil:
				applied++
			// Without savepoints, only "no such session" is known to leave the
			// transaction as it was; anything else is retried carefully.
			case !savepoints && (t.wrote || !errors.Is(errs[i], ErrNotFound)):
				return errRetryCarefully
			case savepoints:
				if _, err := t.conn.ExecContext(ctx, "ROLLBACK TO note"); err != nil {
					return err
				}
			}
			if savepoints {
				if _, err := t.conn.ExecContext(ctx, "RELEASE note"); err != nil {
					return err
				}
			}
		}
		if applied == 0 {
			return errNothingApplied
		}
		return nil
	})
}

// errNothingApplied rolls back a batch in which every notification failed.
var errNothingApplied = errors.New("no notification applied")

// noteTx is the writer's transaction: plain SQL on its connection for the
// hot path (GORM's reflection costs more than the statements), GORM for the
// rare ones.
type noteTx struct {
	gorm *gorm.DB
	conn gorm.ConnPool
	// staff caches the alert recipients for this transaction: they change
	// only through the writer, which is busy with it.
	staff       []User
	staffLoaded bool
	// wrote is set before each write of the current notification.
	wrote bool
}

// exec runs a writing statement.
func (t *noteTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.wrote = true
	return t.conn.ExecContext(ctx, query, args...)
}

func applyNote(ctx context.Context, t *noteTx, r *noteRequest) error {
	var err error
	if !r.verified {
		err = recordRejected(ctx, t, r)
	} else {
		err = applyVerified(ctx, t, r)
	}
	if err != nil {
		return err
	}
	queueNoteMail(ctx, t, r)
	return nil
}

// noteSessionColumns are the columns loadSession reads (not the signature token).
const noteSessionColumns = "id, link_id, session_token, mode, status, merchant_order_id, amount, payment_status, payment_token, " +
	"conflict, last_notification_at, last_notification_note, checked_at, created_at, updated_at, paid_at, failed_at"

// loadSession reads one session by its session_token and, in the same
// query, whether it already has a verified notification saying what n says
// (a duplicate); with n nil, duplicate is false.
func loadSession(ctx context.Context, t *noteTx, sessionToken string, n *Notification) (sess *Session, duplicate bool, err error) {
	var (
		s                             Session
		lastAt, checkedAt, paid, fail sql.NullTime
		dup                           int
	)
	query := "SELECT " + noteSessionColumns + ", 0 FROM sessions WHERE session_token = ?"
	args := []any{sessionToken}
	if n != nil {
		query = "SELECT " + noteSessionColumns + ", EXISTS (SELECT 1 FROM notifications n WHERE n.session_id = sessions.id " +
			"AND n.verdict IN (?, ?) AND n.payment_token = ? AND n.payment_status = ?) FROM sessions WHERE session_token = ?"
		args = []any{VerdictVerified, VerdictDuplicate, n.PaymentToken, n.PaymentStatus, sessionToken}
	}
	err = t.conn.QueryRowContext(ctx, query, args...).Scan(
		&s.ID, &s.LinkID, &s.SessionToken, &s.Mode, &s.Status, &s.MerchantOrderID, &s.Amount, &s.PaymentStatus, &s.PaymentToken,
		&s.Conflict, &lastAt, &s.LastNotificationNote, &checkedAt, &s.CreatedAt, &s.UpdatedAt, &paid, &fail, &dup)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, ErrNotFound
	}
	if err != nil {
		return nil, false, err
	}
	s.LastNotificationAt, s.CheckedAt, s.PaidAt, s.FailedAt = timePtr(lastAt), timePtr(checkedAt), timePtr(paid), timePtr(fail)
	return &s, dup == 1, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

func recordRejected(ctx context.Context, t *noteTx, r *noteRequest) error {
	n := r.n
	n.Verdict = VerdictRejected
	var seen Notification
	err := t.gorm.Where("body_hash = ? AND verdict = ? AND reason = ?", n.BodyHash, VerdictRejected, n.Reason).Take(&seen).Error
	if err == nil {
		seen.Count++
		seen.LastReceivedAt = n.ReceivedAt
		*n = seen
		t.wrote = true
		return t.gorm.Model(&seen).Updates(map[string]any{"count": seen.Count, "last_received_at": seen.LastReceivedAt}).Error
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return err
	}
	// Attach it to the session it names, unverified, so staff see the attempt there.
	if n.SessionToken != "" {
		sess, _, err := loadSession(ctx, t, n.SessionToken, nil)
		switch {
		case err == nil:
			n.SessionID = &sess.ID
			if err := noteOnSession(ctx, t, sess, n); err != nil {
				return err
			}
			r.sess = sess
		case !errors.Is(err, ErrNotFound):
			return err
		}
	}
	r.newRejected = true
	return insertNotification(ctx, t, n)
}

func applyVerified(ctx context.Context, t *noteTx, r *noteRequest) error {
	n := r.n
	sess, duplicate, err := loadSession(ctx, t, n.SessionToken, n)
	if err != nil {
		return err
	}
	n.SessionID = &sess.ID
	n.Verdict = VerdictVerified
	switch {
	case n.MerchantOrderID != sess.MerchantOrderID:
		// Genuinely signed, but not about this order: keep it for review, never pay.
		n.Verdict = VerdictRejected
		n.Reason = ReasonOrderMismatch
		err = noteOnSession(ctx, t, sess, n)
	case duplicate:
		n.Verdict = VerdictDuplicate
		err = noteOnSession(ctx, t, sess, n)
	default:
		n.Effect, err = applyToSession(ctx, t, sess, n, r.paid)
		if err == nil && n.Effect == EffectPaid {
			r.link, err = markLinkPaid(ctx, t, sess.LinkID, n.ReceivedAt)
		}
	}
	if err != nil {
		return err
	}
	r.sess = sess
	r.newRejected = n.Verdict == VerdictRejected
	return insertNotification(ctx, t, n)
}

// applyToSession moves the session (and its link) as a verified result says,
// and notes the notification on it, in one UPDATE; sess is updated to match.
func applyToSession(ctx context.Context, t *noteTx, sess *Session, n *Notification, paid bool) (string, error) {
	now := n.ReceivedAt
	if paid {
		if sess.Status == StatusPaid {
			if sess.PaymentToken == n.PaymentToken {
				return EffectNone, noteOnSession(ctx, t, sess, n)
			}
			sess.Conflict = true
			return EffectConflict, noteOnSession(ctx, t, sess, n)
		}
		// A success on a session ETpay already called failed is applied (failed
		// is not final) but flagged: the two answers contradict each other.
		sess.Conflict = sess.Status == StatusFailed
		sess.Status, sess.PaymentStatus, sess.PaymentToken, sess.PaidAt = StatusPaid, n.PaymentStatus, n.PaymentToken, &now
		if err := updateSession(ctx, t, sess, n); err != nil {
			return "", err
		}
		return EffectPaid, nil
	}
	switch sess.Status {
	case StatusPaid:
		// paid is final: a later failure is kept as a conflict for staff to see.
		sess.Conflict = true
		return EffectConflict, noteOnSession(ctx, t, sess, n)
	case StatusFailed:
		return EffectNone, noteOnSession(ctx, t, sess, n)
	}
	sess.Status, sess.PaymentStatus, sess.PaymentToken, sess.FailedAt = StatusFailed, n.PaymentStatus, n.PaymentToken, &now
	return EffectFailed, updateSession(ctx, t, sess, n)
}

// updateSession stores a session's new status, payment and conflict flag with
// the notification noted on it.
func updateSession(ctx context.Context, t *noteTx, sess *Session, n *Notification) error {
	noteOn(sess, n)
	_, err := t.exec(ctx, "UPDATE sessions SET status = ?, payment_status = ?, payment_token = ?, paid_at = ?, failed_at = ?, "+
		"conflict = ?, last_notification_at = ?, last_notification_note = ?, updated_at = ? WHERE id = ?",
		sess.Status, sess.PaymentStatus, sess.PaymentToken, utcPtr(sess.PaidAt), utcPtr(sess.FailedAt),
		sess.Conflict, utcPtr(sess.LastNotificationAt), sess.LastNotificationNote, sess.UpdatedAt, sess.ID)
	return err
}

// noteOnSession records on the session that a notification came (and, for
// a contradiction after payment, the conflict flag), changing nothing else.
func noteOnSession(ctx context.Context, t *noteTx, sess *Session, n *Notification) error {
	noteOn(sess, n)
	_, err := t.exec(ctx, "UPDATE sessions SET conflict = ?, last_notification_at = ?, last_notification_note = ?, updated_at = ? WHERE id = ?",
		sess.Conflict, utcPtr(sess.LastNotificationAt), sess.LastNotificationNote, sess.UpdatedAt, sess.ID)
	return err
}

func noteOn(sess *Session, n *Notification) {
	at := n.ReceivedAt
	sess.LastNotificationAt, sess.LastNotificationNote = &at, n.Verdict
	sess.UpdatedAt = time.Now().UTC()
}

// insertNotification stores n and sets its ID.
func insertNotification(ctx context.Context, t *noteTx, n *Notification) error {
	var sessionID any
	if n.SessionID != nil {
		sessionID = *n.SessionID
	}
	res, err := t.exec(ctx, "INSERT INTO notifications (session_id, received_at, last_received_at, count, remote_addr, source, body, "+
		"body_hash, verdict, reason, effect, session_token, merchant_order_id, payment_token, payment_status, claims) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		sessionID, n.ReceivedAt, n.LastReceivedAt, n.Count, n.RemoteAddr, n.Source, n.Body,
		n.BodyHash, n.Verdict, n.Reason, n.Effect, n.SessionToken, n.MerchantOrderID, n.PaymentToken, n.PaymentStatus, n.Claims)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	n.ID = uint(id)
	return err
}

// markLinkPaid closes the link. A link that was already paid, cancelled or
// expired is flagged for a refund, because the customer then paid twice or
// too late; an expired one is still marked paid, so it is never replaced.
// It returns the link as it was read (for the receipt).
func markLinkPaid(ctx context.Context, t *noteTx, linkID uint, at time.Time) (*Link, error) {
	var (
		link    Link
		expires sql.NullTime
	)
	err := t.conn.QueryRowContext(ctx, "SELECT id, code, merchant_order_id, amount, customer_email, description, status, mode, expires_at "+
		"FROM links WHERE id = ?", linkID).Scan(
		&link.ID, &link.Code, &link.MerchantOrderID, &link.Amount, &link.CustomerEmail, &link.Description, &link.Status, &link.Mode, &expires)
	if err != nil {
		return nil, notFound(err)
	}
	link.ExpiresAt = timePtr(expires)
	now := time.Now().UTC()
	switch {
	case link.Status == LinkPaid:
		_, err = t.exec(ctx, "UPDATE links SET review_reason = ?, updated_at = ? WHERE id = ?", ReviewDoublePayment, now, linkID)
	case link.Status == LinkCancelled:
		_, err = t.exec(ctx, "UPDATE links SET review_reason = ?, updated_at = ? WHERE id = ?", ReviewPaidAfterCancel, now, linkID)
	case link.Expired(at):
		_, err = t.exec(ctx, "UPDATE links SET status = ?, paid_at = ?, review_reason = ?, updated_at = ? WHERE id = ?",
			LinkPaid, at, ReviewPaidAfterExpiry, now, linkID)
	default:
		_, err = t.exec(ctx, "UPDATE links SET status = ?, paid_at = ?, updated_at = ? WHERE id = ?", LinkPaid, at, now, linkID)
	}
	return &link, err
}

// queueNoteMail queues the emails r.mail builds for a payment applied or a
// notification rejected: when they cannot be built or stored, none is, the
// notification stays applied and r.mailErr says why. A panic in the hook is
// caught here too: it runs in the writer, where it would undo the batch.
func queueNoteMail(ctx context.Context, t *noteTx, r *noteRequest) {
	if r.mail == nil || (r.link == nil && !r.newRejected) {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			r.mailErr, r.queued = fmt.Errorf("building the emails panicked: %v", p), 0
		}
	}()
	if !t.staffLoaded {
		staff, err := alertRecipients(ctx, t)
		if err != nil {
			// The customer's receipt needs no staff: it still goes out.
			r.mailErr = err
			staff = nil
		}
		t.staff, t.staffLoaded = staff, err == nil
	}
	if r.link == nil && len(t.staff) == 0 {
		return // a rejection alerts staff only
	}
	msgs, err := r.mail(MailEvent{Notification: r.n, Session: r.sess, Link: r.link, Staff: t.staff})
	if err != nil || len(msgs) == 0 {
		r.mailErr = errors.Join(r.mailErr, err)
		return
	}
	// One statement, so the messages are stored all or none without a savepoint.
	if err := insertQueued(ctx, t, msgs); err != nil {
		r.mailErr = err
		return
	}
	r.queued = len(msgs)
}

// alertRecipients is MailAlertRecipients inside the writer's transaction.
func alertRecipients(ctx context.Context, t *noteTx) ([]User, error) {
	rows, err := t.conn.QueryContext(ctx, "SELECT id, email, lang FROM users WHERE disabled = ? AND id IN "+
		"(SELECT user_id FROM mail_alert_subscriptions) ORDER BY id", false)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Email, &u.Lang); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// outboxColumns are the columns insertQueued sets.
const outboxColumns = `kind, dedupe_key, link_id, session_id, user_id, created_by_id, "to", lang, subject, text_body, html_body, ` +
	"message_id, status, attempts, next_attempt_at, last_error, server_answer, created_at, updated_at"

// insertQueued is createQueued in plain SQL for several messages in one
// statement: a message whose DedupeKey is already stored is skipped.
func insertQueued(ctx context.Context, t *noteTx, msgs []*OutboxMessage) error {
	now := time.Now().UTC()
	query := make([]byte, 0, 256+len(msgs)*64)
	query = append(query, "INSERT INTO outbox_messages ("+outboxColumns+") VALUES "...)
	args := make([]any, 0, 19*len(msgs))
	for i, m := range msgs {
		m.Status = MailQueued
		if m.NextAttemptAt.IsZero() {
			m.NextAttemptAt = now
		}
		m.CreatedAt, m.UpdatedAt = now, now
		if i > 0 {
			query = append(query, ',')
		}
		query = append(query, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"...)
		args = append(args, m.Kind, strPtr(m.DedupeKey), uintPtr(m.LinkID), uintPtr(m.SessionID), uintPtr(m.UserID), uintPtr(m.CreatedByID),
			m.To, m.Lang, m.Subject, m.TextBody, m.HTMLBody, m.MessageID, m.Status, m.Attempts, m.NextAttemptAt.UTC(), m.LastError,
			m.ServerAnswer, m.CreatedAt, m.UpdatedAt)
	}
	query = append(query, " ON CONFLICT (dedupe_key) DO NOTHING"...)
	_, err := t.exec(ctx, string(query), args...)
	return err
}

func strPtr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func uintPtr(p *uint) any {
	if p == nil {
		return nil
	}
	return *p
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

// keyCacheSize bounds the signing keys kept in memory (about 200 bytes each).
const keyCacheSize = 1 << 15

// keyCache remembers signing keys found: a session's signature_token never
// changes once the session exists. Misses are never remembered, since an
// unknown session_token may become known when its session is created.
type keyCache struct {
	mu   sync.RWMutex
	keys map[string]string
}

func (c *keyCache) get(token string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	key, ok := c.keys[token]
	return key, ok
}

func (c *keyCache) put(token, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = make(map[string]string)
	}
	if len(c.keys) >= keyCacheSize {
		// Forget a quarter, chosen by map order (effectively at random).
		drop := keyCacheSize / 4
		for k := range c.keys {
			delete(c.keys, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.keys[token] = key
}

// NotificationKey is SigningKey for the webhook: the signature_token of the
// session with this session_token, ErrNotFound when there is none, from a
// bounded in-memory cache when it was found before.
func (s *Store) NotificationKey(ctx context.Context, sessionToken string) (string, error) {
	if s.notes == nil {
		return s.SigningKey(ctx, sessionToken)
	}
	if key, ok := s.notes.keys.get(sessionToken); ok {
		return key, nil
	}
	db, err := s.read.DB()
	if err != nil {
		return "", err
	}
	var key string
	err = db.QueryRowContext(ctx, "SELECT signature_token FROM sessions WHERE session_token = ? LIMIT 1", sessionToken).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	if key != "" {
		s.notes.keys.put(sessionToken, key)
	}
	return key, nil
}
