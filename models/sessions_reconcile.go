package models

import (
	"context"
	"time"
)

// reconcileWindow is how far back reconciliation looks: a session abandoned
// longer ago than this is not asked about again and again.
const reconcileWindow = 7 * 24 * time.Hour

// OverdueSessions returns up to limit pending sessions of mode made before
// cutoff and not checked since cutoff, least recently checked first, for
// reconciliation.
func (s *Store) OverdueSessions(ctx context.Context, mode string, cutoff time.Time, limit int) ([]Session, error) {
	var rows []Session
	cutoff = cutoff.UTC()
	err := s.read.WithContext(ctx).Raw(overdueSessionsSQL, StatusPending, mode, cutoff, cutoff.Add(-reconcileWindow), cutoff, limit).
		Scan(&rows).Error
	return rows, err
}

// overdueSessionsSQL reads the window through the date index: the + keeps
// SQLite from walking every pending session of the mode, however old,
// through idx_sessions_status_mode_amount instead (88 ms against 1 ms over
// 200,000 sessions); PostgreSQL's rebind drops the hint.
const overdueSessionsSQL = "SELECT * FROM sessions WHERE +status = ? AND +mode = ? AND created_at < ? AND created_at > ? " +
	"AND (checked_at IS NULL OR checked_at < ?) ORDER BY checked_at IS NOT NULL, checked_at, id LIMIT ?"

// MarkChecked records that ETpay was just asked about a session.
func (s *Store) MarkChecked(ctx context.Context, id uint) error {
	return s.write.WithContext(ctx).Model(&Session{}).Where("id = ?", id).Update("checked_at", time.Now().UTC()).Error
}

// ClaimOverdueSession marks session id checked at now if it is still overdue
// (not checked since cutoff), and says whether it did: the reconciler asks
// ETpay only about the sessions it claimed, so instances sharing one
// database never both ask about one session. The claim is a
// compare-and-set: a second instance's UPDATE waits for the first's and
// then finds the session checked.
func (s *Store) ClaimOverdueSession(ctx context.Context, id uint, cutoff, now time.Time) (bool, error) {
	res := s.write.WithContext(ctx).Model(&Session{}).
		Where("id = ? AND status = ? AND (checked_at IS NULL OR checked_at < ?)", id, StatusPending, cutoff.UTC()).
		Update("checked_at", now.UTC())
	return res.RowsAffected == 1, res.Error
}
