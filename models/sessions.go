package models

import (
	"context"
)

// SessionPage asks for one page of sessions, newest first; BeforeID continues
// from the last row of the previous page (keyset pagination).
type SessionPage struct {
	BeforeID uint
	Limit    int
}

// ListSessions returns one page of sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, p SessionPage) ([]Session, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	q := s.read.WithContext(ctx).Order("id DESC").Limit(p.Limit)
	if p.BeforeID > 0 {
		q = q.Where("id < ?", p.BeforeID)
	}
	var rows []Session
	return rows, q.Find(&rows).Error
}

// SessionByID returns a session with its link and the link's creator.
func (s *Store) SessionByID(ctx context.Context, id uint) (*Session, error) {
	var sess Session
	err := s.read.WithContext(ctx).Preload("Link").Preload("Link.CreatedBy").Where("id = ?", id).Take(&sess).Error
	if err != nil {
		return nil, notFound(err)
	}
	return &sess, nil
}

// NotificationsForSession returns every notification stored for a session, oldest first.
func (s *Store) NotificationsForSession(ctx context.Context, sessionID uint) ([]Notification, error) {
	var rows []Notification
	err := s.read.WithContext(ctx).Where("session_id = ?", sessionID).Order("id").Find(&rows).Error
	return rows, err
}

// EachSession calls fn for every session, oldest first, reading row by row so
// an export of any size runs in flat memory.
func (s *Store) EachSession(ctx context.Context, fn func(*Session) error) error {
	rows, err := s.read.WithContext(ctx).Model(&Session{}).Order("id").Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sess Session
		if err := s.read.ScanRows(rows, &sess); err != nil {
			return err
		}
		if err := fn(&sess); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SigningKey returns the signature_token of the session with this token.
func (s *Store) SigningKey(ctx context.Context, sessionToken string) (string, error) {
	var sess Session
	err := s.read.WithContext(ctx).Select("signature_token").Where("session_token = ?", sessionToken).Take(&sess).Error
	if err != nil {
		return "", notFound(err)
	}
	return sess.SignatureToken, nil
}
