package models

import (
	"context"
	"fmt"
	"slices"
	"time"
)

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
