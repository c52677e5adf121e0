package models

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/config"
)

// bcryptCost is at least the 12 security.md asks for.
const bcryptCost = 12

// Password rule errors, worded for the person choosing the password.
var (
	ErrPasswordTooShort = fmt.Errorf("the password must have at least %d characters", config.MinPasswordLength)
	ErrPasswordTooLong  = errors.New("the password must have at most 72 bytes (bcrypt ignores the rest)")
)

// HashPassword checks the password rules and returns a bcrypt hash.
func HashPassword(password string) (string, error) {
	if len([]rune(password)) < config.MinPasswordLength {
		return "", ErrPasswordTooShort
	}
	if len(password) > 72 {
		return "", ErrPasswordTooLong
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	return string(h), err
}

// PasswordMatches reports whether password is the one behind hash.
func PasswordMatches(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
