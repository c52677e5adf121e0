package models

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
)

// DemoPrefix starts the description of every demo link. Demo data needs no
// column of its own: a link is demo data when its description starts with
// DemoPrefix and it has no creator (CreatedByID is nil), and every seed run
// leaves an audit entry (AuditDemoSeeded) naming the id ranges it added.
const DemoPrefix = "[demo] "

// AuditDemoSeeded is the audit action of a seed run.
const AuditDemoSeeded = "demo_seeded"

// DemoLink is one demo link with its one ETpay session and that session's
// notifications. IDs and foreign keys are assigned by InsertDemo.
type DemoLink struct {
	Link          Link
	Session       Session
	Notifications []Notification
}

// DemoRange is the ids one InsertDemo call gave its rows, first to last.
type DemoRange struct {
	Links, Sessions, Notifications [2]uint
}

var (
	linkColumns = []string{"id", "code", "merchant_order_id", "amount", "customer_email", "description", "status", "mode",
		"created_by_id", "review_reason", "expires_at", "opened_at", "last_opened_at", "cancelled_at", "cancelled_by_id", "created_at", "updated_at", "paid_at"}
	demoSessionColumns = []string{"id", "link_id", "session_token", "signature_token", "mode", "status", "merchant_order_id", "amount",
		"payment_status", "payment_token", "conflict", "last_notification_at", "last_notification_note", "checked_at",
		"created_at", "updated_at", "paid_at", "failed_at"}
	notificationColumns = []string{"id", "session_id", "received_at", "last_received_at", "count", "remote_addr", "source", "body",
		"body_hash", "verdict", "reason", "effect", "session_token", "merchant_order_id", "payment_token", "payment_status", "claims"}
)

// InsertDemo stores rows in one transaction on the writer connection:
// InsertDemoBatch of PrepareDemo(rows), with the ids the tables would give
// them now.
func (s *Store) InsertDemo(ctx context.Context, rows []DemoLink) (DemoRange, error) {
	next, err := s.NextDemoIDs(ctx)
	if err != nil {
		return DemoRange{}, err
	}
	b, err := PrepareDemo(rows, next)
	if err != nil {
		return DemoRange{}, err
	}
	return s.InsertDemoBatch(ctx, b)
}

// InsertDemoBatch stores b's rows in one transaction on the writer
// connection and gives them their ids. Ids continue after the largest in
// each table, read inside the (immediate) transaction, so it is safe while
// the server writes too: it just waits its turn like any other writer, and
// if the server took ids b expected, b's statements are written again.
// Times are stored in UTC, as everywhere else. Callers keep batches to a
// few thousand rows so the server's own writes never wait long.
func (s *Store) InsertDemoBatch(ctx context.Context, b *DemoBatch) (DemoRange, error) {
	var r DemoRange
	if len(b.rows) == 0 {
		return r, nil
	}
	conn, release, err := s.bulkWriteConn(ctx)
	if err != nil {
		return r, err
	}
	defer release()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return r, err
	}
	defer sqlTx.Rollback()
	tx, err := s.d.demoTx(ctx, sqlTx)
	if err != nil {
		return r, err
	}

	last, err := lastDemoIDs(ctx, tx)
	if err != nil {
		return r, err
	}
	if first := last.next(); first != b.first {
		if b, err = PrepareDemo(b.rows, first); err != nil {
			return r, err
		}
	}
	next := b.Next()
	r.Links = [2]uint{b.first.Link, next.Link - 1}
	r.Sessions = [2]uint{b.first.Session, next.Session - 1}
	if b.nNotes > 0 {
		r.Notifications = [2]uint{b.first.Notification, next.Notification - 1}
	}
	insertLinks := insertDemoLinks
	if s.d.postgres { // no FTS5 index to fill: pg_trgm's indexes follow the rows
		insertLinks = func(ctx context.Context, tx demoTx, stmts []string, _ [2]uint) error { return execAll(ctx, tx, stmts) }
	}
	if err := insertLinks(ctx, tx, b.links, r.Links); err != nil {
		return r, fmt.Errorf("insert demo links: %w", err)
	}
	if err := execAll(ctx, tx, b.sessions); err != nil {
		return r, fmt.Errorf("insert demo sessions: %w", err)
	}
	if err := execAll(ctx, tx, b.notes); err != nil {
		return r, fmt.Errorf("insert demo notifications: %w", err)
	}
	if err := s.d.demoInserted(ctx, tx); err != nil {
		return r, err
	}
	if err := sqlTx.Commit(); err != nil {
		return r, err
	}
	b.giveIDs(r)
	return r, nil
}

