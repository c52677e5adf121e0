package models

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Event types sent to the shop's webhook endpoints. Their names are a
// public interface (README, "Webhooks"): add types, never rename one.
const (
	EventPaymentSucceeded = "payment.succeeded"
	EventPaymentFailed    = "payment.failed"
	EventLinkCreated      = "link.created"
	EventLinkCancelled    = "link.cancelled"
	EventLinkExpired      = "link.expired"
	// EventTest is the test event an admin sends from an endpoint's page;
	// it goes to that endpoint only, whatever it subscribes to.
	EventTest = "webhook.test"
)

// EventTypes are the types an endpoint may subscribe to, in the form's order.
var EventTypes = []string{EventPaymentSucceeded, EventPaymentFailed, EventLinkCreated, EventLinkCancelled, EventLinkExpired}

// Webhook delivery statuses: pending until the endpoint answers 2xx
// (delivered) or retrying stops (failed).
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
)

// Why an endpoint was disabled (WebhookEndpoint.DisabledReason).
const (
	DisabledByStaff = "staff"
	DisabledFailing = "failing"
	DisabledGone    = "gone" // it answered 410 Gone
)

// WebhookDisableAfter is how long an endpoint may fail without a single
// success before it is disabled and the admins are told.
const WebhookDisableAfter = 5 * 24 * time.Hour

// WebhookRotationOverlap is how long the previous secret still signs after
// a rotation, so the shop can switch without losing a webhook.
const WebhookRotationOverlap = 24 * time.Hour

// Audit actions of the webhooks page.
const (
	AuditWebhookAdded    = "webhook_added"
	AuditWebhookDeleted  = "webhook_deleted"
	AuditWebhookEnabled  = "webhook_enabled"
	AuditWebhookDisabled = "webhook_disabled"
	AuditWebhookRotated  = "webhook_secret_rotated"
	AuditWebhookResent   = "webhook_resent"
	AuditWebhookTest     = "webhook_test_sent"
)

// WebhookEndpoint is a URL of the shop that receives signed events.
type WebhookEndpoint struct {
	ID  uint   `gorm:"primaryKey"`
	URL string `gorm:"not null"`
	// Events are the subscribed types, comma-separated (see EventList).
	Events string `gorm:"not null"`
	// Secret is the whsec_ signing secret. PreviousSecret signs too until
	// PreviousUntil (a rotation's overlap): the secret a rotation replaced,
	// and, after a rotation within the overlap, the ones before it
	// (space-separated, newest first; see RotateWebhookSecret).
	Secret         string `gorm:"not null"`
	PreviousSecret string `gorm:"not null;default:''"`
	PreviousUntil  *time.Time
	// Mode is the mode (sandbox or live) the server ran in when the
	// endpoint was added: it gets only that mode's events, so an endpoint
	// made while testing never receives live customers' payments. ""
	// (added before endpoints had a mode, until AdoptWebhookEndpoints at
	// the next start) gets every event, as it did.
	Mode           string `gorm:"not null;default:''"`
	Enabled        bool   `gorm:"not null;default:true"`
	DisabledReason string `gorm:"not null;default:''"`
	DisabledAt     *time.Time
	// FailingSince is the first failed attempt since the last success.
	FailingSince *time.Time
	CreatedByID  *uint
	CreatedBy    *User
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// EventList is the endpoint's subscribed types.
func (e *WebhookEndpoint) EventList() []string {
	if e.Events == "" {
		return nil
	}
	return strings.Split(e.Events, ",")
}

// Subscribes says whether the endpoint takes events of type typ.
func (e *WebhookEndpoint) Subscribes(typ string) bool {
	return slices.Contains(e.EventList(), typ)
}

// Secrets are the secrets signing a webhook sent at now: the current one,
// and the previous ones during a rotation's overlap.
func (e *WebhookEndpoint) Secrets(now time.Time) []string {
	out := []string{e.Secret}
	if e.PreviousUntil != nil && now.Before(*e.PreviousUntil) {
		out = append(out, strings.Fields(e.PreviousSecret)...)
	}
	return out
}

// WebhookEvent is one event for the shop, its body frozen when queued: every
// attempt and every endpoint gets the same bytes under the same webhook-id.
type WebhookEvent struct {
	ID uint `gorm:"primaryKey"`
	// MsgID is the webhook-id header: "msg_" and a random code.
	MsgID     string `gorm:"uniqueIndex;not null"`
	Type      string `gorm:"not null"`
	LinkID    *uint  `gorm:"index"`
	Body      string `gorm:"not null"`
	CreatedAt time.Time
}

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID         uint   `gorm:"primaryKey"`
	EventID    uint   `gorm:"not null;index"`
	EndpointID uint   `gorm:"not null;index:idx_webhook_deliveries_order,priority:1"`
	LinkID     *uint  `gorm:"index:idx_webhook_deliveries_order,priority:2"` // the event's, for ordering per link
	Status     string `gorm:"not null"`                                      // indexed where pending (see migrateWebhooks)
	// Priority orders an endpoint's due deliveries: payments and test
	// events (0) before the rest (1), see deliveryPriority.
	Priority int `gorm:"not null;default:0"`
	Attempts int `gorm:"not null;default:0"`
	// NextAttemptAt is when a pending delivery may next be tried.
	NextAttemptAt time.Time `gorm:"not null"`
	// SendingUntil is the worker's lease while it sends.
	SendingUntil  *time.Time
	LastAttemptAt *time.Time
	DoneAt        *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// WebhookAttempt is one try at a delivery, as the endpoint's log shows it.
type WebhookAttempt struct {
	ID         uint      `gorm:"primaryKey"`
	DeliveryID uint      `gorm:"not null;index"`
	EndpointID uint      `gorm:"not null;index"`
	At         time.Time `gorm:"not null"`
	StatusCode int       `gorm:"not null;default:0"` // 0: no answer (see Error)
	DurationMS int64     `gorm:"not null;default:0"`
	// Answer is the first WebhookAnswerKeep bytes of the endpoint's answer.
	Answer string `gorm:"not null;default:''"`
	Error  string `gorm:"not null;default:''"`
}

// WebhookAnswerKeep is how much of an endpoint's answer the log keeps.
const WebhookAnswerKeep = 1024

// WebhookEndpointInput is what a new endpoint is made from.
type WebhookEndpointInput struct {
	URL         string
	Events      []string
	Secret      string
	CreatedByID *uint
	// Mode is the server's mode now (see WebhookEndpoint.Mode).
	Mode string
}

// ErrWebhookEvents is returned for an endpoint without a known event type.
var ErrWebhookEvents = errors.New("no known event type")

// CreateWebhookEndpoint stores a new, enabled endpoint.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, in WebhookEndpointInput) (*WebhookEndpoint, error) {
	var types []string
	for _, t := range EventTypes {
		if slices.Contains(in.Events, t) {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil, ErrWebhookEvents
	}
	e := &WebhookEndpoint{URL: in.URL, Events: strings.Join(types, ","), Secret: in.Secret, Mode: in.Mode, Enabled: true, CreatedByID: in.CreatedByID}
	err := s.changeHooks(ctx, types, func(tx *gorm.DB) error { return tx.Create(e).Error })
	if err != nil {
		return nil, err
	}
	return e, nil
}

// AdoptWebhookEndpoints gives the endpoints added before endpoints had a
// mode the mode the server runs in now (at start): until then they got
// every event, as they did.
func (s *Store) AdoptWebhookEndpoints(ctx context.Context, mode string) error {
	return s.write.WithContext(ctx).Model(&WebhookEndpoint{}).Where("mode = ''").Update("mode", mode).Error
}

// WebhookEndpoints lists every endpoint, oldest first.
func (s *Store) WebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	var rows []WebhookEndpoint
	return rows, s.read.WithContext(ctx).Order("id").Find(&rows).Error
}

