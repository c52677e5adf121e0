package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// RejectedDigestEvery is the least time between two digests of rejected
// notifications to one staff member: junk sent by strangers costs each of
// them at most one email per quarter hour, whatever its rate.
const RejectedDigestEvery = 15 * time.Minute

// RejectedDigest is what one staff member's next digest of rejected
// notifications tells: what arrived between Since and Until, by reason.
type RejectedDigest struct {
	User         User
	Since, Until time.Time
	Reasons      []RejectedReason
}

// Total is the number of rejected deliveries the digest covers.
func (d RejectedDigest) Total() int64 {
	var n int64
	for _, r := range d.Reasons {
		n += r.Count
	}
	return n
}

// RejectedDigestsDue returns the digests due at now: for every enabled user
// subscribed to alerts whose last digest is at least RejectedDigestEvery
// old, what was rejected since it (or since they subscribed), when anything was.
func (s *Store) RejectedDigestsDue(ctx context.Context, now time.Time) ([]RejectedDigest, error) {
	now = now.UTC()
	var latest sql.NullString
	// Cheap first: through the (verdict, last_received_at) index.
	err := s.read.WithContext(ctx).Raw("SELECT MAX(last_received_at) FROM notifications WHERE verdict = ?", VerdictRejected).
		Scan(&latest).Error
	if err != nil || latest.String == "" {
		return nil, err
	}
	lastRejected := parseStoredTime(latest.String)
	rows, err := s.read.WithContext(ctx).Raw("SELECT u.id, u.email, u.lang, m.created_at, m.rejected_until FROM mail_alert_subscriptions m " +
		"JOIN users u ON u.id = m.user_id WHERE NOT u.disabled ORDER BY u.id").Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var due []RejectedDigest
	for rows.Next() {
		var (
			u                User
			created, untilAt lenientTime
		)
		if err := rows.Scan(&u.ID, &u.Email, &u.Lang, &created, &untilAt); err != nil {
			return nil, err
		}
		since := created.t
		if untilAt.ok {
			since = untilAt.t
			if now.Sub(since) < RejectedDigestEvery {
				continue
			}
		}
		if !lastRejected.After(since) {
			continue
		}
		reasons, _, err := rejectedBetween(s.read.WithContext(ctx), since, now)
		if err != nil {
			return nil, err
		}
		if len(reasons) == 0 {
			continue
		}
		due = append(due, RejectedDigest{User: u, Since: since, Until: now, Reasons: reasons})
	}
	return due, rows.Err()
}

// ErrDigestTaken is returned by QueueRejectedDigest when the user's digest
// for that period was queued already (by another worker).
var ErrDigestTaken = errors.New("digest already queued")

// QueueRejectedDigest queues a digest's email and moves the user's digest
// window past it, in one transaction, so each rejection is told once.
func (s *Store) QueueRejectedDigest(ctx context.Context, d RejectedDigest, msg *OutboxMessage) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&MailAlertSubscription{}).Where("user_id = ?", d.User.ID).
			Where("rejected_until IS NULL OR rejected_until <= ?", d.Since.UTC()).Update("rejected_until", d.Until.UTC())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrDigestTaken
		}
		msg.Kind, msg.UserID = MailAlertRejected, &d.User.ID
		key := fmt.Sprintf("alert_rejected:user:%d:until:%d", d.User.ID, d.Until.UnixNano())
		msg.DedupeKey = &key
		return txStore{tx: tx}.createQueued(msg)
	})
}
