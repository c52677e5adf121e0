package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// DueWebhook is a claimed delivery with what sending it needs.
type DueWebhook struct {
	DeliveryID, EndpointID uint
	// Attempt is this attempt's number, from 1.
	Attempt int
	// MsgID is the webhook-id; Body the frozen JSON body.
	MsgID, Type, Body string
	URL               string
	// Secrets sign it: the endpoint's current secret, and its previous one
	// during a rotation's overlap.
	Secrets []string
}

// dueCandidates is how many due deliveries a claim reads per one it may
// take: several may belong to one endpoint, of which it takes one.
const dueCandidates = 4

// ClaimWebhookDeliveries takes up to limit due deliveries, at most one per
// endpoint and none of an endpoint in busy (the worker is sending to it),
// payments before other events (deliveryPriority), then oldest first,
// leasing each until lease and counting the attempt. A delivery waits while
// an earlier event about the same link is still pending for its endpoint:
// a shop gets a link's events in order. Disabled endpoints get nothing. The
// claim is a compare-and-set on the writer, so two workers never send one
// delivery at once; if the sender dies, the lease passes and the delivery
// is tried again with the same webhook-id.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now, lease time.Time, busy []uint, limit int) ([]DueWebhook, error) {
	now = now.UTC()
	ids, err := s.dueDeliveries(ctx, now, busy, limit)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var claimed []uint
	err = s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, id := range ids {
			res := tx.Model(&WebhookDelivery{}).
				Where("id = ? AND status = ? AND (sending_until IS NULL OR sending_until <= ?)", id, WebhookPending, now).
				Updates(map[string]any{"sending_until": lease.UTC(), "attempts": gorm.Expr("attempts + 1"), "updated_at": now})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				claimed = append(claimed, id)
			}
		}
		return nil
	})
	if err != nil || len(claimed) == 0 {
		return nil, err
	}
	return s.loadDue(ctx, claimed, now)
}

