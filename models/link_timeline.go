package models

import (
	"cmp"
	"context"
	"errors"
	"gorm.io/gorm"
	"slices"
	"time"
)

// Errors of the link actions staff take from a link's page.
var (
	ErrLinkPaid         = errors.New("link is already paid")
	ErrAlreadyCancelled = errors.New("link is already cancelled")
)

// Kinds of event on a link's timeline, in the order they usually happen.
const (
	EventCreated      = "created"
	EventEmailed      = "emailed" // an outbox email: queued, sent or failed (EmailState)
	EventOpened       = "opened"
	EventSession      = "session"
	EventNotification = "notification"
	EventPaid         = "paid"
	EventFailed       = "failed"
	EventCancelled    = "cancelled"
	EventExpired      = "expired"
)

// TimelineEvent is one thing that happened to a link, built from stored rows.
type TimelineEvent struct {
	At   time.Time
	Kind string
	// By is the staff member's email for created and cancelled events; empty
	// for a link made on the command line.
	By string
	// Session is set for session, notification, paid and failed events.
	Session *Session
	// Notification is set for notification events.
	Notification *Notification
	// Email and EmailState (MailQueued, MailSent, MailFailed or MailWithdrawn) are set for
	// emailed events; a queued email that failed an attempt keeps its
	// LastError for the page to show.
	Email      *OutboxMessage
	EmailState string
}

// Expired reports whether an open link's expiry has passed, so that it must
// start no ETpay session. Paid and cancelled links are closed for their own
// reasons and never count as expired.
func (l *Link) Expired(now time.Time) bool {
	return l.Status == LinkOpen && l.ExpiresAt != nil && !now.Before(*l.ExpiresAt)
}

// Startable says whether opening the link may start an ETpay session now:
// nil for an open, unexpired link, ErrLinkPaid or ErrLinkClosed otherwise.
func (l *Link) Startable(now time.Time) error {
	switch {
	case l.Status == LinkPaid:
		return ErrLinkPaid
	case l.Status != LinkOpen, l.Expired(now):
		return ErrLinkClosed
	}
	return nil
}

// LinkTimeline returns everything that happened to link, oldest first, in a
// fixed number of queries whatever the number of sessions, notifications and
// emails.
func (s *Store) LinkTimeline(ctx context.Context, link *Link, now time.Time) ([]TimelineEvent, error) {
	sessions, notes, err := s.linkSessionsAndNotifications(ctx, link.ID)
	if err != nil {
		return nil, err
	}
	mails, err := s.LinkEmails(ctx, link.ID)
	if err != nil {
		return nil, err
	}
	userIDs := []*uint{link.CreatedByID, link.CancelledByID}
	for i := range mails {
		userIDs = append(userIDs, mails[i].CreatedByID)
	}
	emails, err := s.userEmails(ctx, userIDs...)
	if err != nil {
		return nil, err
	}

	events := []TimelineEvent{{At: link.CreatedAt, Kind: EventCreated, By: cmp.Or(emailOf(emails, link.CreatedByID), link.CreatedVia)}}
	if link.OpenedAt != nil {
		events = append(events, TimelineEvent{At: *link.OpenedAt, Kind: EventOpened})
	}
	events = appendSessionEvents(events, sessions, notes)
	events = appendEmailEvents(events, mails, emails)
	if link.CancelledAt != nil {
		events = append(events, TimelineEvent{At: *link.CancelledAt, Kind: EventCancelled, By: emailOf(emails, link.CancelledByID)})
	}
	if link.Expired(now) {
		events = append(events, TimelineEvent{At: *link.ExpiresAt, Kind: EventExpired})
	}
	// Stable, so that events stored at the same instant keep their causal
	// order (a notification before the payment it made).
	slices.SortStableFunc(events, func(a, b TimelineEvent) int { return a.At.Compare(b.At) })
	return events, nil
}

// linkSessionsAndNotifications returns a link's sessions and all their
// notifications, each oldest first, in two queries (one when it has no sessions).
func (s *Store) linkSessionsAndNotifications(ctx context.Context, linkID uint) ([]Session, []Notification, error) {
	db := s.read.WithContext(ctx)
	var sessions []Session
	if err := db.Where("link_id = ?", linkID).Order("id").Find(&sessions).Error; err != nil {
		return nil, nil, err
	}
	var notes []Notification
	if len(sessions) > 0 {
		ids := make([]uint, len(sessions))
		for i := range sessions {
			ids[i] = sessions[i].ID
		}
		err := db.Where("session_id IN ?", ids).Order("id").Find(&notes).Error
		if err != nil {
			return nil, nil, err
		}
	}
	return sessions, notes, nil
}

// appendSessionEvents adds each session's start, its notifications and its
// outcome, in that order: the stable sort keeps it for events at one instant.
func appendSessionEvents(events []TimelineEvent, sessions []Session, notes []Notification) []TimelineEvent {
	bySession := make(map[uint][]*Notification, len(sessions))
	for i := range notes {
		id := *notes[i].SessionID
		bySession[id] = append(bySession[id], &notes[i])
	}
	for i := range sessions {
		sess := &sessions[i]
		events = append(events, TimelineEvent{At: sess.CreatedAt, Kind: EventSession, Session: sess})
		for _, n := range bySession[sess.ID] {
			events = append(events, TimelineEvent{At: n.ReceivedAt, Kind: EventNotification, Session: sess, Notification: n})
		}
		if sess.FailedAt != nil {
			events = append(events, TimelineEvent{At: *sess.FailedAt, Kind: EventFailed, Session: sess})
		}
		if sess.PaidAt != nil {
			events = append(events, TimelineEvent{At: *sess.PaidAt, Kind: EventPaid, Session: sess})
		}
	}
	return events
}

