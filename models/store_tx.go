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
type txStore struct {
	tx *gorm.DB
	// orderIDsLocked says the transaction holds its links' order-id locks
	// already (an import takes the whole batch's at once).
	orderIDsLocked bool
}

// createLink stores a link made by newLink, unless its order id already has
// an open (unexpired) or paid link in its mode: then an *OrderInUseError
// naming that link (errors.Is ErrOrderInUse). The check and the insert are
// one step across instances too (lockOrderIDs).
func (t txStore) createLink(l *Link) error {
	// On PostgreSQL, no other instance checks this order id until commit.
	if !t.orderIDsLocked {
		if err := lockOrderIDs(t.tx, l); err != nil {
			return err
		}
	}
	holder, err := orderHolder(t.tx, l, 0)
	if err != nil {
		return err
	}
	if holder != 0 {
		return &OrderInUseError{LinkID: holder}
	}
	return t.tx.Create(l).Error
}

// orderHolder is the newest link other than except that holds l's order id
// in its mode (open and unexpired, or paid), or 0. Callers on PostgreSQL
// hold lockOrderIDs for l first.
func orderHolder(tx *gorm.DB, l *Link, except uint) (uint, error) {
	var existing []uint
	err := tx.Model(&Link{}).
		// Through the NOCASE index of order ids, then as written.
		Where("merchant_order_id COLLATE NOCASE = ? AND merchant_order_id = ?", l.MerchantOrderID, l.MerchantOrderID).
		Where("mode = ? AND status IN ? AND id <> ?", l.Mode, []string{LinkOpen, LinkPaid}, except).
		// An open link that has expired may be replaced, like a cancelled one.
		Where("status = ? OR expires_at IS NULL OR expires_at > ?", LinkPaid, time.Now().UTC()).
		Order("id DESC").Limit(1).Pluck("id", &existing).Error
	if err != nil || len(existing) == 0 {
		return 0, err
	}
	return existing[0], nil
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
