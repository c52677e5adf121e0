package main

import (
	"errors"

	"etpay-dashboard/models"
)

// cliError is a mistake explained to the person at the terminal, as a
// sentence in their language (cliLocale). It wraps the error it explains, if
// any, so errors.Is still finds sentinels.
type cliError struct {
	msg string
	err error
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) Unwrap() error { return e.err }

// sentence is the catalogue's text for key in the user's language.
func sentence(env environment, key string, args ...any) error {
	return &cliError{msg: cliLocale(env).T(key, args...)}
}

// flagError is a message about one flag, "--email: Escribe un correo…",
// explaining cause (nil when there is none).
func flagError(env environment, flag string, cause error, key string, args ...any) error {
	return &cliError{msg: "--" + flag + ": " + cliLocale(env).T(key, args...), err: cause}
}

// passwordError explains why a password was refused, in the forms' words.
func passwordError(env environment, err error) error {
	l := cliLocale(env)
	switch {
	case errors.Is(err, models.ErrPasswordTooShort):
		return &cliError{msg: l.T("users.invalid.password_short", models.MinPasswordLength), err: err}
	case errors.Is(err, models.ErrPasswordTooLong):
		return &cliError{msg: l.T("users.invalid.password_long"), err: err}
	}
	return err
}
