package live

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"etpay-dashboard/models"
)

// notifySQL numbers a batch of events and notifies each as "<id> <payload>",
// in one statement (one implicit transaction). The advisory lock is held
// until that transaction commits, so no other instance numbers events in
// between: the notifications enter PostgreSQL's queue, and reach every
// listener, in id order. It costs one short lock per batch, and payments
// are not a high-rate stream.
var notifySQL = `WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock($1, hashtext($2))),
numbered AS MATERIALIZED (
	SELECT nextval($3::text::regclass) AS id, p.payload, p.n
	FROM locked, unnest($4::text[]) WITH ORDINALITY AS p(payload, n)
	ORDER BY p.n
)
SELECT pg_notify(` + channelSQL("$2") + `, id::text || ' ' || payload) FROM numbered ORDER BY n`

// sendLoop sends the queued events until ctx ends, a batch per statement
// over one connection, opened again after any failure.
func (r *Relay) sendLoop(ctx context.Context) {
	var conn *pgx.Conn
	defer func() { closeConn(conn) }()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-r.queue:
			batch := []models.Session{s}
			for len(batch) < batchSize && len(r.queue) > 0 {
				batch = append(batch, <-r.queue)
			}
			conn = r.send(ctx, conn, batch)
		}
	}
}

// send notifies batch over conn (opened when nil) and returns the
// connection to use next, nil after a failure. A failure is logged and
// this instance's streams told to resync: their own events are lost too.
func (r *Relay) send(ctx context.Context, conn *pgx.Conn, batch []models.Session) *pgx.Conn {
	if n := r.dropped.Swap(0); n > 0 {
		r.logger.Error("live events dropped: too many waiting for the database", "events", n)
	}
	payloads := make([]string, len(batch))
	for i, s := range batch {
		payloads[i] = encodeNotice(s)
	}
	ctx, cancel := context.WithTimeout(ctx, statementTimeout)
	defer cancel()
	for {
		fresh := conn == nil
		err := ctx.Err()
		if fresh && err == nil {
			if conn, err = r.connect(ctx); err == nil {
				r.senderPID.Store(conn.PgConn().PID())
			}
		}
		if err == nil {
			if _, err = conn.Exec(ctx, notifySQL, lockClass, r.channel, r.sequence, payloads); err == nil {
				return conn
			}
		}
		closeConn(conn)
		conn = nil
		// A connection kept since the last batch may have died idle (a
		// database restart): once more on a new one. Should the first
		// have notified after all, a duplicate event carries the same row.
		if !fresh && ctx.Err() == nil {
			continue
		}
		if ctx.Err() != context.Canceled {
			r.logger.Error("live events not sent to the other instances; their rows are right on reload",
				"events", len(batch), "err", err)
			r.broker.resync()
		}
		return nil
	}
}

// notice is what a notification carries after its event id: the session
// as the live table needs it or, when that would not fit, only its id for
// each instance to read.
type notice struct {
	Session *noticeSession `json:"session,omitempty"`
	Read    uint           `json:"read,omitempty"`
}

// noticeSession is a session without its tokens: a notification is seen
// by whoever listens on the database, and the live table shows none of
// them but the payment token.
type noticeSession struct {
	ID                   uint       `json:"id"`
	LinkID               uint       `json:"link_id"`
	Mode                 string     `json:"mode"`
	Status               string     `json:"status"`
	MerchantOrderID      string     `json:"merchant_order_id"`
	Amount               int64      `json:"amount"`
	PaymentStatus        string     `json:"payment_status"`
	PaymentToken         string     `json:"payment_token"`
	Conflict             bool       `json:"conflict"`
	LastNotificationAt   *time.Time `json:"last_notification_at"`
	LastNotificationNote string     `json:"last_notification_note"`
	CheckedAt            *time.Time `json:"checked_at"`
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
	PaidAt               *time.Time `json:"paid_at"`
	FailedAt             *time.Time `json:"failed_at"`
}

// encodeNotice is s as a notification's payload.
func encodeNotice(s models.Session) string {
	data, err := json.Marshal(notice{Session: &noticeSession{
		ID: s.ID, LinkID: s.LinkID, Mode: s.Mode, Status: s.Status, MerchantOrderID: s.MerchantOrderID,
		Amount: s.Amount, PaymentStatus: s.PaymentStatus, PaymentToken: s.PaymentToken, Conflict: s.Conflict,
		LastNotificationAt: s.LastNotificationAt, LastNotificationNote: s.LastNotificationNote,
		CheckedAt: s.CheckedAt, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, PaidAt: s.PaidAt, FailedAt: s.FailedAt,
	}})
	if err != nil || len(data) > maxPayload {
		data, _ = json.Marshal(notice{Read: s.ID})
	}
	return string(data)
}

// session is the session a notice carries.
func (n *noticeSession) session() models.Session {
	return models.Session{
		ID: n.ID, LinkID: n.LinkID, Mode: n.Mode, Status: n.Status, MerchantOrderID: n.MerchantOrderID,
		Amount: n.Amount, PaymentStatus: n.PaymentStatus, PaymentToken: n.PaymentToken, Conflict: n.Conflict,
		LastNotificationAt: n.LastNotificationAt, LastNotificationNote: n.LastNotificationNote,
		CheckedAt: n.CheckedAt, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, PaidAt: n.PaidAt, FailedAt: n.FailedAt,
	}
}
