package models

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// ErrClosed is returned for writes attempted after the Store was closed.
var ErrClosed = errors.New("store closed")

// maxNoteBatch bounds one group commit, so one transaction stays short (and
// its statements under SQLite's limit of 32,766 bound parameters: 18 a
// notification).
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
	sess       *Session // the session as this notification left it
	link       *Link    // for a payment applied: the link as it was before
	queued     int
	mailErr    error
	unreadable []string // columns of its rows that could not be read
}

// reset forgets what an abandoned attempt found, before applying r again.
func (r *noteRequest) reset() {
	n := r.orig
	r.n = &n
	r.sess, r.link, r.queued, r.mailErr, r.unreadable = nil, nil, 0, nil, nil
}

func (r *noteRequest) result() *NotificationResult {
	return &NotificationResult{Notification: r.n, Session: r.sess, Queued: r.queued, MailErr: r.mailErr, Unreadable: r.unreadable}
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
	// budget is what rejected bodies took this hour; only the writer
	// goroutine touches it.
	budget bodyBudget
}

func (s *Store) startNotifier(ctx context.Context) error {
	s.notes = &notifier{queue: make(chan *noteRequest, maxNoteBatch), done: make(chan struct{})}
	if err := s.loadBodyBudget(ctx, time.Now()); err != nil {
		s.notes = nil // no writer goroutine to stop
		return fmt.Errorf("read rejected-body budget: %w", err)
	}
	go s.runNotifier()
	return nil
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
// The fast way applies the whole batch as one group (see applyGroup): a few
// statements for all of it, whatever its size. If any statement fails, the
// transaction is rolled back, so nothing of the batch was written, and the
// batch is applied again the careful way: each notification as a group of
// its own under its own savepoint, so that a failure undoes only its own.
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
var errRetryCarefully = errors.New("a statement of the group failed: retry the batch with savepoints")

func (s *Store) applyBatch(batch []*noteRequest, errs []error, carefully bool) error {
	// Not any caller's ctx: one caller giving up must not undo the others.
	ctx := context.Background()
	budget := s.notes.budget
	err := s.write.Transaction(func(tx *gorm.DB) error {
		t := &noteTx{gorm: tx, conn: tx.Statement.ConnPool, budget: &budget}
		live := make([]*noteRequest, 0, len(batch))
		liveErrs := make([]*error, 0, len(batch))
		for i, r := range batch {
			// Skip callers that gave up before their turn.
			if errs[i] = r.ctx.Err(); errs[i] == nil {
				live, liveErrs = append(live, r), append(liveErrs, &errs[i])
			}
		}
		applied := 0
		if !carefully {
			groupErrs := make([]error, len(live))
			if err := applyGroup(ctx, t, live, groupErrs); err != nil {
				return errRetryCarefully
			}
			for i, err := range groupErrs {
				*liveErrs[i] = err
				if err == nil {
					applied++
				}
			}
		} else {
			for i, r := range live {
				if _, err := t.conn.ExecContext(ctx, "SAVEPOINT note"); err != nil {
					return err
				}
				before := budget
				groupErrs := make([]error, 1)
				err := applyGroup(ctx, t, live[i:i+1], groupErrs)
				if err = errors.Join(err, groupErrs[0]); err != nil {
					*liveErrs[i] = err
					r.reset()
					budget = before
					if _, err := t.conn.ExecContext(ctx, "ROLLBACK TO note"); err != nil {
						return err
					}
				} else {
					applied++
				}
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
	if err == nil {
		s.notes.budget = budget
	}
	return err
}

// errNothingApplied rolls back a batch in which every notification failed.
var errNothingApplied = errors.New("no notification applied")

// applyOne applies a single notification inside an existing transaction (a
// Store bound to one).
func applyOne(ctx context.Context, tx *gorm.DB, r *noteRequest) error {
	errs := make([]error, 1)
	if err := applyGroup(ctx, &noteTx{gorm: tx, conn: tx.Statement.ConnPool}, []*noteRequest{r}, errs); err != nil {
		return err
	}
	return errs[0]
}

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
	// budget is the rejected-body budget as this transaction leaves it; the
	// writer keeps it once the transaction commits. Nil: no cap.
	budget *bodyBudget
}

// noteGroup is a group of notifications applied together. Everything the
// rules need is read up front with one query per table; the rules then run
// on those rows in memory, one notification after the other, exactly as if
// each had been applied alone in turn; and what they changed is written at
// the end with one statement per kind of change. The pure-Go SQLite driver
// parses every statement each time it runs, so statements per group, not per
// notification, is what makes a burst cheap.
type noteGroup struct {
	sessions map[string]*Session // by session_token (without signature tokens)
	links    map[uint]*Link      // by id: the links successes may pay
	// results says which verified results each session already has (a
	// notification saying one of them again is a duplicate).
	results map[resultKey]bool
	// rejected are the stored (or about to be) rejected rows by body and
	// reason: an identical rejected body is counted on its first row.
	rejected map[rejectedKey]*Notification

	// What the rules changed, in the order first changed.
	changedSessions []*Session
	sessionMoved    map[uint]bool // status or payment changed, not only the note
	changedLinks    []*Link
	linkChanged     map[uint]bool
	recounted       []*Notification // stored rejected rows counted again
	// unreadable names the columns read as empty because their stored value
	// could not be read (a row damaged, or written by an older version).
	unreadable      map[string][]string // by "table id"
	unreadableLinks map[uint]bool
	// budget is what rejected bodies may still take this hour; nil: no cap.
	budget  *bodyBudget
	copies  []rowCopy // callers' results that copy a rejected row
	inserts []*Notification
}

type resultKey struct {
	sessionID                   uint
	paymentToken, paymentStatus string
}

type rejectedKey struct{ bodyHash, reason string }

// applyGroup applies reqs as one group. A notification the rules refuse (a
// verified one whose session is unknown) gets its error in errs and writes
// nothing; a failed statement is returned, and then the caller must roll back.
func applyGroup(ctx context.Context, t *noteTx, reqs []*noteRequest, errs []error) error {
	g, err := loadGroup(ctx, t, reqs)
	if err != nil {
		return err
	}
	g.budget = t.budget
	for i, r := range reqs {
		if r.verified {
			errs[i] = g.applyVerified(r)
		} else {
			g.recordRejected(r)
		}
	}
	if err := g.write(ctx, t); err != nil {
		return err
	}
	queueGroupMail(ctx, t, reqs, errs)
	return nil
}

// loadGroup reads the rows reqs need.
func loadGroup(ctx context.Context, t *noteTx, reqs []*noteRequest) (*noteGroup, error) {
	g := &noteGroup{
		sessions: map[string]*Session{}, links: map[uint]*Link{}, results: map[resultKey]bool{},
		rejected: map[rejectedKey]*Notification{}, sessionMoved: map[uint]bool{}, linkChanged: map[uint]bool{},
		unreadable: map[string][]string{}, unreadableLinks: map[uint]bool{},
	}
	var tokens, bodyHashes []any
	for _, r := range reqs {
		if r.n.SessionToken != "" {
			tokens = append(tokens, r.n.SessionToken)
		}
		if !r.verified {
			bodyHashes = append(bodyHashes, r.n.BodyHash)
		}
	}
	if err := g.loadSessions(ctx, t, tokens); err != nil {
		return nil, err
	}
	if err := g.loadResults(ctx, t, reqs); err != nil {
		return nil, err
	}
	var paidLinks []any
	for _, r := range reqs {
		// A paid session is never paid again (a success is then a duplicate
		// or a conflict): only the others may need their link.
		if sess := g.sessions[r.n.SessionToken]; sess != nil && r.verified && r.paid && sess.Status != StatusPaid {
			paidLinks = append(paidLinks, sess.LinkID)
		}
	}
	if err := g.loadLinks(ctx, t, paidLinks); err != nil {
		return nil, err
	}
	return g, g.loadRejected(t, bodyHashes)
}

// noteSessionColumns are the columns loadSessions reads (not the signature token).
const noteSessionColumns = "id, link_id, session_token, mode, status, merchant_order_id, amount, payment_status, payment_token, " +
	"conflict, last_notification_at, last_notification_note, checked_at, created_at, updated_at, paid_at, failed_at"

func sessionsByTokenQuery(n int) string {
	return "SELECT " + noteSessionColumns + " FROM sessions WHERE session_token IN (" + placeholders(n) + ")"
}

func (g *noteGroup) loadSessions(ctx context.Context, t *noteTx, tokens []any) error {
	if len(tokens) == 0 {
		return nil
	}
	rows, err := t.conn.QueryContext(ctx, sessionsByTokenQuery(len(tokens)), tokens...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			s                                               Session
			lastAt, checkedAt, created, updated, paid, fail lenientTime
		)
		if err := rows.Scan(&s.ID, &s.LinkID, &s.SessionToken, &s.Mode, &s.Status, &s.MerchantOrderID, &s.Amount, &s.PaymentStatus,
			&s.PaymentToken, &s.Conflict, &lastAt, &s.LastNotificationNote, &checkedAt, &created, &updated, &paid, &fail); err != nil {
			return err
		}
		s.LastNotificationAt, s.CheckedAt, s.PaidAt, s.FailedAt = lastAt.ptr(), checkedAt.ptr(), paid.ptr(), fail.ptr()
		s.CreatedAt, s.UpdatedAt = created.value(), updated.value()
		g.noteUnreadable("session", s.ID, map[string]lenientTime{"last_notification_at": lastAt, "checked_at": checkedAt,
			"created_at": created, "updated_at": updated, "paid_at": paid, "failed_at": fail})
		g.sessions[s.SessionToken] = &s
	}
	return rows.Err()
}

// loadResults finds which verified results the sessions of reqs already
// have, reading them only where the session itself cannot tell: a pending
// session has none (every verified result moves it to paid or failed), and
// a session whose payment_token and payment_status equal a notification's
// got them from a verified notification saying the same. So ETpay's retries
// of an applied notification, and first deliveries, read no notifications.
func (g *noteGroup) loadResults(ctx context.Context, t *noteTx, reqs []*noteRequest) error {
	var unsure []any
	for _, r := range reqs {
		sess := g.sessions[r.n.SessionToken]
		if sess == nil || !r.verified || sess.Status == StatusPending {
			continue
		}
		if sess.PaymentToken == r.n.PaymentToken && sess.PaymentStatus == r.n.PaymentStatus {
			g.results[resultKey{sess.ID, sess.PaymentToken, sess.PaymentStatus}] = true
			continue
		}
		unsure = append(unsure, sess.ID)
	}
	if len(unsure) == 0 {
		return nil
	}
	rows, err := t.conn.QueryContext(ctx, storedResultsQuery(len(unsure)), unsure...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k resultKey
		if err := rows.Scan(&k.sessionID, &k.paymentToken, &k.paymentStatus); err != nil {
			return err
		}
		g.results[k] = true
	}
	return rows.Err()
}

// storedResultsQuery reads the verified results stored for n sessions
// (duplicates always repeat a verified one, so they need not be read).
func storedResultsQuery(n int) string {
	// Pinned: with IN on both, the planner may pick the verdict index and
	// read every verified notification.
	return "SELECT session_id, payment_token, payment_status FROM notifications INDEXED BY idx_notifications_session_id " +
		"WHERE session_id IN (" + placeholders(n) + ") AND verdict = '" + VerdictVerified + "'"
}

func (g *noteGroup) loadLinks(ctx context.Context, t *noteTx, ids []any) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := t.conn.QueryContext(ctx, "SELECT id, code, merchant_order_id, amount, customer_email, description, status, mode, "+
		"review_reason, expires_at, paid_at FROM links WHERE id IN ("+placeholders(len(ids))+")", ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			l             Link
			expires, paid lenientTime
		)
		if err := rows.Scan(&l.ID, &l.Code, &l.MerchantOrderID, &l.Amount, &l.CustomerEmail, &l.Description, &l.Status, &l.Mode,
			&l.ReviewReason, &expires, &paid); err != nil {
			return err
		}
		l.ExpiresAt, l.PaidAt = expires.ptr(), paid.ptr()
		if g.noteUnreadable("link", l.ID, map[string]lenientTime{"expires_at": expires, "paid_at": paid}) {
			g.unreadableLinks[l.ID] = true
		}
		g.links[l.ID] = &l
	}
	return rows.Err()
}

// loadRejected reads the stored rejected rows with these bodies (a rare
// path: GORM is fine here), the first row of each body and reason.
func (g *noteGroup) loadRejected(t *noteTx, bodyHashes []any) error {
	if len(bodyHashes) == 0 {
		return nil
	}
	var seen []*Notification
	if err := t.gorm.Raw(rejectedByBodyQuery(len(bodyHashes)), bodyHashes...).Scan(&seen).Error; err != nil {
		return err
	}
	for _, n := range seen {
		k := rejectedKey{n.BodyHash, n.Reason}
		if g.rejected[k] == nil {
			g.rejected[k] = n
		}
	}
	return nil
}

// rejectedByBodyQuery reads the rejected rows with n body hashes.
func rejectedByBodyQuery(n int) string {
	// Pinned: a flood of forgeries must not make the planner read every
	// rejected row through the verdict index. The verdict is spelled out,
	// as the partial index's condition is.
	return "SELECT * FROM notifications INDEXED BY idx_notifications_rejected_body WHERE body_hash IN (" + placeholders(n) + ") " +
		"AND verdict = '" + VerdictRejected + "' ORDER BY id"
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// recordRejected stores a notification that failed verification: counted on
// the first row of an identical rejected body, else a new row attached to the
// session it names. It changes nothing on the session.
func (g *noteGroup) recordRejected(r *noteRequest) {
	n := r.n
	n.Verdict = VerdictRejected
	k := rejectedKey{n.BodyHash, n.Reason}
	if row := g.rejected[k]; row != nil {
		row.Count++
		row.LastReceivedAt = n.ReceivedAt
		if row.ID != 0 && !slices.Contains(g.recounted, row) {
			g.recounted = append(g.recounted, row)
		}
		r.n = g.copyOf(row) // the row as this delivery left it
		return
	}
	// Attached to the session it names, so staff see the attempt in its
	// history, but nothing on the session moves: anyone who knows a
	// session_token (it is in the funnel's URL) can send junk naming it.
	if sess := g.sessions[n.SessionToken]; sess != nil {
		n.SessionID = &sess.ID
	}
	g.keepRejectedBody(r)
	row := *n // later deliveries count on the row, not on this caller's result
	g.rejected[k] = &row
	g.inserts = append(g.inserts, &row)
	g.copies = append(g.copies, rowCopy{n, &row})
}

// keepRejectedBody cuts a new rejected row's body to what staff need (its
// first RejectedBodyKeep bytes; size and hash are of the whole) and drops it
// altogether once the hour's budget for rejected bodies is spent: junk
// cannot fill the disk.
func (g *noteGroup) keepRejectedBody(r *noteRequest) {
	n := r.n
	if len(n.Body) > RejectedBodyKeep {
		n.Body = n.Body[:RejectedBodyKeep]
	}
	if g.budget == nil {
		return
	}
	if !g.budget.take(n.ReceivedAt, len(n.Body)) {
		n.Body, n.BodyDropped = "", true
	}
}

// copyOf is a caller's own copy of a row as it is now; it gets the row's ID
// once the row is stored.
func (g *noteGroup) copyOf(row *Notification) *Notification {
	c := *row
	g.copies = append(g.copies, rowCopy{&c, row})
	return &c
}

// rowCopy is a caller's result that copies a row the group stores.
type rowCopy struct{ result, row *Notification }

// applyVerified applies a verified notification to its session.
func (g *noteGroup) applyVerified(r *noteRequest) error {
	n := r.n
	sess := g.sessions[n.SessionToken]
	if sess == nil {
		return ErrNotFound
	}
	if r.paid && sess.Status != StatusPaid && g.links[sess.LinkID] == nil {
		// Checked before changing anything: an error must leave the group as it was.
		return fmt.Errorf("session %d: link %d: %w", sess.ID, sess.LinkID, ErrNotFound)
	}
	n.SessionID = &sess.ID
	n.Verdict = VerdictVerified
	r.unreadable = append(g.unreadable[fmt.Sprintf("session %d", sess.ID)], g.unreadable[fmt.Sprintf("link %d", sess.LinkID)]...)
	result := resultKey{sess.ID, n.PaymentToken, n.PaymentStatus}
	switch {
	case n.MerchantOrderID != sess.MerchantOrderID:
		// Genuinely signed, but not about this order: keep it for review, never pay.
		n.Verdict = VerdictRejected
		n.Reason = ReasonOrderMismatch
		g.noteOnSession(sess, n)
	case g.results[result]:
		n.Verdict = VerdictDuplicate
		g.noteOnSession(sess, n)
	default:
		n.Effect = g.applyToSession(sess, n, r.paid)
		if n.Effect == EffectPaid {
			link := g.links[sess.LinkID]
			r.link = clone(link)
			g.markLinkPaid(link, n.ReceivedAt)
		}
	}
	if n.Verdict != VerdictRejected {
		g.results[result] = true
	}
	r.sess = clone(sess)
	g.inserts = append(g.inserts, n)
	return nil
}

// applyToSession moves the session as a verified result says and notes the
// notification on it; it returns the notification's effect.
func (g *noteGroup) applyToSession(sess *Session, n *Notification, paid bool) string {
	now := n.ReceivedAt
	if paid {
		if sess.Status == StatusPaid {
			if sess.PaymentToken == n.PaymentToken {
				g.noteOnSession(sess, n)
				return EffectNone
			}
			sess.Conflict = true
			g.noteOnSession(sess, n)
			return EffectConflict
		}
		// A success on a session ETpay already called failed is applied (failed
		// is not final) but flagged: the two answers contradict each other.
		sess.Conflict = sess.Status == StatusFailed
		sess.Status, sess.PaymentStatus, sess.PaymentToken, sess.PaidAt = StatusPaid, n.PaymentStatus, n.PaymentToken, &now
		g.moveSession(sess, n)
		return EffectPaid
	}
	switch sess.Status {
	case StatusPaid:
		// paid is final: a later failure is kept as a conflict for staff to see.
		sess.Conflict = true
		g.noteOnSession(sess, n)
		return EffectConflict
	case StatusFailed:
		g.noteOnSession(sess, n)
		return EffectNone
	}
	sess.Status, sess.PaymentStatus, sess.PaymentToken, sess.FailedAt = StatusFailed, n.PaymentStatus, n.PaymentToken, &now
	g.moveSession(sess, n)
	return EffectFailed
}

// moveSession records that the session's status or payment changed.
func (g *noteGroup) moveSession(sess *Session, n *Notification) {
	g.noteOnSession(sess, n)
	g.sessionMoved[sess.ID] = true
}

// noteOnSession records on the session that a notification came, changing
// nothing else (but a conflict flag the rules already set).
func (g *noteGroup) noteOnSession(sess *Session, n *Notification) {
	at := n.ReceivedAt
	if !slices.Contains(g.changedSessions, sess) {
		g.changedSessions = append(g.changedSessions, sess)
	}
	sess.LastNotificationAt, sess.LastNotificationNote = &at, n.Verdict
	sess.UpdatedAt = time.Now().UTC()
}

// noteUnreadable records the columns of a row that could not be read, so the
// caller can log them; it reports whether there were any.
func (g *noteGroup) noteUnreadable(table string, id uint, cols map[string]lenientTime) bool {
	row := fmt.Sprintf("%s %d", table, id)
	for _, name := range slices.Sorted(maps.Keys(cols)) {
		if cols[name].bad {
			g.unreadable[row] = append(g.unreadable[row], row+"."+name)
		}
	}
	return len(g.unreadable[row]) > 0
}

// markLinkPaid closes the link. A link that was already paid, cancelled or
// expired is flagged for a refund, because the customer then paid twice or
// too late; an expired one is still marked paid, so it is never replaced.
func (g *noteGroup) markLinkPaid(link *Link, at time.Time) {
	switch {
	case link.Status == LinkPaid:
		link.ReviewReason = ReviewDoublePayment
	case link.Status == LinkCancelled:
		link.ReviewReason = ReviewPaidAfterCancel
	case link.Expired(at):
		link.Status, link.PaidAt, link.ReviewReason = LinkPaid, &at, ReviewPaidAfterExpiry
	default:
		link.Status, link.PaidAt = LinkPaid, &at
	}
	if g.unreadableLinks[link.ID] && link.ReviewReason == "" {
		// Part of the link could not be read (its expiry, say): the payment
		// stands, and a person looks at the link.
		link.ReviewReason = ReviewUnreadable
	}
	link.UpdatedAt = time.Now().UTC()
	if !g.linkChanged[link.ID] {
		g.linkChanged[link.ID] = true
		g.changedLinks = append(g.changedLinks, link)
	}
}

// clone is a copy of a row as it is now, for a caller to keep.
func clone[T any](v *T) *T {
	c := *v
	return &c
}

// write stores what the rules changed: a statement for sessions whose status
// moved, one for sessions only noted, one for links, one for the new
// notifications, and one per rejected row counted again (rare).
func (g *noteGroup) write(ctx context.Context, t *noteTx) error {
	var moved, noted []any
	movedRows, notedRows := 0, 0
	for _, s := range g.changedSessions {
		if g.sessionMoved[s.ID] {
			moved = append(moved, s.ID, s.Status, s.PaymentStatus, s.PaymentToken, utcPtr(s.PaidAt), utcPtr(s.FailedAt),
				s.Conflict, utcPtr(s.LastNotificationAt), s.LastNotificationNote, s.UpdatedAt)
			movedRows++
		} else {
			noted = append(noted, s.ID, s.Conflict, utcPtr(s.LastNotificationAt), s.LastNotificationNote, s.UpdatedAt)
			notedRows++
		}
	}
	if movedRows > 0 {
		if _, err := t.conn.ExecContext(ctx, movedSessionsQuery(movedRows), moved...); err != nil {
			return err
		}
	}
	if notedRows > 0 {
		if _, err := t.conn.ExecContext(ctx, "WITH v(id, conflict, last_notification_at, last_notification_note, updated_at) AS (VALUES "+
			valueRows(notedRows, 5)+") UPDATE sessions SET conflict = v.conflict, last_notification_at = v.last_notification_at, "+
			"last_notification_note = v.last_notification_note, updated_at = v.updated_at FROM v WHERE sessions.id = v.id", noted...); err != nil {
			return err
		}
	}
	if len(g.changedLinks) > 0 {
		args := make([]any, 0, 5*len(g.changedLinks))
		for _, l := range g.changedLinks {
			args = append(args, l.ID, l.Status, utcPtr(l.PaidAt), l.ReviewReason, l.UpdatedAt)
		}
		if _, err := t.conn.ExecContext(ctx, "WITH v(id, status, paid_at, review_reason, updated_at) AS (VALUES "+valueRows(len(g.changedLinks), 5)+") "+
			"UPDATE links SET status = v.status, paid_at = v.paid_at, review_reason = v.review_reason, updated_at = v.updated_at "+
			"FROM v WHERE links.id = v.id", args...); err != nil {
			return err
		}
	}
	for _, n := range g.recounted {
		if _, err := t.conn.ExecContext(ctx, "UPDATE notifications SET count = ?, last_received_at = ? WHERE id = ?",
			n.Count, n.LastReceivedAt, n.ID); err != nil {
			return err
		}
	}
	if err := insertNotifications(ctx, t, g.inserts); err != nil {
		return err
	}
	for _, c := range g.copies {
		c.result.ID = c.row.ID
	}
	return nil
}

// movedSessionsQuery updates n sessions whose status or payment moved.
func movedSessionsQuery(n int) string {
	return "WITH v(id, status, payment_status, payment_token, paid_at, failed_at, conflict, last_notification_at, " +
		"last_notification_note, updated_at) AS (VALUES " + valueRows(n, 10) + ") " +
		"UPDATE sessions SET status = v.status, payment_status = v.payment_status, payment_token = v.payment_token, " +
		"paid_at = v.paid_at, failed_at = v.failed_at, conflict = v.conflict, last_notification_at = v.last_notification_at, " +
		"last_notification_note = v.last_notification_note, updated_at = v.updated_at FROM v WHERE sessions.id = v.id"
}

// valueRows is the VALUES list for rows of n placeholders each.
func valueRows(rows, n int) string {
	row := "(" + placeholders(n) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// insertNotifications stores ns with one statement and sets their IDs.
func insertNotifications(ctx context.Context, t *noteTx, ns []*Notification) error {
	if len(ns) == 0 {
		return nil
	}
	args := make([]any, 0, 18*len(ns))
	for _, n := range ns {
		var sessionID any
		if n.SessionID != nil {
			sessionID = *n.SessionID
		}
		args = append(args, sessionID, n.ReceivedAt, n.LastReceivedAt, n.Count, n.RemoteAddr, n.Source, n.Body, n.BodySize, n.BodyDropped,
			n.BodyHash, n.Verdict, n.Reason, n.Effect, n.SessionToken, n.MerchantOrderID, n.PaymentToken, n.PaymentStatus, n.Claims)
	}
	rows, err := t.conn.QueryContext(ctx, "INSERT INTO notifications (session_id, received_at, last_received_at, count, remote_addr, source, body, "+
		"body_size, body_dropped, body_hash, verdict, reason, effect, session_token, merchant_order_id, payment_token, payment_status, claims) VALUES "+
		valueRows(len(ns), 18)+" RETURNING id", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	ids := make([]uint, 0, len(ns))
	for rows.Next() {
		var id uint
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) != len(ns) {
		return fmt.Errorf("stored %d notifications, got %d ids", len(ns), len(ids))
	}
	// RETURNING promises no order; rows are inserted in VALUES order, each
	// with a rowid above every earlier one (the writer holds the lock).
	slices.Sort(ids)
	for i, n := range ns {
		n.ID = ids[i]
	}
	return nil
}

// maxOutboxRows keeps one outbox INSERT well under SQLite's limit of 32,766
// bound parameters (20 a message).
const maxOutboxRows = 1000

// queueGroupMail queues the emails each notification calls for (a payment
// applied or a notification rejected as a new row), a run of whole
// notifications' emails per statement.
func queueGroupMail(ctx context.Context, t *noteTx, reqs []*noteRequest, errs []error) {
	built := make([][]*OutboxMessage, len(reqs))
	for i, r := range reqs {
		if errs[i] == nil {
			built[i] = buildNoteMail(ctx, t, r)
		}
	}
	for start := 0; start < len(reqs); {
		end, rows := start, 0
		for end < len(reqs) && (end == start || rows+len(built[end]) <= maxOutboxRows) {
			rows += len(built[end])
			end++
		}
		queueMail(ctx, t, reqs[start:end], built[start:end])
		start = end
	}
}

// queueMail stores a run of notifications' emails with one statement. When
// that fails, each notification's emails are queued on their own, so one bad
// email costs only its own notification's emails; the notification itself
// stays applied, with mailErr saying why.
func queueMail(ctx context.Context, t *noteTx, reqs []*noteRequest, built [][]*OutboxMessage) {
	var all []*OutboxMessage
	for _, msgs := range built {
		all = append(all, msgs...)
	}
	if len(all) == 0 {
		return
	}
	if err := insertQueued(ctx, t, all); err == nil {
		for i, r := range reqs {
			r.queued = len(built[i])
		}
		return
	}
	for i, r := range reqs {
		if len(built[i]) == 0 {
			continue
		}
		if err := insertQueued(ctx, t, built[i]); err != nil {
			r.mailErr = errors.Join(r.mailErr, err)
			continue
		}
		r.queued = len(built[i])
	}
}

// buildNoteMail runs r.mail for a payment applied. (Rejected notifications
// alert staff through a digest, not from here: a stranger's junk must not
// queue mail.) A panic in the hook is caught here: it runs in the writer,
// where it would undo the batch.
func buildNoteMail(ctx context.Context, t *noteTx, r *noteRequest) (msgs []*OutboxMessage) {
	if r.mail == nil || r.link == nil {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			r.mailErr, msgs = fmt.Errorf("building the emails panicked: %v", p), nil
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
	msgs, err := r.mail(MailEvent{Notification: r.n, Session: r.sess, Link: r.link, Staff: t.staff})
	if err != nil {
		r.mailErr = errors.Join(r.mailErr, err)
		return nil
	}
	return msgs
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
	"message_id, status, priority, attempts, next_attempt_at, last_error, server_answer, created_at, updated_at"

// insertQueued is createQueued in plain SQL for several messages in one
// statement: a message whose DedupeKey is already stored is skipped. A
// statement that fails stores none of its messages.
func insertQueued(ctx context.Context, t *noteTx, msgs []*OutboxMessage) error {
	now := time.Now().UTC()
	args := make([]any, 0, 20*len(msgs))
	for _, m := range msgs {
		m.Status = MailQueued
		m.Priority = mailPriority(m.Kind)
		if m.NextAttemptAt.IsZero() {
			m.NextAttemptAt = now
		}
		m.CreatedAt, m.UpdatedAt = now, now
		args = append(args, m.Kind, strPtr(m.DedupeKey), uintPtr(m.LinkID), uintPtr(m.SessionID), uintPtr(m.UserID), uintPtr(m.CreatedByID),
			m.To, m.Lang, m.Subject, m.TextBody, m.HTMLBody, m.MessageID, m.Status, m.Priority, m.Attempts, m.NextAttemptAt.UTC(), m.LastError,
			m.ServerAnswer, m.CreatedAt, m.UpdatedAt)
	}
	_, err := t.conn.ExecContext(ctx, "INSERT INTO outbox_messages ("+outboxColumns+") VALUES "+valueRows(len(msgs), 20)+
		" ON CONFLICT (dedupe_key) DO NOTHING", args...)
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