// giveIDs sets the ids InsertDemoBatch gave b's rows (r) in them.
func (b *DemoBatch) giveIDs(r DemoRange) {
	note := r.Notifications[0]
	for k := range b.rows {
		d := &b.rows[k]
		d.Link.ID, d.Session.ID, d.Session.LinkID = r.Links[0]+uint(k), r.Sessions[0]+uint(k), r.Links[0]+uint(k)
		for j := range d.Notifications {
			d.Notifications[j].ID, d.Notifications[j].SessionID = note, &d.Session.ID
			note++
		}
	}
}

// execAll runs stmts.
func execAll(ctx context.Context, tx demoTx, stmts []string) error {
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// insertDemoLinks inserts the links of a batch, their ids ids[0] to ids[1],
// and indexes them in links_fts with one statement instead of the insert
// trigger. The trigger indexes each INSERT's rows apart, and FTS5 writes
// what it gathered as a new segment at the end of every statement that
// fires it (when the statement's savepoint is released), so 16 links at a
// time made 1,250 tiny segments a batch, merged over and over as they came
// (a sixth of the seed's time). One INSERT … SELECT writes the batch as one
// segment. The trigger is dropped and made again inside the batch's
// transaction, from the definition Open uses: no other connection ever sees
// links without it, and the index holds exactly the rows and text the
// trigger would have given it.
func insertDemoLinks(ctx context.Context, tx demoTx, stmts []string, ids [2]uint) error {
	if _, err := tx.ExecContext(ctx, "DROP TRIGGER IF EXISTS links_fts_insert"); err != nil {
		return err
	}
	if err := execAll(ctx, tx, stmts); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO links_fts (rowid, merchant_order_id, customer_email, description) "+
		"SELECT id, merchant_order_id, customer_email, description FROM links WHERE id BETWEEN ? AND ?", ids[0], ids[1]); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, linksFTSInsertTrigger)
	return err
}

// bulkWriteConn takes the writer connection and sets it up for a demo batch;
// release, deferred before the transaction's rollback so that it runs after
// it, puts the settings back and returns the connection.
//
// A larger cache keeps the indexes' pages between batches. A demo batch
// commits without waiting for the disk (synchronous NORMAL: the WAL stays
// consistent, and the next commit that does wait, such as a notification's,
// flushes these frames with its own), which saves an fsync of tens of MB
// per batch; a power cut mid-seed may lose the last demo batches, never
// anything the server acknowledged. Foreign keys
// are off for this connection during the batch (the pragma cannot change
// inside a transaction): an immediate foreign key makes SQLite keep a
// statement journal for every multi-row INSERT, which costs more than the
// inserts. InsertDemo assigns the ids, so every reference is right; tests
// check with PRAGMA foreign_key_check. All three are settings of this
// (single, writer) connection only.
func (s *Store) bulkWriteConn(ctx context.Context) (conn *sql.Conn, release func(), err error) {
	db, err := s.write.DB()
	if err != nil {
		return nil, nil, err
	}
	conn, err = db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if s.d.postgres {
		return pgBulkConn(ctx, conn)
	}
	for _, p := range []string{"PRAGMA cache_size = -262144", "PRAGMA foreign_keys = OFF", "PRAGMA synchronous = NORMAL"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	release = func() {
		conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL")
		conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON")
		// The writer's own cache again: every commit of a 256 MB cache
		// costs the notification writer after a demo batch (15% of its CPU).
		conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA cache_size = %d", -writerCacheKiB))
		conn.Close()
	}
	return conn, release, nil
}

// demoIDs are the last ids used in each table: the next row of each gets one more.
type demoIDs struct {
	link, session, note uint
}

// next is the ids after last.
func (last demoIDs) next() DemoIDs {
	return DemoIDs{last.link + 1, last.session + 1, last.note + 1}
}

// lastDemoIDs reads the largest id of each table inside tx: in the
// writer's transaction, no other writer can take the ones after it before
// the batch commits.
func lastDemoIDs(ctx context.Context, tx demoTx) (demoIDs, error) {
	var last demoIDs
	for _, q := range []struct {
		table string
		dst   *uint
	}{{"links", &last.link}, {"sessions", &last.session}, {"notifications", &last.note}} {
		var max sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MAX(id) FROM "+q.table).Scan(&max); err != nil {
			return last, err
		}
		*q.dst = uint(max.Int64)
	}
	return last, nil
}

