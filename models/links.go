package models

import (
	"context"
	"crypto/rand"
	"time"

	"gorm.io/gorm"
)

// LinkInput is what a new payment link is made from.
type LinkInput struct {
	MerchantOrderID string
	Amount          int64
	CustomerEmail   string
	Description     string
	Mode            string
	CreatedByID     *uint
	// CreatedVia names the API key that made it (see Link.CreatedVia).
	CreatedVia string
	// ExpiresAt, when set, is when the link stops starting sessions; it
	// must be a ValidUserTime (ParseExpiry gives one).
	ExpiresAt *time.Time
}

// CreateLink makes a link with a fresh unguessable code. An order id may have
// only one open or paid link per mode; a cancelled one may be replaced.
func (s *Store) CreateLink(ctx context.Context, in LinkInput) (*Link, error) {
	l, err := newLink(in)
	if err != nil {
		return nil, err
	}
	if err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := s.createLinkTx(tx, l, nil)
		return err
	}); err != nil {
		return nil, err
	}
	return l, nil
}

// newLink is the link in makes, not yet stored.
func newLink(in LinkInput) (*Link, error) {
	l := &Link{
		Code:            rand.Text(),
		MerchantOrderID: in.MerchantOrderID,
		Amount:          in.Amount,
		CustomerEmail:   in.CustomerEmail,
		Description:     in.Description,
		Status:          LinkOpen,
		Mode:            in.Mode,
		CreatedByID:     in.CreatedByID,
		CreatedVia:      in.CreatedVia,
	}
	if in.ExpiresAt != nil {
		if !ValidUserTime(*in.ExpiresAt) {
			return nil, ErrTimeRange
		}
		at := in.ExpiresAt.UTC()
		l.ExpiresAt = &at
	}
	return l, nil
}

// LinkByCode finds the link behind a public code.
func (s *Store) LinkByCode(ctx context.Context, code string) (*Link, error) {
	var l Link
	if err := s.read.WithContext(ctx).Where("code = ?", code).Take(&l).Error; err != nil {
		return nil, notFound(err)
	}
	return &l, nil
}

// ReusableSession returns the link's newest pending session made at or after
// since, so that opening a link again does not start another ETpay session.
func (s *Store) ReusableSession(ctx context.Context, linkID uint, since time.Time) (*Session, error) {
	var sess Session
	err := s.read.WithContext(ctx).
		Where("link_id = ? AND status = ? AND created_at >= ?", linkID, StatusPending, since.UTC()).
		Order("id DESC").Take(&sess).Error
	if err != nil {
		return nil, notFound(err)
	}
	return &sess, nil
}

// AddSession stores a session ETpay has just created, if its link is still
// open, and remembers its signing key for NotificationKey: ETpay's
// notification of it comes minutes later, and then needs no SQL for the key.
func (s *Store) AddSession(ctx context.Context, sess *Session) error {
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var link Link
		if err := forShare(tx).Where("id = ?", sess.LinkID).Take(&link).Error; err != nil {
			return notFound(err)
		}
		// Checked again here: the link may have been cancelled or expired
		// while ETpay was being asked for the session. Locked (forShare), it
		// stays open until the session is stored.
		if link.Startable(time.Now()) != nil {
			return ErrLinkClosed
		}
		sess.Status = StatusPending
		sess.MerchantOrderID = link.MerchantOrderID
		sess.Amount = link.Amount
		return tx.Create(sess).Error
	})
	if err == nil && sess.SignatureToken != "" {
		// Once committed: a key in the cache is a session that exists.
		s.notes.keys.put(sess.SessionToken, sess.SignatureToken)
	}
	return err
}

// LinkByID returns a link with its creator.
func (s *Store) LinkByID(ctx context.Context, id uint) (*Link, error) {
	var l Link
	if err := s.read.WithContext(ctx).Preload("CreatedBy").Where("id = ?", id).Take(&l).Error; err != nil {
		return nil, notFound(err)
	}
	return &l, nil
}

// SessionsForLink returns a link's ETpay sessions, oldest first.
func (s *Store) SessionsForLink(ctx context.Context, linkID uint) ([]Session, error) {
	var rows []Session
	return rows, s.read.WithContext(ctx).Where("link_id = ?", linkID).Order("id").Find(&rows).Error
}

// MarkLinkOpened records that the customer opened the link: every time in
// last_opened_at, and the first time, kept, in opened_at.
func (s *Store) MarkLinkOpened(ctx context.Context, linkID uint) error {
	now := time.Now().UTC()
	return s.write.WithContext(ctx).Exec("UPDATE links SET last_opened_at = ?, opened_at = COALESCE(opened_at, ?) WHERE id = ?",
		now, now, linkID).Error
}
