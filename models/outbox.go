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

// Outbox message statuses: queued until the server accepts it (sent) or
// retrying stops (failed).
const (
	MailQueued = "queued"
	MailSent   = "sent"
	MailFailed = "failed"
	// MailWithdrawn: a link's email not sent because the link was
	// cancelled, paid or expired first; it is never sent.
	MailWithdrawn = "withdrawn"
)

// Kinds of outbox message.
const (
	MailLink          = "link"           // a payment link to its customer
	MailReceipt       = "receipt"        // the customer's receipt once paid
	MailAlertPaid     = "alert_paid"     // staff alert: a payment was confirmed
	MailAlertRejected = "alert_rejected" // staff alert: a digest of rejected notifications
	MailAlertWebhook  = "alert_webhook"  // admin alert: a webhook endpoint was disabled
	MailReminder      = "reminder"       // a reminder of an unpaid link to its customer
)

// linkMailKinds are the emails that carry a link to its customer: withdrawn
// when the link closes, and the ones a reminder counts from.
var linkMailKinds = []string{MailLink, MailReminder}

// linkMailKindsSQL is linkMailKinds as an SQL list of quoted words, for the
// writer's statements (one list, so a new kind is withdrawn everywhere).
var linkMailKindsSQL = "'" + strings.Join(linkMailKinds, "', '") + "'"

// Priorities of outbox messages: the worker sends lower first, so customers'
// emails never wait behind staff alerts (which a stranger can cause).
const (
	priorityCustomer = 0
	priorityStaff    = 1
)

func mailPriority(kind string) int {
	if kind == MailLink || kind == MailReceipt || kind == MailReminder {
		return priorityCustomer
	}
	return priorityStaff
}

// Audit actions of the mail area.
const (
	AuditEmailResent      = "email_resent"
	AuditMailAlertsChange = "mail_alerts_changed"
)