// appendEmailEvents adds each email's queueing and then what became of it
// (sent, failed or withdrawn), if anything yet; emails maps staff ids to
// their addresses for By.
func appendEmailEvents(events []TimelineEvent, mails []OutboxMessage, emails map[uint]string) []TimelineEvent {
	for i := range mails {
		m := &mails[i]
		events = append(events, TimelineEvent{At: m.CreatedAt, Kind: EventEmailed, Email: m, EmailState: MailQueued, By: emailOf(emails, m.CreatedByID)})
		switch {
		case m.SentAt != nil:
			events = append(events, TimelineEvent{At: *m.SentAt, Kind: EventEmailed, Email: m, EmailState: MailSent})
		case m.FailedAt != nil:
			events = append(events, TimelineEvent{At: *m.FailedAt, Kind: EventEmailed, Email: m, EmailState: MailFailed})
		case m.WithdrawnAt != nil:
			events = append(events, TimelineEvent{At: *m.WithdrawnAt, Kind: EventEmailed, Email: m, EmailState: MailWithdrawn})
		}
	}
	return events
}

// userEmails maps the given user ids, nil ones skipped, to their emails in one query.
func (s *Store) userEmails(ctx context.Context, ids ...*uint) (map[uint]string, error) {
	var want []uint
	for _, id := range ids {
		if id != nil {
			want = append(want, *id)
		}
	}
	out := map[uint]string{}
	if len(want) == 0 {
		return out, nil
	}
	var users []User
	if err := s.read.WithContext(ctx).Select("id", "email").Where("id IN ?", want).Find(&users).Error; err != nil {
		return nil, err
	}
	for _, u := range users {
		out[u.ID] = u.Email
	}
	return out, nil
}

func emailOf(emails map[uint]string, id *uint) string {
	if id == nil {
		return ""
	}
	return emails[*id]
}

// CancelLink closes an open link so that it starts no more sessions. It is a
// compare-and-set: a paid link gives ErrLinkPaid, a cancelled one
// ErrAlreadyCancelled, and neither changes.
func (s *Store) CancelLink(ctx context.Context, id, userID uint) error {
	now := time.Now().UTC()
	var by any // userID 0: no staff member (an API key, named in the audit log)
	if userID != 0 {
		by = userID
	}
	var cancelled bool
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Link{}).Where("id = ? AND status = ?", id, LinkOpen).
			Updates(map[string]any{"status": LinkCancelled, "cancelled_at": now, "cancelled_by_id": by})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		cancelled = true
		// Its email, if still waiting, must not reach the customer now.
		if err := withdrawLinkEmails(tx, id, now); err != nil {
			return err
		}
		return s.queueLinkEvent(tx, EventLinkCancelled, id)
	})
	if err != nil || cancelled {
		return err
	}
	return s.closedLinkError(ctx, id)
}

// SetLinkExpiry sets (or, with nil, clears) when an open link stops starting
// sessions. Paid and cancelled links keep theirs: ErrLinkPaid or ErrLinkClosed.
// An expired link whose order id has since gone to another link stays
// expired: an *OrderInUseError naming that link (one open link per order).
func (s *Store) SetLinkExpiry(ctx context.Context, id uint, at *time.Time) error {
	var value any
	if at != nil {
		if !ValidUserTime(*at) {
			return ErrTimeRange
		}
		value = at.UTC()
	}
	var res *gorm.DB
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if at == nil || at.After(time.Now()) {
			if err := orderStillFree(tx, id); err != nil {
				return err
			}
		}
		res = tx.Model(&Link{}).Where("id = ? AND status = ?", id, LinkOpen).Update("expires_at", value)
		if res.Error != nil || res.RowsAffected == 0 || at == nil || at.After(time.Now()) {
			return res.Error
		}
		// An expiry set in the past expires the link now (the expiry job
		// only looks forward from where it stopped).
		return s.queueExpiredOnce(tx, id)
	})
	if err != nil || res.RowsAffected == 1 {
		return err
	}
	err = s.closedLinkError(ctx, id)
	if errors.Is(err, ErrAlreadyCancelled) {
		return ErrLinkClosed
	}
	return err
}

// orderStillFree refuses to make link id open again when another link has
// taken its order id meanwhile: only once id expired could one have.
func orderStillFree(tx *gorm.DB, id uint) error {
	var l Link
	err := tx.Select("id", "merchant_order_id", "mode", "status", "expires_at").Where("id = ?", id).Take(&l).Error
	if err != nil || l.Status != LinkOpen {
		return notFound(err) // a closed link is refused as closed, below
	}
	if l.ExpiresAt == nil || l.ExpiresAt.After(time.Now()) {
		return nil // still open: createLink refused its order id to others
	}
	if err := lockOrderIDs(tx, &l); err != nil {
		return err
	}
	holder, err := orderHolder(tx, &l, id)
	if err == nil && holder != 0 {
		err = &OrderInUseError{LinkID: holder}
	}
	return err
}

// closedLinkError says why a compare-and-set on an open link changed nothing.
func (s *Store) closedLinkError(ctx context.Context, id uint) error {
	var l Link
	if err := s.read.WithContext(ctx).Select("id", "status").Where("id = ?", id).Take(&l).Error; err != nil {
		return notFound(err)
	}
	switch l.Status {
	case LinkPaid:
		return ErrLinkPaid
	case LinkCancelled:
		return ErrAlreadyCancelled
	}
	return ErrLinkClosed
}
