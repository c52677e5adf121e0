package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// SecondFactor is a user's authenticator (TOTP). Secrets are stored as the
// twofactor package seals them; the Store never sees one in the clear.
type SecondFactor struct {
	UserID uint `gorm:"primaryKey;autoIncrement:false"`
	// Secret is the confirmed secret, sealed; empty until a code confirms it.
	Secret string `gorm:"not null;default:''"`
	// PendingSecret is a secret shown for enrolment, sealed, kept here
	// (not in the cookie) until a code from it confirms it.
	PendingSecret string `gorm:"not null;default:''"`
	// LastStep is the last time step whose code was accepted: a code of
	// that step or an earlier one is refused, so each code works once.
	LastStep  int64 `gorm:"not null;default:0"`
	EnabledAt *time.Time
	UpdatedAt time.Time
}

// RecoveryCode is one single-use recovery code, stored as its SHA-256 hash.
type RecoveryCode struct {
	ID     uint   `gorm:"primaryKey"`
	UserID uint   `gorm:"index;not null"`
	Hash   string `gorm:"index;not null"`
	UsedAt *time.Time
}

// Audit actions of the second factor.
const (
	AuditSecondFactorOn       = "twofactor_enabled"
	AuditSecondFactorOff      = "twofactor_disabled"
	AuditSecondFactorReset    = "twofactor_reset"
	AuditSecondFactorFailed   = "twofactor_failed"
	AuditSecondFactorRequired = "twofactor_required"
)

// ErrCodeUsed refuses a second-factor code whose time step was already
// accepted, or a recovery code already spent.
var ErrCodeUsed = errors.New("code already used")

// settingRequireSecondFactor is the Setting that makes every user enrol.
const settingRequireSecondFactor = "require_2fa"

// SecondFactorOf returns a user's authenticator record, ErrNotFound when
// they never started one.
func (s *Store) SecondFactorOf(ctx context.Context, userID uint) (*SecondFactor, error) {
	var f SecondFactor
	if err := s.read.WithContext(ctx).Where("user_id = ?", userID).Take(&f).Error; err != nil {
		return nil, notFound(err)
	}
	return &f, nil
}

// HasSecondFactor reports whether a user's logins need a code.
func (s *Store) HasSecondFactor(ctx context.Context, userID uint) (bool, error) {
	f, err := s.SecondFactorOf(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && f.Secret != "", err
}

// UsersWithSecondFactor returns the ids of users whose logins need a code.
func (s *Store) UsersWithSecondFactor(ctx context.Context) (map[uint]bool, error) {
	var ids []uint
	err := s.read.WithContext(ctx).Model(&SecondFactor{}).Where("secret <> ''").Pluck("user_id", &ids).Error
	out := make(map[uint]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, err
}

// StartSecondFactor keeps a new sealed secret for the user to confirm; a
// confirmed one stays in force until then.
func (s *Store) StartSecondFactor(ctx context.Context, userID uint, sealedPending string) error {
	return s.write.WithContext(ctx).Exec(
		`INSERT INTO second_factors (user_id, pending_secret, updated_at) VALUES (?, ?, ?)
		 ON CONFLICT (user_id) DO UPDATE SET pending_secret = excluded.pending_secret, updated_at = excluded.updated_at`,
		userID, sealedPending, time.Now().UTC()).Error
}

// EnableSecondFactor makes the pending secret the user's authenticator,
// once a code from it (of time step) has been checked: it replaces the
// recovery codes with recoveryHashes and ends the user's other logins, which
// were made without it. It fails with ErrNotFound if the pending secret has
// changed meanwhile (enrolment restarted in another tab).
func (s *Store) EnableSecondFactor(ctx context.Context, userID uint, sealedPending string, step int64, recoveryHashes []string, keepSessionID string) error {
	now := time.Now().UTC()
	return s.endingLogins(s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&SecondFactor{}).Where("user_id = ? AND pending_secret = ? AND pending_secret <> ''", userID, sealedPending).
			Updates(map[string]any{"secret": sealedPending, "pending_secret": "", "last_step": step, "enabled_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := tx.Where("user_id = ?", userID).Delete(&RecoveryCode{}).Error; err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if err := tx.Create(&RecoveryCode{UserID: userID, Hash: h}).Error; err != nil {
				return err
			}
		}
		return tx.Where("user_id = ? AND id <> ?", userID, keepSessionID).Delete(&StaffSession{}).Error
	}))
}

