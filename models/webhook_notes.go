package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// paymentEvents are the event types a notification's effect causes.
var paymentEvents = map[string]string{EffectPaid: EventPaymentSucceeded, EffectFailed: EventPaymentFailed}

// queueNoteEvents queues, in the writer's transaction, payment.succeeded or
// payment.failed for each notification of the group that paid or failed its
// session. A failure here fails the group like any of its statements (see
// applyNotes): a payment is never recorded without its event. Without a
// subscribed endpoint it reads nothing.
func queueNoteEvents(ctx context.Context, t *noteTx, reqs []*noteRequest, errs []error) error {
	if !t.hooks.wants(EventPaymentSucceeded) && !t.hooks.wants(EventPaymentFailed) {
		return nil
	}
	var moved []*noteRequest
	var linkIDs []any
	for i, r := range reqs {
		if errs[i] == nil && r.sess != nil && t.hooks.wants(paymentEvents[r.n.Effect]) {
			moved = append(moved, r)
			linkIDs = append(linkIDs, r.sess.LinkID)
		}
	}
	if len(moved) == 0 {
		return nil
	}
	links, err := loadEventLinks(ctx, t.conn, linkIDs)
	if err != nil {
		return fmt.Errorf("load the links of webhook events: %w", err)
	}
	evs := make([]shopEvent, 0, len(moved))
	for _, r := range moved {
		typ := paymentEvents[r.n.Effect]
		ev, err := newShopEvent(t.baseURL, typ, eventTime(typ, nil, r.sess), links[r.sess.LinkID], r.sess)
		if err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	return insertShopEvents(ctx, t.conn, evs)
}

// eventLinkColumns are what a link's view needs.
const eventLinkColumns = "id, code, merchant_order_id, amount, customer_email, description, status, mode, review_reason, " +
	"created_at, expires_at, opened_at, last_opened_at, cancelled_at, paid_at"

// loadEventLinks reads links for their views, as the group left them.
// Times are read leniently: a stored value that cannot be read is shown as
// empty, never fatal to the payment.
func loadEventLinks(ctx context.Context, conn gorm.ConnPool, ids []any) (map[uint]*Link, error) {
	rows, err := conn.QueryContext(ctx, "SELECT "+eventLinkColumns+" FROM links WHERE id IN ("+placeholders(len(ids))+")", ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	links := map[uint]*Link{}
	for rows.Next() {
		l, err := scanEventLink(rows)
		if err != nil {
			return nil, err
		}
		links[l.ID] = l
	}
	return links, rows.Err()
}

// scanEventLink reads one row of eventLinkColumns.
func scanEventLink(rows interface{ Scan(...any) error }) (*Link, error) {
	var (
		l                                            Link
		created, expires, opened, last, cancel, paid lenientTime
	)
	if err := rows.Scan(&l.ID, &l.Code, &l.MerchantOrderID, &l.Amount, &l.CustomerEmail, &l.Description, &l.Status, &l.Mode,
		&l.ReviewReason, &created, &expires, &opened, &last, &cancel, &paid); err != nil {
		return nil, err
	}
	l.CreatedAt = created.value()
	l.ExpiresAt, l.OpenedAt, l.LastOpenedAt, l.CancelledAt, l.PaidAt = expires.ptr(), opened.ptr(), last.ptr(), cancel.ptr(), paid.ptr()
	return &l, nil
}
