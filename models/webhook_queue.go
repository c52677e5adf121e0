package models

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// webhookBody is the body of every webhook: Standard Webhooks' type,
// timestamp (when the event happened) and data, with the link and the
// session as the API shows them (session null for link events).
type webhookBody struct {
	Type      string      `json:"type"`
	Timestamp APITime     `json:"timestamp"`
	Data      webhookData `json:"data"`
}

type webhookData struct {
	Link    *LinkView    `json:"link"`
	Session *SessionView `json:"session"`
}

// shopEvent is an event about to be queued.
type shopEvent struct {
	msgID  string
	typ    string
	linkID *uint
	// mode is the link's (or session's): only endpoints of that mode get
	// it; "" (a test event) goes to the endpoints named, whatever theirs.
	mode string
	body string
	// endpoints, when set, are the only endpoints it goes to (a test
	// event, or an expiry some endpoints were made after); nil: every
	// enabled endpoint subscribed to typ.
	endpoints []uint
}

// newMsgID is a fresh webhook-id: no dots, as the signature scheme needs.
func newMsgID() string { return "msg_" + rand.Text() }

// newShopEvent builds an event of type typ that happened at at, with its
// body frozen now: the link (if any) as the API shows it now, its url on
// baseURL, and the session.
func newShopEvent(baseURL, typ string, at time.Time, link *Link, sess *Session) (shopEvent, error) {
	ev := shopEvent{msgID: newMsgID(), typ: typ}
	body := webhookBody{Type: typ, Timestamp: APITime(at)}
	if link != nil {
		// As the API shows it now; an event told ahead of the clock (a test's)
		// shows the link as of the event.
		now := time.Now()
		if at.After(now) {
			now = at
		}
		v := link.View(baseURL, now)
		body.Data.Link, ev.linkID, ev.mode = &v, &link.ID, link.Mode
	}
	if sess != nil {
		v := sess.View()
		body.Data.Session = &v
		if ev.mode == "" {
			ev.mode = sess.Mode
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return shopEvent{}, fmt.Errorf("webhook body: %w", err)
	}
	ev.body = string(b)
	return ev, nil
}

// eventTime is when an event of type typ about link and sess happened.
func eventTime(typ string, link *Link, sess *Session) time.Time {
	var at *time.Time
	switch typ {
	case EventLinkCreated:
		at = &link.CreatedAt
	case EventLinkCancelled:
		at = link.CancelledAt
	case EventLinkExpired:
		at = link.ExpiresAt
	case EventPaymentSucceeded:
		at = sess.PaidAt
	case EventPaymentFailed:
		at = sess.FailedAt
	}
	if at == nil || at.IsZero() {
		return time.Now()
	}
	return *at
}

// queueShopEvent queues, in tx, the event typ about link (and sess, for a
// payment) for every enabled endpoint subscribed to it: the change that
// causes an event and the event are stored together or not at all. Every
// path that makes such a change calls it (or queueShopEvents); without a
// subscribed endpoint it costs nothing.
func (s *Store) queueShopEvent(tx *gorm.DB, typ string, link *Link, sess *Session) error {
	return s.queueShopEvents(tx, typ, []*Link{link}, sess)
}

// queueLinksCreated queues link.created for links just made in tx, and
// link.expired for those made already expired (the expiry job only looks
// forward from where it stopped). Every path that makes links calls it.
func (s *Store) queueLinksCreated(tx *gorm.DB, links ...*Link) error {
	if err := s.queueShopEvents(tx, EventLinkCreated, links, nil); err != nil {
		return err
	}
	var expired []*Link
	now := time.Now()
	for _, l := range links {
		if l.ExpiresAt != nil && !now.Before(*l.ExpiresAt) {
			expired = append(expired, l)
		}
	}
	return s.queueShopEvents(tx, EventLinkExpired, expired, nil)
}

// queueShopEvents is queueShopEvent for several links at once (a bulk
// creation), in a few statements whatever their number; sess, if any, is
// every link's.
func (s *Store) queueShopEvents(tx *gorm.DB, typ string, links []*Link, sess *Session) error {
	if len(links) == 0 {
		return nil
	}
	if h, err := s.hooksIn(tx, typ); err != nil || !h.wants(typ) {
		return err
	}
	evs := make([]shopEvent, 0, len(links))
	for _, l := range links {
		ev, err := newShopEvent(s.baseURL, typ, eventTime(typ, l, sess), l, sess)
		if err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	return insertShopEvents(tx.Statement.Context, tx.Statement.ConnPool, evs)
}

// maxEventRows keeps one statement well under SQLite's limit of 32,766
// bound parameters.
const maxEventRows = 500

// insertShopEvents stores evs and their deliveries, a few statements per
// maxEventRows events. Deliveries get ids in the events' order, which is the
// order the worker keeps per link and endpoint.
func insertShopEvents(ctx context.Context, conn gorm.ConnPool, evs []shopEvent) error {
	for len(evs) > 0 {
		n := min(len(evs), maxEventRows)
		if err := insertEventRows(ctx, conn, evs[:n]); err != nil {
			return fmt.Errorf("queue webhook events: %w", err)
		}
		evs = evs[n:]
	}
	return nil
}

func insertEventRows(ctx context.Context, conn gorm.ConnPool, evs []shopEvent) error {
	now := time.Now().UTC()
	args := make([]any, 0, 5*len(evs))
	for _, ev := range evs {
		args = append(args, ev.msgID, ev.typ, uintPtr(ev.linkID), ev.body, now)
	}
	rows, err := conn.QueryContext(ctx, "INSERT INTO webhook_events (msg_id, type, link_id, body, created_at) VALUES "+
		valueRows(len(evs), 5)+" RETURNING id, msg_id", args...)
	if err != nil {
		return err
	}
	ids := map[string]uint{}
	for rows.Next() {
		var id uint
		var msgID string
		if err := rows.Scan(&id, &msgID); err != nil {
			rows.Close()
			return err
		}
		ids[msgID] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return insertDeliveries(ctx, conn, evs, ids, now)
}

// deliveryColumns are the columns a new delivery sets.
const deliveryColumns = "event_id, endpoint_id, link_id, priority, status, attempts, next_attempt_at, created_at, updated_at"

// deliveryPriority is 0 for the events a shop waits for (a payment's
// outcome, an admin's test) and 1 for the rest: an endpoint gets one
// delivery at a time, so without it a backlog (5,000 link.created after an
// import, at ~75 a second) would hold a payment.succeeded for a minute.
// A link's own events still go in order (see dueDeliveries).
func deliveryPriority(typ string) int {
	switch typ {
	case EventPaymentSucceeded, EventPaymentFailed, EventTest:
		return 0
	}
	return 1
}

// insertDeliveries makes the deliveries of evs (stored with ids): one
// statement for all the events that go to their subscribers, one each for
// those that go to named endpoints.
func insertDeliveries(ctx context.Context, conn gorm.ConnPool, evs []shopEvent, ids map[string]uint, now time.Time) error {
	var subscribed []any
	rows := 0
	for _, ev := range evs {
		if ev.endpoints != nil {
			if err := insertNamedDeliveries(ctx, conn, ev, ids[ev.msgID], now); err != nil {
				return err
			}
			continue
		}
		subscribed = append(subscribed, ids[ev.msgID], ","+ev.typ+",", uintPtr(ev.linkID), deliveryPriority(ev.typ), ev.mode)
		rows++
	}
	if rows == 0 {
		return nil
	}
	args := append(subscribed, WebhookPending, now, now, now)
	_, err := conn.ExecContext(ctx, "WITH v(event_id, pattern, link_id, priority, mode) AS (VALUES "+
		typedRows(conn, rows, "bigint", "text", "bigint", "integer", "text")+") "+
		"INSERT INTO webhook_deliveries ("+deliveryColumns+") SELECT v.event_id, e.id, v.link_id, v.priority, ?, 0, ?, ?, ? "+
		"FROM v JOIN webhook_endpoints e ON e.enabled AND instr(',' || e.events || ',', v.pattern) > 0 "+
		"AND (v.mode = '' OR e.mode IN ('', v.mode)) ORDER BY v.event_id, e.id", args...)
	return err
}

func insertNamedDeliveries(ctx context.Context, conn gorm.ConnPool, ev shopEvent, eventID uint, now time.Time) error {
	if len(ev.endpoints) == 0 {
		return nil
	}
	args := []any{eventID, uintPtr(ev.linkID), deliveryPriority(ev.typ), WebhookPending, now, now, now, ev.mode, ev.mode}
	for _, id := range ev.endpoints {
		args = append(args, id)
	}
	_, err := conn.ExecContext(ctx, "INSERT INTO webhook_deliveries ("+deliveryColumns+") SELECT ?, id, ?, ?, ?, 0, ?, ?, ? "+
		"FROM webhook_endpoints WHERE (? = '' OR mode IN ('', ?)) AND id IN ("+placeholders(len(ev.endpoints))+") ORDER BY id", args...)
	return err
}