// UseSecondFactorStep records that a code of time step was accepted, and
// refuses with ErrCodeUsed a step no later than the last one accepted. The
// check and the record are one statement, so one code cannot log in twice
// even when sent twice at once.
func (s *Store) UseSecondFactorStep(ctx context.Context, userID uint, step int64) error {
	res := s.write.WithContext(ctx).Model(&SecondFactor{}).
		Where("user_id = ? AND secret <> '' AND last_step < ?", userID, step).
		Update("last_step", step)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrCodeUsed
	}
	return nil
}

// UseRecoveryCode spends one of the user's recovery codes, found by its
// hash; an unknown or spent one is refused with ErrCodeUsed.
func (s *Store) UseRecoveryCode(ctx context.Context, userID uint, hash string) error {
	res := s.write.WithContext(ctx).Model(&RecoveryCode{}).
		Where("user_id = ? AND hash = ? AND used_at IS NULL", userID, hash).
		Update("used_at", time.Now().UTC())
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrCodeUsed
	}
	return nil
}

// RecoveryCodesLeft counts the user's unspent recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID uint) (int64, error) {
	var n int64
	err := s.read.WithContext(ctx).Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return n, err
}

// RemoveSecondFactor forgets a user's authenticator and recovery codes and
// ends their logins but keepSessionID (empty: all of them), in one
// transaction: a user turning theirs off keeps the browser they did it from;
// an admin's reset logs the user out everywhere.
func (s *Store) RemoveSecondFactor(ctx context.Context, userID uint, keepSessionID string) error {
	return s.endingLogins(s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&SecondFactor{}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Delete(&RecoveryCode{}).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ? AND id <> ?", userID, keepSessionID).Delete(&StaffSession{}).Error
	}))
}

// SecondFactorRequired reports whether every user must have a second
// factor. Off until an admin turns it on.
func (s *Store) SecondFactorRequired(ctx context.Context) (bool, error) {
	var st Setting
	err := s.read.WithContext(ctx).Where("key = ?", settingRequireSecondFactor).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	return err == nil && st.Value == "on", err
}

// SetSecondFactorRequired turns the requirement on or off.
func (s *Store) SetSecondFactorRequired(ctx context.Context, on bool) error {
	value := "off"
	if on {
		value = "on"
	}
	return s.write.WithContext(ctx).Exec(
		`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		settingRequireSecondFactor, value).Error
}

// CreatePendingLogin records a login whose password was right and whose
// second factor is awaited, for ttl; UserBySession does not accept it.
func (s *Store) CreatePendingLogin(ctx context.Context, id string, userID uint, ttl time.Duration) error {
	now := time.Now().UTC()
	return s.write.WithContext(ctx).Create(&StaffSession{ID: id, UserID: userID, AwaitingCode: true, CreatedAt: now, ExpiresAt: now.Add(ttl)}).Error
}

// UserAwaitingCode returns the enabled user behind an unexpired login that
// waits for its second factor.
func (s *Store) UserAwaitingCode(ctx context.Context, id string) (*User, error) {
	var u User
	err := s.read.WithContext(ctx).
		Joins("JOIN staff_sessions ON staff_sessions.user_id = users.id").
		Where("staff_sessions.id = ? AND staff_sessions.expires_at > ? AND users.disabled = ? AND staff_sessions.awaiting_code = ?", id, time.Now().UTC(), false, true).
		Take(&u).Error
	if err != nil {
		return nil, notFound(err)
	}
	return &u, nil
}

// CompleteLogin replaces a login awaiting its code with a whole login under
// a new id (the cookie's id changes with the privilege), valid for ttl. It
// fails with ErrNotFound when the waiting login is gone (logged out,
// expired, ended by an admin).
func (s *Store) CompleteLogin(ctx context.Context, pendingID, id string, ttl time.Duration) error {
	now := time.Now().UTC()
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var pending StaffSession
		err := tx.Where("id = ? AND awaiting_code = ? AND expires_at > ?", pendingID, true, now).Take(&pending).Error
		if err != nil {
			return notFound(err)
		}
		// Completed once: on PostgreSQL another instance may have read it too,
		// and then deletes it first.
		if err := rowsOrNotFound(tx.Delete(&pending)); err != nil {
			return err
		}
		return tx.Create(&StaffSession{ID: id, UserID: pending.UserID, CreatedAt: now, ExpiresAt: now.Add(ttl)}).Error
	})
}
