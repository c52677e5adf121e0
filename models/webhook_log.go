package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// WebhookLogEntry is one attempt as an endpoint's delivery log shows it,
// with its event and where its delivery stands now.
type WebhookLogEntry struct {
	WebhookAttempt
	MsgID, Type    string
	DeliveryStatus string
	NextAttemptAt  time.Time
}

// WebhookLog returns an endpoint's latest attempts, newest first.
func (s *Store) WebhookLog(ctx context.Context, endpointID uint, limit int) ([]WebhookLogEntry, error) {
	var rows []WebhookLogEntry
	err := s.read.WithContext(ctx).Raw("SELECT a.*, e.msg_id, e.type, d.status AS delivery_status, d.next_attempt_at "+
		"FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_events e ON e.id = d.event_id "+
		"WHERE a.endpoint_id = ? ORDER BY a.id DESC LIMIT ?", endpointID, limit).Scan(&rows).Error
	return rows, err
}

// WebhookWaiting is a delivery still pending: not yet tried, or retrying.
type WebhookWaiting struct {
	DeliveryID    uint
	MsgID, Type   string
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
}

// WebhookWaitingList returns an endpoint's pending deliveries, in the order
// they go.
func (s *Store) WebhookWaitingList(ctx context.Context, endpointID uint, limit int) ([]WebhookWaiting, error) {
	var rows []WebhookWaiting
	err := s.read.WithContext(ctx).Raw("SELECT d.id AS delivery_id, e.msg_id, e.type, d.attempts, d.next_attempt_at, d.created_at "+
		"FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "+
		"WHERE d.endpoint_id = ? AND d.status = ? ORDER BY d.id LIMIT ?", endpointID, WebhookPending, limit).Scan(&rows).Error
	return rows, err
}

// ResendWebhookDelivery queues one of an endpoint's deliveries for a new
// attempt now, with the same webhook-id and body: a delivered or failed one
// becomes pending again; a pending one stops waiting. If that attempt
// fails, the retries go on from the attempts it has.
func (s *Store) ResendWebhookDelivery(ctx context.Context, endpointID, deliveryID uint) error {
	now := time.Now().UTC()
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return rowsOrNotFound(tx.Model(&WebhookDelivery{}).Where("id = ? AND endpoint_id = ?", deliveryID, endpointID).
			Updates(map[string]any{"status": WebhookPending, "next_attempt_at": now, "done_at": nil, "updated_at": now}))
	})
}

// QueueWebhookTest queues a test event (EventTest, with no link and no
// session) for one endpoint, and returns its webhook-id.
func (s *Store) QueueWebhookTest(ctx context.Context, endpointID uint) (string, error) {
	ev, err := newShopEvent(s.baseURL, EventTest, time.Now(), nil, nil)
	if err != nil {
		return "", err
	}
	ev.endpoints = []uint{endpointID}
	err = s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", endpointID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return insertShopEvents(tx.Statement.Context, tx.Statement.ConnPool, []shopEvent{ev})
	})
	if err != nil {
		return "", fmt.Errorf("queue test webhook: %w", err)
	}
	return ev.msgID, nil
}

// WebhookDeliveryCounts counts an endpoint's deliveries by status.
func (s *Store) WebhookDeliveryCounts(ctx context.Context, endpointID uint) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := s.read.WithContext(ctx).Model(&WebhookDelivery{}).Select("status, COUNT(*) AS n").
		Where("endpoint_id = ?", endpointID).Group("status").Scan(&rows).Error
	out := map[string]int64{WebhookPending: 0, WebhookDelivered: 0, WebhookFailed: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, err
}
