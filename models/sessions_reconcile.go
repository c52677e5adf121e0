package models

import (
	"context"
	"time"
)

// OverdueSessions returns up to limit pending sessions of mode made before
// cutoff, least recently checked first, for reconciliation.
func (s *Store) OverdueSessions(ctx context.Context, mode string, cutoff time.Time, limit int) ([]Session, error) {
	var rows []Session
	err := s.read.WithContext(ctx).
		Where("status = ? AND mode = ? AND created_at < ?", StatusPending, mode, cutoff.UTC()).
		Order("checked_at IS NOT NULL, checked_at, id").Limit(limit).Find(&rows).Error
	return rows, err
}

// MarkChecked records that ETpay was just asked about a session.
func (s *Store) MarkChecked(ctx context.Context, id uint) error {
	return s.write.WithContext(ctx).Model(&Session{}).Where("id = ?", id).Update("checked_at", time.Now().UTC()).Error
}
