package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// LoginAttempt is one counted attempt at a staff login, kept in the database
// when several instances share one PostgreSQL (logins.Shared): a lock-out
// earned on one instance then holds on every other. On SQLite, one
// instance, the throttle counts in memory and the table stays empty.
//
// Each attempt counts toward up to three limits (see logins.Throttle), which
// a success or an unlock forgive separately: ByAddr (the address's attempts
// at any account), ByPair (the address's at this account) and ByAccount
// (the account's from every address).
type LoginAttempt struct {
	ID        uint      `gorm:"primaryKey"`
	Addr      string    `gorm:"not null;index:idx_login_attempts_addr"`
	Email     string    `gorm:"not null;index:idx_login_attempts_email"`
	At        time.Time `gorm:"not null;index"`
	ByAddr    bool      `gorm:"not null"`
	ByPair    bool      `gorm:"not null"`
	ByAccount bool      `gorm:"not null"`
}

// LoginLimits are the throttle's limits (see logins.Throttle).
type LoginLimits struct {
	Window                      time.Duration
	PerAddr, PerPair, AlarmAcct int
}

// perPair is the attempts an address gets at an account that has had
// accountFailures: one each once the account is under a distributed guess.
func (l LoginLimits) perPair(accountFailures int) int {
	if accountFailures >= l.AlarmAcct {
		return 1
	}
	return l.PerPair
}

// AllowLoginAttempt counts an attempt from addr at email at now and reports
// whether it may go ahead; a refused attempt is not counted. Attempts are
// counted one at a time across instances (an advisory lock on PostgreSQL,
// the immediate transaction on SQLite), so parallel guesses on several
// instances cannot slip past a limit together. Attempts older than the
// window are dropped on the way.
func (s *Store) AllowLoginAttempt(ctx context.Context, addr, email string, now time.Time, l LoginLimits) (bool, error) {
	now = now.UTC()
	cutoff := now.Add(-l.Window)
	allowed := false
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockLogins(tx); err != nil {
			return err
		}
		if err := tx.Where("at < ?", cutoff).Delete(&LoginAttempt{}).Error; err != nil {
			return err
		}
		var c struct{ Account, Addr, Pair int }
		err := tx.Raw("SELECT COALESCE(SUM(CASE WHEN by_account AND email = ? THEN 1 ELSE 0 END), 0) AS account, "+
			"COALESCE(SUM(CASE WHEN by_addr AND addr = ? THEN 1 ELSE 0 END), 0) AS addr, "+
			"COALESCE(SUM(CASE WHEN by_pair AND addr = ? AND email = ? THEN 1 ELSE 0 END), 0) AS pair "+
			"FROM login_attempts WHERE at >= ? AND (email = ? OR addr = ?)",
			email, addr, addr, email, cutoff, email, addr).Scan(&c).Error
		if err != nil {
			return err
		}
		if c.Addr >= l.PerAddr || c.Pair >= l.perPair(c.Account) {
			return nil
		}
		allowed = true
		return tx.Create(&LoginAttempt{Addr: addr, Email: email, At: now, ByAddr: true, ByPair: true, ByAccount: true}).Error
	})
	return allowed, err
}

// ForgiveLoginAttempt gives back the latest attempt from addr at email,
// which turned out right; forget also forgets the address's other failures
// at the account (a whole login: logins.Throttle.Succeed), which otherwise
// stay (a password that only leads to a second-factor code: Passed).
func (s *Store) ForgiveLoginAttempt(ctx context.Context, addr, email string, forget bool) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockLogins(tx); err != nil {
			return err
		}
		err := tx.Exec("DELETE FROM login_attempts WHERE id = (SELECT MAX(id) FROM login_attempts WHERE addr = ? AND email = ?)", addr, email).Error
		if err != nil || !forget {
			return err
		}
		return tx.Model(&LoginAttempt{}).Where("addr = ? AND email = ?", addr, email).Update("by_pair", false).Error
	})
}

// LoginFailures reports the account's failed attempts in the window, from
// every address, and how many addresses are refused at it now.
func (s *Store) LoginFailures(ctx context.Context, email string, now time.Time, l LoginLimits) (attempts, refused int, err error) {
	cutoff := now.UTC().Add(-l.Window)
	err = s.read.WithContext(ctx).Raw("SELECT COUNT(*) FROM login_attempts WHERE email = ? AND by_account AND at >= ?", email, cutoff).
		Scan(&attempts).Error
	if err != nil {
		return 0, 0, err
	}
	err = s.read.WithContext(ctx).Raw("SELECT COUNT(*) FROM (SELECT addr FROM login_attempts WHERE email = ? AND by_pair AND at >= ? "+
		"GROUP BY addr HAVING COUNT(*) >= ?) refused", email, cutoff, l.perPair(attempts)).Scan(&refused).Error
	return attempts, refused, err
}

// UnlockLogins forgets every failure at the account, and takes the ones each
// address made at it off the address's own count too.
func (s *Store) UnlockLogins(ctx context.Context, email string) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockLogins(tx); err != nil {
			return err
		}
		if err := tx.Where("email = ? AND by_pair", email).Delete(&LoginAttempt{}).Error; err != nil {
			return err
		}
		return tx.Model(&LoginAttempt{}).Where("email = ?", email).Update("by_account", false).Error
	})
}
