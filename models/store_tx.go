package models

import (
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// txStore is the writes that run inside a transaction another Store method
// has opened, so that they are stored with the rest of it or not at all
// (a link and the email carrying it, a digest and its window). The Store
// itself always writes through its own writer connection.
type txStore struct{ tx *gorm.DB }

// createLink stores a link made by newLink, unless its order id already has
// an open (unexpired) or paid link in its mode: then ErrOrderInUse.
func (t txStore) createLink(l *Link) error {
	var n int64
	err := t.tx.Model(&Link{}).
		Where("merchant_order_id = ? AND mode = ? AND status IN ?", l.MerchantOrderID, l.Mode, []string{LinkOpen, LinkPaid}).
		// An open link that has expired may be replaced, like a cancelled one.
		Where("status = ? OR expires_at IS NULL OR expires_at > ?", LinkPaid, time.Now().UTC()).
		Count(&n).Error
	if err != nil {
		return err
	}
	if n > 0 {
		return ErrOrderInUse
	}
	return t.tx.Create(l).Error
}

// createQueued queues a message for the outbox worker. A message whose
// DedupeKey is already stored is skipped.
func (t txStore) createQueued(m *OutboxMessage) error {
	m.Status = MailQueued
	m.Priority = mailPriority(m.Kind)
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = time.Now().UTC()
	}
	if m.DedupeKey != nil {
		return t.tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).Create(m).Error
	}
	return t.tx.Create(m).Error
}
