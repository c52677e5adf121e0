package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
)

// CountUsers returns how many users exist, disabled ones included.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.read.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, err
}

// CreateUser adds a user; the email is stored lower-case.
func (s *Store) CreateUser(ctx context.Context, email, passwordHash, role string) (*User, error) {
	u := &User{Email: strings.ToLower(strings.TrimSpace(email)), PasswordHash: passwordHash, Role: role}
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Across instances too, one look at a time: a second look finds the
		// first's user (ErrEmailTaken), never the unique index's error.
		if err := lockNames(tx, "user email", u.Email); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&User{}).Where("email = ?", u.Email).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrEmailTaken
		}
		return tx.Create(u).Error
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// CreateFirstAdmin adds an admin only when there is no user at all, and reports
// whether it did, so configured credentials never change an existing user.
func (s *Store) CreateFirstAdmin(ctx context.Context, email, passwordHash string) (bool, error) {
	created := false
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockStartup(tx); err != nil { // two instances starting at once
			return err
		}
		var n int64
		if err := tx.Model(&User{}).Count(&n).Error; err != nil || n > 0 {
			return err
		}
		created = true
		return tx.Create(&User{Email: strings.ToLower(email), PasswordHash: passwordHash, Role: RoleAdmin}).Error
	})
	return created, err
}

// UserByEmail finds a user by email, case-insensitively.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.read.WithContext(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Take(&u).Error
	if err != nil {
		return nil, notFound(err)
	}
	return &u, nil
}

// CreateStaffSession records a new login for user, valid for ttl.
func (s *Store) CreateStaffSession(ctx context.Context, id string, userID uint, ttl time.Duration) error {
	now := time.Now().UTC()
	return s.write.WithContext(ctx).Create(&StaffSession{ID: id, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(ttl)}).Error
}

// UserBySession returns the enabled user behind an unexpired staff session
// whose login is complete (not waiting for a second-factor code).
func (s *Store) UserBySession(ctx context.Context, id string) (*User, error) {
	var u User
	err := s.read.WithContext(ctx).
		Joins("JOIN staff_sessions ON staff_sessions.user_id = users.id").
		Where("staff_sessions.id = ? AND staff_sessions.expires_at > ? AND users.disabled = ? AND staff_sessions.awaiting_code = ?", id, time.Now().UTC(), false, false).
		Take(&u).Error
	if err != nil {
		return nil, notFound(err)
	}
	return &u, nil
}

// DeleteStaffSession ends one login.
func (s *Store) DeleteStaffSession(ctx context.Context, id string) error {
	return s.endingLogins(s.write.WithContext(ctx).Where("id = ?", id).Delete(&StaffSession{}).Error)
}

// LoginsEnded counts the changes this Store made that ended logins: a
// logout, a disabled user, a new password, a second factor turned on, off or
// reset (twofactor.go). Whoever keeps a login's check
// (a live-table stream) needs to ask UserBySession again only when the count
// has moved, or when the login may have expired. Changes made by another
// process are not counted.
func (s *Store) LoginsEnded() uint64 { return s.loginsEnded.Load() }

// endingLogins counts a change that ended logins once it is stored (err is nil).
func (s *Store) endingLogins(err error) error {
	if err == nil {
		s.loginsEnded.Add(1)
	}
	return err
}
