package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ReminderRules say which open links get a reminder now: those of Mode whose
// newest link email or reminder was sent at least After before Now, and had
// fewer than Max reminders.
type ReminderRules struct {
	Mode  string
	Now   time.Time
	After time.Duration
	Max   int
}

// ReminderLate is how late a reminder may still go: an email whose reminder
// fell due longer ago than this (the server was stopped) gets none. It also
// bounds what each look for due reminders reads.
const ReminderLate = 7 * 24 * time.Hour

// ReminderDue is a link that is due a reminder.
type ReminderDue struct {
	Link Link
	// Lang is the language of the link's newest email, the reminder's too.
	Lang string
	// Sent is how many reminders the link has had.
	Sent int
}

// reminderWhere selects, from outbox_messages m joined to its link l, the
// newest link email or reminder of a link that is due a reminder. Its first
// line is idx_outbox_link_sent's condition, written as that index's, so
// SQLite may use it; the arguments are mode, now, cutoff, oldest and Max.
const reminderWhere = `m.kind IN ('link', 'reminder') AND m.status = 'sent'
	AND l.status = 'open' AND l.mode = ? AND l.customer_email <> '' AND NOT l.reminders_off
	AND (l.expires_at IS NULL OR l.expires_at > ?)
	AND m.sent_at <= ? AND m.sent_at > ?
	AND NOT EXISTS (SELECT 1 FROM outbox_messages n WHERE n.link_id = m.link_id AND n.kind IN ('link', 'reminder') AND n.id > m.id)
	AND (SELECT COUNT(*) FROM outbox_messages r WHERE r.link_id = m.link_id AND r.kind = 'reminder') < ?`

func (r ReminderRules) args() []any {
	cutoff := r.Now.Add(-r.After).UTC()
	return []any{r.Mode, r.Now.UTC(), cutoff, cutoff.Add(-ReminderLate), r.Max}
}

// DueReminders returns up to limit links due a reminder under r, the
// longest waiting first. It reads only the emails sent in the window of
// ReminderLate before the cutoff, through idx_outbox_link_sent: named with
// INDEXED BY because without statistics SQLite would rather walk every sent
// email (idx_outbox_claim), and so that the query fails, rather than
// silently reads everything, if the index ever stops matching.
func (s *Store) DueReminders(ctx context.Context, r ReminderRules, limit int) ([]ReminderDue, error) {
	var rows []struct {
		LinkID uint
		Lang   string
		Sent   int
	}
	err := s.read.WithContext(ctx).Raw(`SELECT m.link_id, m.lang,
		(SELECT COUNT(*) FROM outbox_messages r WHERE r.link_id = m.link_id AND r.kind = 'reminder') AS sent
		FROM outbox_messages m INDEXED BY idx_outbox_link_sent JOIN links l ON l.id = m.link_id WHERE `+reminderWhere+` ORDER BY m.sent_at LIMIT ?`,
		append(r.args(), limit)...).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	ids := make([]uint, len(rows))
	for i, row := range rows {
		ids[i] = row.LinkID
	}
	var links []Link
	if err := s.read.WithContext(ctx).Where("id IN ?", ids).Find(&links).Error; err != nil {
		return nil, err
	}
	byID := make(map[uint]Link, len(links))
	for _, l := range links {
		byID[l.ID] = l
	}
	out := make([]ReminderDue, 0, len(rows))
	for _, row := range rows {
		if l, ok := byID[row.LinkID]; ok {
			out = append(out, ReminderDue{Link: l, Lang: row.Lang, Sent: row.Sent})
		}
	}
	return out, nil
}

// QueueReminder queues msg, the next reminder of due.Link, if the link is
// still due one under r when the transaction has the write lock; it reports
// whether it did. The reminder's dedupe key names its number, so however many
// processes look, a link never gets the same reminder twice.
func (s *Store) QueueReminder(ctx context.Context, r ReminderRules, due ReminderDue, msg *OutboxMessage) (bool, error) {
	queued := false
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		err := tx.Raw("SELECT COUNT(*) FROM outbox_messages m JOIN links l ON l.id = m.link_id WHERE m.link_id = ? AND "+reminderWhere,
			append([]any{due.Link.ID}, r.args()...)...).Scan(&n).Error
		if err != nil || n == 0 {
			return err
		}
		msg.Kind = MailReminder
		msg.LinkID = &due.Link.ID
		msg.DedupeKey = dedupeKeyOf("reminder:link:%d:%d", due.Link.ID, due.Sent+1)
		if err := (txStore{tx: tx}).createQueued(msg); err != nil {
			return err
		}
		queued = msg.ID != 0
		return nil
	})
	return queued, err
}

func dedupeKeyOf(format string, args ...any) *string {
	k := fmt.Sprintf(format, args...)
	return &k
}

// SetLinkReminders turns a link's reminders off (withdrawing any reminder
// still waiting in the outbox) or on again.
func (s *Store) SetLinkReminders(ctx context.Context, linkID uint, off bool) error {
	now := time.Now().UTC()
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Link{}).Where("id = ?", linkID).Update("reminders_off", off)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if !off {
			return nil
		}
		return withdrawQueued(tx, linkID, []string{MailReminder}, now)
	})
}

// RemindersSent counts the reminders queued for a link, whatever became of them.
func (s *Store) RemindersSent(ctx context.Context, linkID uint) (int64, error) {
	var n int64
	err := s.read.WithContext(ctx).Model(&OutboxMessage{}).Where("link_id = ? AND kind = ?", linkID, MailReminder).Count(&n).Error
	return n, err
}