// demoLinkValues is l in linkColumns' order. Creator and canceller are
// always NULL: no creator is half of what marks a link as demo data.
func demoLinkValues(l *Link) []any {
	return []any{l.ID, l.Code, l.MerchantOrderID, l.Amount, l.CustomerEmail, l.Description, l.Status, l.Mode,
		nil, l.ReviewReason, utcPtr(l.ExpiresAt), utcPtr(l.OpenedAt), utcPtr(cmp.Or(l.LastOpenedAt, l.OpenedAt)), utcPtr(l.CancelledAt), nil,
		l.CreatedAt.UTC(), l.UpdatedAt.UTC(), utcPtr(l.PaidAt)}
}

// demoSessionValues is ss in demoSessionColumns' order.
func demoSessionValues(ss *Session) []any {
	return []any{ss.ID, ss.LinkID, ss.SessionToken, ss.SignatureToken, ss.Mode, ss.Status, ss.MerchantOrderID, ss.Amount,
		ss.PaymentStatus, ss.PaymentToken, ss.Conflict, utcPtr(ss.LastNotificationAt), ss.LastNotificationNote, utcPtr(ss.CheckedAt),
		ss.CreatedAt.UTC(), ss.UpdatedAt.UTC(), utcPtr(ss.PaidAt), utcPtr(ss.FailedAt)}
}

// demoNotificationValues is n, stored for session sessID, in notificationColumns' order.
func demoNotificationValues(n *Notification, sessID uint) []any {
	return []any{n.ID, sessID, n.ReceivedAt.UTC(), n.LastReceivedAt.UTC(), n.Count, n.RemoteAddr, n.Source, n.Body,
		n.BodyHash, n.Verdict, n.Reason, n.Effect, n.SessionToken, n.MerchantOrderID, n.PaymentToken, n.PaymentStatus, n.Claims}
}

// DemoSessions returns up to limit demo sessions with status, oldest first,
// signature tokens included: the load test signs notifications with them.
func (s *Store) DemoSessions(ctx context.Context, status string, limit int) ([]Session, error) {
	var rows []Session
	err := s.read.WithContext(ctx).
		Where("status = ? AND link_id IN (SELECT id FROM links WHERE created_by_id IS NULL AND description LIKE ?)", status, DemoPrefix+"%").
		Order("id").Limit(limit).Find(&rows).Error
	return rows, err
}

// NotificationBodyCounts counts stored notifications by body hash (hex
// SHA-256 of the body), with one pass over the table: the load test checks
// with it that every acknowledged notification was stored.
func (s *Store) NotificationBodyCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.read.WithContext(ctx).Raw("SELECT body_hash, count(*) FROM notifications GROUP BY body_hash").Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var (
			hash string
			n    int
		)
		if err := rows.Scan(&hash, &n); err != nil {
			return nil, err
		}
		counts[hash] = n
	}
	return counts, rows.Err()
}

// ForeignKeyProblems counts rows whose references point nowhere (PRAGMA
// foreign_key_check): bulk inserts run with foreign keys off, so tests check.
func (s *Store) ForeignKeyProblems(ctx context.Context) (int, error) {
	if s.d.postgres {
		return 0, nil // demo batches keep PostgreSQL's foreign keys on
	}
	var rows []map[string]any
	err := s.read.WithContext(ctx).Raw("PRAGMA foreign_key_check").Scan(&rows).Error
	return len(rows), err
}