// dueDeliveries picks the deliveries a claim tries to take.
func (s *Store) dueDeliveries(ctx context.Context, now time.Time, busy []uint, limit int) ([]uint, error) {
	q := "SELECT d.id, d.endpoint_id FROM webhook_deliveries d JOIN webhook_endpoints ep ON ep.id = d.endpoint_id AND ep.enabled " +
		"WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.sending_until IS NULL OR d.sending_until <= ?) " +
		"AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.link_id = d.link_id " +
		"AND p.status = 'pending' AND p.id < d.id) "
	args := []any{now, now}
	if len(busy) > 0 {
		q += "AND d.endpoint_id NOT IN (" + placeholders(len(busy)) + ") "
		for _, id := range busy {
			args = append(args, id)
		}
	}
	args = append(args, limit*dueCandidates)
	var rows []struct{ ID, EndpointID uint }
	if err := s.read.WithContext(ctx).Raw(q+"ORDER BY d.priority, d.next_attempt_at, d.id LIMIT ?", args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find due webhooks: %w", err)
	}
	seen := map[uint]bool{}
	var ids []uint
	for _, r := range rows {
		if !seen[r.EndpointID] && len(ids) < limit {
			seen[r.EndpointID] = true
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// loadDue reads what sending the claimed deliveries needs.
func (s *Store) loadDue(ctx context.Context, ids []uint, now time.Time) ([]DueWebhook, error) {
	var rows []struct {
		DeliveryID, EndpointID uint
		Attempts               int
		MsgID, Type, Body, URL string
		Secret, PreviousSecret string
		PreviousUntil          *time.Time
	}
	err := s.write.WithContext(ctx).Raw("SELECT d.id AS delivery_id, d.endpoint_id, d.attempts, e.msg_id, e.type, e.body, "+
		"ep.url, ep.secret, ep.previous_secret, ep.previous_until FROM webhook_deliveries d "+
		"JOIN webhook_events e ON e.id = d.event_id JOIN webhook_endpoints ep ON ep.id = d.endpoint_id "+
		"WHERE d.id IN ? ORDER BY d.id", ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load claimed webhooks: %w", err)
	}
	out := make([]DueWebhook, len(rows))
	for i, r := range rows {
		ep := WebhookEndpoint{Secret: r.Secret, PreviousSecret: r.PreviousSecret, PreviousUntil: r.PreviousUntil}
		out[i] = DueWebhook{DeliveryID: r.DeliveryID, EndpointID: r.EndpointID, Attempt: r.Attempts, MsgID: r.MsgID,
			Type: r.Type, Body: r.Body, URL: r.URL, Secrets: ep.Secrets(now)}
	}
	return out, nil
}

// WebhookResult is what one attempt at a delivery came to.
type WebhookResult struct {
	DeliveryID, EndpointID uint
	At                     time.Time
	StatusCode             int // 0: no answer
	Duration               time.Duration
	Answer, Error          string
	Delivered              bool
	// Next is when to try again; zero: stop trying (the delivery failed).
	Next time.Time
	// Gone says the endpoint asked never to be sent to again (410 Gone):
	// it is disabled.
	Gone bool
}

// WebhookAlertMail builds the emails that tell admins an endpoint was
// disabled, queued in the same transaction.
type WebhookAlertMail func(e *WebhookEndpoint, admins []User) ([]*OutboxMessage, error)

// RecordWebhookAttempt stores an attempt and what follows from it, in one
// transaction: the log's row, the delivery's new state and the endpoint's
// run of failures. An endpoint gone, or failing without a success for
// WebhookDisableAfter, is disabled, with alert's emails to the admins. It
// returns the endpoint when this attempt disabled it. An attempt at a
// delivery no longer pending (its endpoint deleted meanwhile) is dropped.
func (s *Store) RecordWebhookAttempt(ctx context.Context, r WebhookResult, alert WebhookAlertMail) (*WebhookEndpoint, error) {
	at := r.At.UTC()
	var disabled *WebhookEndpoint
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&WebhookDelivery{}).Where("id = ? AND status = ?", r.DeliveryID, WebhookPending).Updates(deliveryChange(r, at))
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		if len(r.Answer) > WebhookAnswerKeep {
			r.Answer = r.Answer[:WebhookAnswerKeep]
		}
		row := &WebhookAttempt{DeliveryID: r.DeliveryID, EndpointID: r.EndpointID, At: at, StatusCode: r.StatusCode,
			DurationMS: r.Duration.Milliseconds(), Answer: r.Answer, Error: r.Error}
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		var err error
		disabled, err = noteEndpointOutcome(tx, r, at, alert)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record webhook attempt: %w", err)
	}
	if disabled != nil {
		s.hooksMu.Lock()
		_ = s.loadHookSubs(ctx) // as in changeHooks: a failed reload only costs queries
		s.hooksMu.Unlock()
	}
	return disabled, nil
}

// deliveryChange is a delivery's new state after attempt r.
func deliveryChange(r WebhookResult, at time.Time) map[string]any {
	change := map[string]any{"sending_until": nil, "last_attempt_at": at, "updated_at": at}
	switch {
	case r.Delivered:
		change["status"], change["done_at"] = WebhookDelivered, at
	case r.Next.IsZero() || r.Gone:
		change["status"], change["done_at"] = WebhookFailed, at
	default:
		change["next_attempt_at"] = r.Next.UTC()
	}
	return change
}

// noteEndpointOutcome keeps the endpoint's run of failures and disables it
// when r calls for it; it returns the endpoint if it did.
func noteEndpointOutcome(tx *gorm.DB, r WebhookResult, at time.Time, alert WebhookAlertMail) (*WebhookEndpoint, error) {
	if r.Delivered {
		return nil, tx.Model(&WebhookEndpoint{}).Where("id = ? AND failing_since IS NOT NULL", r.EndpointID).
			Update("failing_since", nil).Error
	}
	if err := tx.Exec("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?", at, r.EndpointID).Error; err != nil {
		return nil, err
	}
	var e WebhookEndpoint
	if err := tx.Where("id = ?", r.EndpointID).Take(&e).Error; err != nil {
		return nil, notFound(err)
	}
	reason := DisabledGone
	if !r.Gone {
		if e.FailingSince == nil || at.Sub(*e.FailingSince) < WebhookDisableAfter {
			return nil, nil
		}
		reason = DisabledFailing
	}
	if !e.Enabled {
		return nil, nil
	}
	e.Enabled, e.DisabledReason, e.DisabledAt = false, reason, &at
	if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", e.ID).
		Updates(map[string]any{"enabled": false, "disabled_reason": reason, "disabled_at": at}).Error; err != nil {
		return nil, err
	}
	return &e, queueDisabledAlert(tx, &e, alert)
}

// queueDisabledAlert queues alert's emails to every enabled admin.
func queueDisabledAlert(tx *gorm.DB, e *WebhookEndpoint, alert WebhookAlertMail) error {
	if alert == nil {
		return nil
	}
	var admins []User
	if err := tx.Select("id", "email", "lang").Where("role = ? AND NOT disabled", RoleAdmin).Order("id").Find(&admins).Error; err != nil {
		return err
	}
	msgs, err := alert(e, admins)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := (txStore{tx: tx}).createQueued(m); err != nil {
			return err
		}
	}
	return nil
}
