package models

import (
	"fmt"
	"time"
)

// The rules of a notification, as pure functions: what one notification does
// to its session and link, given those rows as the notifications before it
// left them. They read no database and keep no bookkeeping (see noteGroup for
// both), so they are the same whether a notification is applied alone or in
// a group, and can be tested without SQLite.

// ruleInput is what the rules see of one notification.
type ruleInput struct {
	// Note is the notification as received: its claims, the reason it
	// failed verification (if it did) and when it came.
	Note Notification
	// Verified says the notification passed verification; Paid, that its
	// payment_status means the order is paid.
	Verified, Paid bool
	// Session is the session the notification names; nil when there is none.
	Session *Session
	// Link is the session's link; it may be nil unless a success may pay it
	// (the session is not paid yet). LinkUnreadable says part of it could
	// not be read.
	Link           *Link
	LinkUnreadable bool
	// Known says the session already has a verified notification with this
	// payment_token and payment_status: this one says it again.
	Known bool
}

// ruleOutcome is what the rules decide for one notification.
type ruleOutcome struct {
	Verdict, Reason, Effect string
	// Session is the session as the notification leaves it: nil when the
	// notification changes nothing on it (it was not verified).
	Session *Session
	// Moved says the session's status or payment changed, not only its note
	// of the last notification.
	Moved bool
	// Link is the link as the payment leaves it; nil unless Effect is EffectPaid.
	Link *Link
	// Counts says the notification's result is now one the session has: a
	// later notification saying it again is a duplicate.
	Counts bool
}

// applyRules decides what one notification does. A notification that failed
// verification changes nothing: it is rejected with its reason. A verified
// one is noted on its session; it is rejected when it is about another order,
// a duplicate when the session already has its result, and otherwise moves
// the session (see moveSession) and, for a payment, closes the link (see
// linkPaid). A verified notification whose session, or whose link when it
// would pay it, is unknown is an error: nothing is decided.
func applyRules(in ruleInput) (ruleOutcome, error) {
	n := in.Note
	if !in.Verified {
		return ruleOutcome{Verdict: VerdictRejected, Reason: n.Reason, Effect: EffectNone}, nil
	}
	if in.Session == nil {
		return ruleOutcome{}, ErrNotFound
	}
	sess := *in.Session
	if in.Paid && sess.Status != StatusPaid && in.Link == nil {
		return ruleOutcome{}, fmt.Errorf("session %d: link %d: %w", sess.ID, sess.LinkID, ErrNotFound)
	}
	out := ruleOutcome{Verdict: VerdictVerified, Reason: n.Reason, Effect: EffectNone, Session: &sess}
	switch {
	case n.MerchantOrderID != sess.MerchantOrderID:
		// Genuinely signed, but not about this order: keep it for review, never pay.
		out.Verdict, out.Reason = VerdictRejected, ReasonOrderMismatch
	case in.Known:
		out.Verdict = VerdictDuplicate
	default:
		out.Effect, out.Moved = moveSession(&sess, n, in.Paid)
		if out.Effect == EffectPaid {
			out.Link = linkPaid(*in.Link, in.LinkUnreadable, n.ReceivedAt)
		}
	}
	at := n.ReceivedAt
	sess.LastNotificationAt, sess.LastNotificationNote = &at, out.Verdict
	out.Counts = out.Verdict != VerdictRejected
	return out, nil
}

// moveSession moves sess as a verified result says; it returns the
// notification's effect and whether the status or payment moved (else at most
// the conflict flag changed).
func moveSession(sess *Session, n Notification, paid bool) (effect string, moved bool) {
	now := n.ReceivedAt
	if paid {
		if sess.Status == StatusPaid {
			if sess.PaymentToken == n.PaymentToken {
				return EffectNone, false
			}
			sess.Conflict = true
			return EffectConflict, false
		}
		// A success on a session ETpay already called failed is applied (failed
		// is not final) but flagged: the two answers contradict each other.
		sess.Conflict = sess.Status == StatusFailed
		sess.Status, sess.PaymentStatus, sess.PaymentToken, sess.PaidAt = StatusPaid, n.PaymentStatus, n.PaymentToken, &now
		return EffectPaid, true
	}
	switch sess.Status {
	case StatusPaid:
		// paid is final: a later failure is kept as a conflict for staff to see.
		sess.Conflict = true
		return EffectConflict, false
	case StatusFailed:
		return EffectNone, false
	}
	sess.Status, sess.PaymentStatus, sess.PaymentToken, sess.FailedAt = StatusFailed, n.PaymentStatus, n.PaymentToken, &now
	return EffectFailed, true
}

// linkPaid is the link once a payment at at closes it. A link that was
// already paid, cancelled or expired is flagged for a refund, because the
// customer then paid twice or too late; an expired one is still marked paid,
// so it is never replaced. A link part of which could not be read (its
// expiry, say) is flagged for a person to look at; the payment stands.
func linkPaid(link Link, unreadable bool, at time.Time) *Link {
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
	if unreadable && link.ReviewReason == "" {
		link.ReviewReason = ReviewUnreadable
	}
	return &link
}
