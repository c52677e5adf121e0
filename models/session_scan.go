package models

import (
	"database/sql"
	"time"
)

// sessionColumns is what a page of sessions reads: every column of a
// session, named, in the order scanSessions reads them. (GORM's Scan found
// each row's fields by reflection: a sixth of what a search's page cost the
// server.)
const sessionColumns = "s.id, s.link_id, s.session_token, s.signature_token, s.mode, s.status, s.merchant_order_id, s.amount, " +
	"s.payment_status, s.payment_token, s.conflict, s.last_notification_at, s.last_notification_note, s.checked_at, " +
	"s.created_at, s.updated_at, s.paid_at, s.failed_at"

// scanSessions reads rows of sessionColumns.
func scanSessions(rows *sql.Rows) ([]Session, error) {
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		var lastNote, checked, created, updated, paid, failed sql.NullTime
		if err := rows.Scan(&s.ID, &s.LinkID, &s.SessionToken, &s.SignatureToken, &s.Mode, &s.Status, &s.MerchantOrderID, &s.Amount,
			&s.PaymentStatus, &s.PaymentToken, &s.Conflict, &lastNote, &s.LastNotificationNote, &checked,
			&created, &updated, &paid, &failed); err != nil {
			return nil, err
		}
		s.LastNotificationAt, s.CheckedAt, s.PaidAt, s.FailedAt = timeOrNil(lastNote), timeOrNil(checked), timeOrNil(paid), timeOrNil(failed)
		s.CreatedAt, s.UpdatedAt = created.Time, updated.Time
		out = append(out, s)
	}
	return out, rows.Err()
}

// timeOrNil is a nullable column's time, nil for NULL.
func timeOrNil(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}
