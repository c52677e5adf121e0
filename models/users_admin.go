package models

import (
	"context"
	"errors"
	"slices"

	"gorm.io/gorm"
)

// Errors of user administration.
var (
	// ErrLastAdmin refuses a change that would leave no enabled admin, so the
	// product can always be administered.
	ErrLastAdmin = errors.New("the last enabled admin cannot be disabled or demoted")
	// ErrInvalidRole refuses a role that is not admin, staff or viewer.
	ErrInvalidRole = errors.New("unknown role")
)

// Roles lists every role, most powerful first.
var Roles = []string{RoleAdmin, RoleStaff, RoleViewer}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool {
	return slices.Contains(Roles, role)
}

// ListUsers returns every user, disabled ones included, in the order they were added.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var rows []User
	err := s.read.WithContext(ctx).Order("id").Find(&rows).Error
	return rows, err
}

// UserByID returns one user.
func (s *Store) UserByID(ctx context.Context, id uint) (*User, error) {
	var u User
	if err := s.read.WithContext(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, notFound(err)
	}
	return &u, nil
}

// SetRole changes a user's role. Demoting the last enabled admin is refused
// with ErrLastAdmin; the check and the change share one write transaction, so
// two admins demoting each other at once cannot both succeed.
func (s *Store) SetRole(ctx context.Context, id uint, role string) error {
	if !ValidRole(role) {
		return ErrInvalidRole
	}
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := userForUpdate(tx, id)
		if err != nil {
			return err
		}
		if role != RoleAdmin {
			if err := keepAnAdmin(tx, u); err != nil {
				return err
			}
		}
		return tx.Model(&User{}).Where("id = ?", id).Update("role", role).Error
	})
}

// DisableUser stops a user from logging in and ends all their sessions at
// once. Disabling the last enabled admin is refused with ErrLastAdmin.
func (s *Store) DisableUser(ctx context.Context, id uint) error {
	return s.endingLogins(s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := userForUpdate(tx, id)
		if err != nil {
			return err
		}
		if err := keepAnAdmin(tx, u); err != nil {
			return err
		}
		if err := tx.Model(&User{}).Where("id = ?", id).Update("disabled", true).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ?", id).Delete(&StaffSession{}).Error
	}))
}

// EnableUser lets a disabled user log in again.
func (s *Store) EnableUser(ctx context.Context, id uint) error {
	res := s.write.WithContext(ctx).Model(&User{}).Where("id = ?", id).Update("disabled", false)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// SetPassword stores a new password hash and ends every session of the user
// except keepSessionID (the browser that changed its own password; empty ends
// them all), in one transaction.
func (s *Store) SetPassword(ctx context.Context, id uint, passwordHash, keepSessionID string) error {
	return s.endingLogins(s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", id).Update("password_hash", passwordHash)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Where("user_id = ? AND id <> ?", id, keepSessionID).Delete(&StaffSession{}).Error
	}))
}

// SetLang stores the language the user reads the panel in.
func (s *Store) SetLang(ctx context.Context, id uint, lang string) error {
	res := s.write.WithContext(ctx).Model(&User{}).Where("id = ?", id).Update("lang", lang)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// CountStaffSessions returns how many logins of a user are on record, expired ones included.
func (s *Store) CountStaffSessions(ctx context.Context, userID uint) (int64, error) {
	var n int64
	err := s.read.WithContext(ctx).Model(&StaffSession{}).Where("user_id = ?", userID).Count(&n).Error
	return n, err
}

// userForUpdate reads the user whose role or access is about to change,
// after taking (on PostgreSQL) the lock under which such changes happen one
// at a time across instances: keepAnAdmin's count and the change are then
// one step, so two admins on two instances demoting or disabling each other
// at once cannot leave no admin (READ COMMITTED would let both count two).
func userForUpdate(tx *gorm.DB, id uint) (*User, error) {
	if err := lockNames(tx, "admins", ""); err != nil {
		return nil, err
	}
	var u User
	if err := tx.Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, notFound(err)
	}
	return &u, nil
}

// keepAnAdmin refuses to take u's admin powers away when u is the only
// enabled admin left.
func keepAnAdmin(tx *gorm.DB, u *User) error {
	if u.Role != RoleAdmin || u.Disabled {
		return nil
	}
	var n int64
	if err := tx.Model(&User{}).Where("role = ? AND disabled = ?", RoleAdmin, false).Count(&n).Error; err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastAdmin
	}
	return nil
}
