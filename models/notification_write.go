package models

import (
	"context"
	"fmt"
	"slices"
	"time"
)

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
		rows := typedRows(t.conn, movedRows, "bigint", "text", "text", "text", "timestamptz", "timestamptz", "boolean", "timestamptz", "text", "timestamptz")
		if _, err := t.conn.ExecContext(ctx, movedSessionsQuery(rows), moved...); err != nil {
			return fmt.Errorf("update moved sessions: %w", err)
		}
	}
	if notedRows > 0 {
		if _, err := t.conn.ExecContext(ctx, "WITH v(id, conflict, last_notification_at, last_notification_note, updated_at) AS (VALUES "+
			typedRows(t.conn, notedRows, "bigint", "boolean", "timestamptz", "text", "timestamptz")+") UPDATE sessions SET conflict = v.conflict, last_notification_at = v.last_notification_at, "+
			"last_notification_note = v.last_notification_note, updated_at = v.updated_at FROM v WHERE sessions.id = v.id", noted...); err != nil {
			return fmt.Errorf("update noted sessions: %w", err)
		}
	}
	if len(g.changedLinks) > 0 {
		args := make([]any, 0, 5*len(g.changedLinks))
		for _, l := range g.changedLinks {
			args = append(args, l.ID, l.Status, utcPtr(l.PaidAt), l.ReviewReason, l.UpdatedAt)
		}
		if _, err := t.conn.ExecContext(ctx, "WITH v(id, status, paid_at, review_reason, updated_at) AS (VALUES "+
			typedRows(t.conn, len(g.changedLinks), "bigint", "text", "timestamptz", "text", "timestamptz")+") "+
			"UPDATE links SET status = v.status, paid_at = v.paid_at, review_reason = v.review_reason, updated_at = v.updated_at "+
			"FROM v WHERE links.id = v.id", args...); err != nil {
			return fmt.Errorf("update links: %w", err)
		}
		if err := withdrawEmailsOfPaidLinks(ctx, t, g.changedLinks, g.queuedMail); err != nil {
			return err
		}
	}
	for _, n := range g.recounted {
		if _, err := t.conn.ExecContext(ctx, "UPDATE notifications SET count = ?, last_received_at = ? WHERE id = ?",
			n.Count, n.LastReceivedAt, n.ID); err != nil {
			return fmt.Errorf("count rejected notification %d again: %w", n.ID, err)
		}
	}
	if err := insertNotifications(ctx, t, g.inserts); err != nil {
		return fmt.Errorf("insert notifications: %w", err)
	}
	for _, c := range g.copies {
		c.result.ID = c.row.ID
	}
	return nil
}

// movedSessionsQuery updates the sessions whose status or payment moved,
// given as rows of VALUES (valueRows or typedRows of 10).
func movedSessionsQuery(rows string) string {
	return "WITH v(id, status, payment_status, payment_token, paid_at, failed_at, conflict, last_notification_at, " +
		"last_notification_note, updated_at) AS (VALUES " + rows + ") " +
		"UPDATE sessions SET status = v.status, payment_status = v.payment_status, payment_token = v.payment_token, " +
		"paid_at = v.paid_at, failed_at = v.failed_at, conflict = v.conflict, last_notification_at = v.last_notification_at, " +
		"last_notification_note = v.last_notification_note, updated_at = v.updated_at FROM v WHERE sessions.id = v.id"
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

// withdrawEmailsOfPaidLinks withdraws the queued link emails and reminders of links this
// group paid, in the payment's transaction: a paid link's email must not
// reach the customer now (the outbox worker would withdraw it at its claim
// too, but the link's history then says so only later). Only the links
// read with such an email queued (queued) can have one: on SQLite the group
// holds the write lock since it read them, so none was queued meanwhile
// (on PostgreSQL a reminder queued meanwhile is withdrawn by the worker's
// claim-time check), and most groups run no statement here at all.
func withdrawEmailsOfPaidLinks(ctx context.Context, t *noteTx, links []*Link, queued map[uint]bool) error {
	var ids []any
	for _, l := range links {
		if l.Status == LinkPaid && queued[l.ID] {
			ids = append(ids, l.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	now := time.Now().UTC()
	args := append([]any{MailWithdrawn, now, MailQueued, now}, ids...)
	_, err := t.conn.ExecContext(ctx, withdrawEmailsQuery(len(ids)), args...)
	if err != nil {
		return fmt.Errorf("withdraw the emails of paid links: %w", err)
	}
	return nil
}

// withdrawEmailsQuery withdraws the queued link emails of n links. It names
// the link_id index: left to itself SQLite picks idx_outbox_claim (status
// = 'queued') and reads every queued email per group, and emails queue up
// whenever the mail server is away (receipts, thousands an hour), which
// made this one statement most of the writer's time.
func withdrawEmailsQuery(n int) string {
	return "UPDATE outbox_messages INDEXED BY idx_outbox_messages_link_id SET status = ?, withdrawn_at = ? " +
		"WHERE kind IN (" + linkMailKindsSQL + ") AND status = ? AND (sending_until IS NULL OR sending_until <= ?) AND link_id IN (" + placeholders(n) + ")"
}