// WebhookEndpointByID returns one endpoint with its creator.
func (s *Store) WebhookEndpointByID(ctx context.Context, id uint) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	if err := s.read.WithContext(ctx).Preload("CreatedBy").Where("id = ?", id).Take(&e).Error; err != nil {
		return nil, notFound(err)
	}
	return &e, nil
}

// SetWebhookEndpointEnabled turns an endpoint on or off by staff. Turning
// it on forgets its failures: its pending deliveries are tried again now.
func (s *Store) SetWebhookEndpointEnabled(ctx context.Context, id uint, on bool) error {
	e, err := s.WebhookEndpointByID(ctx, id)
	if err != nil {
		return err
	}
	var widen []string
	changes := map[string]any{"enabled": false, "disabled_reason": DisabledByStaff, "disabled_at": time.Now().UTC()}
	if on {
		widen = e.EventList()
		changes = map[string]any{"enabled": true, "disabled_reason": "", "disabled_at": nil, "failing_since": nil}
	}
	return s.changeHooks(ctx, widen, func(tx *gorm.DB) error {
		res := tx.Model(&WebhookEndpoint{}).Where("id = ?", id).Updates(changes)
		if err := rowsOrNotFound(res); err != nil || !on {
			return err
		}
		return tx.Model(&WebhookDelivery{}).Where("endpoint_id = ? AND status = ?", id, WebhookPending).
			Update("next_attempt_at", time.Now().UTC()).Error
	})
}

// DeleteWebhookEndpoint deletes an endpoint with its deliveries and log.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id uint) error {
	return s.changeHooks(ctx, nil, func(tx *gorm.DB) error {
		for _, m := range []any{&WebhookAttempt{}, &WebhookDelivery{}} {
			if err := tx.Where("endpoint_id = ?", id).Delete(m).Error; err != nil {
				return err
			}
		}
		return rowsOrNotFound(tx.Where("id = ?", id).Delete(&WebhookEndpoint{}))
	})
}

// maxPreviousSecrets bounds how many replaced secrets sign during an
// overlap, however often an admin rotates within it.
const maxPreviousSecrets = 3

// RotateWebhookSecret makes secret the endpoint's signing secret; the one
// it replaces keeps signing for WebhookRotationOverlap. So do the ones still
// signing from an earlier rotation: a second rotation within the overlap (a
// double click, a reload that posts again) must not cut off the secret the
// shop still verifies with.
func (s *Store) RotateWebhookSecret(ctx context.Context, id uint, secret string, now time.Time) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Two rotations at once on two instances take turns on the row: each
		// keeps the secret the other made signing (READ COMMITTED would lose one).
		var e WebhookEndpoint
		err := rowLock(tx, clause.LockingStrengthUpdate).Select("secret", "previous_secret", "previous_until").Where("id = ?", id).Take(&e).Error
		if err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		previous := e.Secrets(now) // the current one first, then any still signing
		previous = previous[:min(len(previous), maxPreviousSecrets)]
		return rowsOrNotFound(tx.Model(&WebhookEndpoint{}).Where("id = ?", id).Updates(map[string]any{
			"previous_secret": strings.Join(previous, " "), "secret": secret, "previous_until": now.Add(WebhookRotationOverlap).UTC(),
		}))
	})
}

// rowsOrNotFound is res's error, or ErrNotFound when it changed no row.
func rowsOrNotFound(res *gorm.DB) error {
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}
