package models

import (
	"errors"
	"fmt"
	"testing"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLength is the shortest password accepted anywhere, in characters.
const MinPasswordLength = 12

// MinPasswordCost is the least bcrypt cost a running server uses
// (security.md). Only a test binary may ask for less (WithPasswordCost), so a
// test suite that makes hundreds of users runs in seconds.
const MinPasswordCost = 12

// Password rule errors, worded for the person choosing the password.
var (
	ErrPasswordTooShort = fmt.Errorf("the password must have at least %d characters", MinPasswordLength)
	ErrPasswordTooLong  = errors.New("the password must have at most 72 bytes (bcrypt ignores the rest)")
)

// ValidatePassword checks the password rules.
func ValidatePassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return ErrPasswordTooShort
	}
	if len(password) > 72 {
		return ErrPasswordTooLong
	}
	return nil
}

// HashPassword checks the password rules and returns a bcrypt hash at the
// Store's cost.
func (s *Store) HashPassword(password string) (string, error) {
	if err := ValidatePassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost)
	return string(h), err
}

// PasswordMatches reports whether password is the one behind hash (the cost
// is in the hash).
func PasswordMatches(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// ErrWeakPasswordCost is Open's answer to a bcrypt cost below MinPasswordCost
// outside tests.
var ErrWeakPasswordCost = fmt.Errorf("bcrypt cost below %d is for tests only", MinPasswordCost)

// passwordCost decides the cost to use: the default when none was asked
// for, and never less than MinPasswordCost unless inTest.
func passwordCost(asked int, inTest bool) (int, error) {
	switch {
	case asked == 0:
		return MinPasswordCost, nil
	case asked < bcrypt.MinCost || asked > bcrypt.MaxCost:
		return 0, fmt.Errorf("bcrypt cost %d is out of range", asked)
	case asked < MinPasswordCost && !inTest:
		return 0, ErrWeakPasswordCost
	}
	return asked, nil
}

// inTestBinary is testing.Testing, a variable so a test can play production.
var inTestBinary = testing.Testing
