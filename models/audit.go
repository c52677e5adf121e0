package models

import (
	"context"
	"time"
)

// RecordAudit stores one staff action. user may be nil (a failed login for an
// unknown address records only the address typed).
func (s *Store) RecordAudit(ctx context.Context, user *User, email, action, detail, ip string) error {
	e := &AuditEntry{At: time.Now().UTC(), UserEmail: email, Action: action, Detail: detail, IP: ip}
	if user != nil {
		e.UserID = &user.ID
		e.UserEmail = user.Email
	}
	return s.write.WithContext(ctx).Create(e).Error
}

// AuditPage asks for one page of the audit log, newest first.
type AuditPage struct {
	BeforeID uint
	Limit    int
}

// AuditEntries returns one page of the audit log, newest first.
func (s *Store) AuditEntries(ctx context.Context, p AuditPage) ([]AuditEntry, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 100
	}
	q := s.read.WithContext(ctx).Order("id DESC").Limit(p.Limit)
	if p.BeforeID > 0 {
		q = q.Where("id < ?", p.BeforeID)
	}
	var rows []AuditEntry
	return rows, q.Find(&rows).Error
}