// OutboxMessage is one email, stored before anything tries to send it, so
// that an email that cannot go out now is never lost. Its content and
// Message-ID are fixed when queued: a resend after a crash is the same email.
type OutboxMessage struct {
	ID   uint   `gorm:"primaryKey"`
	Kind string `gorm:"not null"`
	// DedupeKey, when set, makes queueing the same event twice a no-op
	// (a receipt per session, an alert per user and event).
	DedupeKey *string `gorm:"uniqueIndex"`
	LinkID    *uint   `gorm:"index"`
	SessionID *uint
	// UserID is the staff member an alert goes to.
	UserID *uint
	// CreatedByID is who queued it from the panel; nil for the system or the CLI.
	CreatedByID *uint
	To          string `gorm:"not null"`
	Lang        string `gorm:"not null;default:''"`
	Subject     string `gorm:"not null"`
	// TextBody and HTMLBody are the email as rendered when queued; both
	// empty for an email queued as its Data instead.
	TextBody string `gorm:"not null"`
	HTMLBody string `gorm:"not null"`
	// Data, when set, is what the email is rendered from when it is sent
	// (emails.Render): its template version and facts, as JSON. The
	// notification writer queues receipts and payment alerts this way, a
	// few hundred bytes instead of two rendered bodies.
	Data      string `gorm:"not null;default:''"`
	MessageID string `gorm:"uniqueIndex;not null"`
	Status    string `gorm:"not null;index:idx_outbox_claim,priority:1"`
	// Priority orders due messages: customers' first (see mailPriority).
	Priority int `gorm:"not null;default:0;index:idx_outbox_claim,priority:2"`
	Attempts int `gorm:"not null;default:0"`
	// NextAttemptAt is when a queued message may next be tried.
	NextAttemptAt time.Time `gorm:"not null;index:idx_outbox_claim,priority:3"`
	// SendingUntil is the lease of the worker sending it now; until it
	// passes, no other worker takes the message.
	SendingUntil *time.Time
	LastError    string `gorm:"not null;default:''"`
	LastErrorAt  *time.Time
	// ServerAnswer is what the SMTP server said when it took the message.
	ServerAnswer string `gorm:"not null;default:''"`
	SentAt       *time.Time
	FailedAt     *time.Time
	WithdrawnAt  *time.Time
	// CreatedAt is not indexed: nothing looks emails up by it, and the
	// notification writer would pay an index entry per queued email.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MailAlertSubscription is a staff member's opt-in to alerts by email when a
// payment is confirmed or a notification is rejected.
type MailAlertSubscription struct {
	UserID    uint `gorm:"primaryKey"`
	CreatedAt time.Time
	// RejectedUntil is the end of what the user's last digest of rejected
	// notifications covered; nil until the first (which covers from CreatedAt).
	RejectedUntil *time.Time
}

// CreateLinkWithEmail makes a link exactly like CreateLink and, in the same
// transaction, queues the email that carries it: both are stored or neither.
// email is built by the caller from the link (its code is known only here),
// so it is a function of the new link.
func (s *Store) CreateLinkWithEmail(ctx context.Context, in LinkInput, email func(*Link) (*OutboxMessage, error)) (*Link, *OutboxMessage, error) {
	var msg *OutboxMessage
	link, err := newLink(in)
	if err != nil {
		return nil, nil, err
	}
	err = s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		msg, err = s.createLinkTx(tx, link, email)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return link, msg, nil
}

// QueueMessages stores messages for the outbox worker in one transaction.
// A message whose DedupeKey is already stored is skipped, so queueing the
// same event twice sends one email.
func (s *Store) QueueMessages(ctx context.Context, msgs ...*OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := txStore{tx: tx}
		for _, m := range msgs {
			if err := t.createQueued(m); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClaimDueMessage takes the oldest queued message that is due and not being
// sent by someone else, leasing it until lease and counting the attempt.
// It returns ErrNotFound when nothing is due. The claim is a compare-and-set
// on the single writer connection, so two workers (in one process or two)
// never take the same message while its lease runs; if the sender dies, the
// lease passes and the message is tried again with its same Message-ID.
func (s *Store) ClaimDueMessage(ctx context.Context, now, lease time.Time) (*OutboxMessage, error) {
	now = now.UTC()
	for {
		var m OutboxMessage
		err := s.read.WithContext(ctx).
			Where("status = ? AND next_attempt_at <= ? AND (sending_until IS NULL OR sending_until <= ?)", MailQueued, now, now).
			Order("priority, next_attempt_at, id").Take(&m).Error
		if err != nil {
			return nil, notFound(err)
		}
		res := s.write.WithContext(ctx).Model(&OutboxMessage{}).
			Where("id = ? AND status = ? AND (sending_until IS NULL OR sending_until <= ?)", m.ID, MailQueued, now).
			Updates(map[string]any{"sending_until": lease.UTC(), "attempts": gorm.Expr("attempts + 1"), "updated_at": now})
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected == 1 {
			// Claimed: finish the check even if shutdown began meanwhile, or
			// the lease would hold a closed link's email from every instance.
			withdrawn, err := s.withdrawIfLinkClosed(context.WithoutCancel(ctx), &m, now)
			if err != nil {
				return nil, err
			}
			if withdrawn {
				continue
			}
			m.Attempts++
			until := lease.UTC()
			m.SendingUntil = &until
			return &m, nil
		}
		// Someone else claimed it between the read and the write: look again.
	}
}

// withdrawIfLinkClosed withdraws a claimed link email or reminder whose link
// is no longer open (cancelled, paid or expired), and a reminder of a link
// whose reminders staff turned off: the customer must not get a link that
// cannot be paid, nor a reminder nobody wants sent. Checked at the claim, so
// it holds after a restart too.
func (s *Store) withdrawIfLinkClosed(ctx context.Context, m *OutboxMessage, now time.Time) (bool, error) {
	if !slices.Contains(linkMailKinds, m.Kind) || m.LinkID == nil {
		return false, nil
	}
	var row struct {
		Status       string
		ExpiresAt    lenientTime
		RemindersOff bool
	}
	err := s.read.WithContext(ctx).Raw("SELECT status, expires_at, reminders_off FROM links WHERE id = ?", *m.LinkID).Row().
		Scan(&row.Status, &row.ExpiresAt, &row.RemindersOff)
	if err != nil {
		return false, err
	}
	expired := row.ExpiresAt.ok && !now.Before(row.ExpiresAt.t)
	unwanted := m.Kind == MailReminder && row.RemindersOff
	if row.Status == LinkOpen && !expired && !unwanted {
		return false, nil
	}
	return true, s.write.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ?", m.ID).
		Updates(map[string]any{"status": MailWithdrawn, "withdrawn_at": now, "sending_until": nil}).Error
}

// withdrawLinkEmails withdraws a link's queued emails and reminders that no
// worker is sending now, inside the transaction that closes the link.
func withdrawLinkEmails(tx *gorm.DB, linkID uint, now time.Time) error {
	return withdrawQueued(tx, linkID, linkMailKinds, now)
}

// withdrawQueued withdraws a link's queued emails of the given kinds that no
// worker is sending now.
func withdrawQueued(tx *gorm.DB, linkID uint, kinds []string, now time.Time) error {
	return tx.Model(&OutboxMessage{}).
		Where("link_id = ? AND kind IN ? AND status = ? AND (sending_until IS NULL OR sending_until <= ?)", linkID, kinds, MailQueued, now).
		Updates(map[string]any{"status": MailWithdrawn, "withdrawn_at": now}).Error
}

// MarkMessageSent records the server's acceptance and ends the lease.
func (s *Store) MarkMessageSent(ctx context.Context, id uint, answer string, at time.Time) error {
	return s.write.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ? AND status = ?", id, MailQueued).
		Updates(map[string]any{"status": MailSent, "sent_at": at.UTC(), "server_answer": answer, "sending_until": nil}).Error
}

// MarkMessageRetry records a failed attempt and when to try again.
func (s *Store) MarkMessageRetry(ctx context.Context, id uint, reason string, at, next time.Time) error {
	return s.write.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ? AND status = ?", id, MailQueued).
		Updates(map[string]any{"last_error": reason, "last_error_at": at.UTC(), "next_attempt_at": next.UTC(), "sending_until": nil}).Error
}

// MarkMessageFailed gives up on a message: it stays in the outbox, failed, with its reason.
func (s *Store) MarkMessageFailed(ctx context.Context, id uint, reason string, at time.Time) error {
	return s.write.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ? AND status = ?", id, MailQueued).
		Updates(map[string]any{"status": MailFailed, "last_error": reason, "last_error_at": at.UTC(), "failed_at": at.UTC(), "sending_until": nil}).Error
}

// OutboxMessageByID returns one message.
func (s *Store) OutboxMessageByID(ctx context.Context, id uint) (*OutboxMessage, error) {
	var m OutboxMessage
	if err := s.read.WithContext(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, notFound(err)
	}
	return &m, nil
}

// OutboxFilter narrows the outbox listing.
type OutboxFilter struct {
	Status string // empty: all
	Limit  int
}

// OutboxMessages lists the newest messages first.
func (s *Store) OutboxMessages(ctx context.Context, f OutboxFilter) ([]OutboxMessage, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	q := s.read.WithContext(ctx).Omit("text_body", "html_body", "data").Order("id DESC").Limit(f.Limit)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	var rows []OutboxMessage
	return rows, q.Find(&rows).Error
}

// OutboxCounts counts messages by status.
func (s *Store) OutboxCounts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := s.read.WithContext(ctx).Model(&OutboxMessage{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error
	out := map[string]int64{MailQueued: 0, MailSent: 0, MailFailed: 0, MailWithdrawn: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, err
}

// LinkEmails returns the customer emails of a link (the link, its
// reminders and its receipt), oldest first; staff alerts are not the customer's story.
func (s *Store) LinkEmails(ctx context.Context, linkID uint) ([]OutboxMessage, error) {
	var rows []OutboxMessage
	err := s.read.WithContext(ctx).Omit("text_body", "html_body", "data").
		Where("link_id = ? AND kind IN ?", linkID, []string{MailLink, MailReminder, MailReceipt}).Order("id").Find(&rows).Error
	return rows, err
}

// SetMailAlerts turns a user's alert emails on or off.
func (s *Store) SetMailAlerts(ctx context.Context, userID uint, on bool) error {
	db := s.write.WithContext(ctx)
	if !on {
		return db.Where("user_id = ?", userID).Delete(&MailAlertSubscription{}).Error
	}
	return db.Clauses(clause.OnConflict{DoNothing: true}).Create(&MailAlertSubscription{UserID: userID}).Error
}

// MailAlertsOn reports whether a user gets alert emails.
func (s *Store) MailAlertsOn(ctx context.Context, userID uint) (bool, error) {
	var n int64
	err := s.read.WithContext(ctx).Model(&MailAlertSubscription{}).Where("user_id = ?", userID).Count(&n).Error
	return n > 0, err
}

// MailAlertRecipients returns the enabled users who asked for alert emails.
func (s *Store) MailAlertRecipients(ctx context.Context) ([]User, error) {
	var users []User
	err := s.read.WithContext(ctx).Select("id", "email", "lang").
		Where("disabled = ? AND id IN (?)", false, s.read.Model(&MailAlertSubscription{}).Select("user_id")).
		Order("id").Find(&users).Error
	return users, err
}

// ErrNoCustomerEmail is returned when a link has no address to send to.
var ErrNoCustomerEmail = errors.New("link has no customer email")
