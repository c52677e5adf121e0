package models

import (
	"context"
	"errors"

	gosqlite "github.com/glebarez/go-sqlite"
)

// ErrBusy says the database stayed locked past its busy timeout, or the
// caller's deadline passed while waiting for it: nothing was written, and
// the same call may succeed later. Test for it with errors.Is: it marks the
// errors of RecordNotification, ApplyNotification and NotificationKey.
var ErrBusy = errors.New("database busy")

// SQLite's primary result codes for a lock held elsewhere: SQLITE_BUSY (by
// another connection) and SQLITE_LOCKED (inside this one). Extended codes,
// such as SQLITE_BUSY_SNAPSHOT (517), keep the primary code in the low byte.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// isBusy decides whether err means "busy" from the driver's result code
// (glebarez/go-sqlite's *Error, which glebarez/sqlite hands GORM unchanged;
// on PostgreSQL its SQLSTATE, see pgBusy) or from context.DeadlineExceeded,
// never from the error's text.
func isBusy(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if pgBusy(err) {
		return true
	}
	var se *gosqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteBusy, sqliteLocked:
			return true
		}
	}
	return false
}

// markBusy returns err marked as ErrBusy when it is one (see isBusy), and
// otherwise as it is. The mark keeps err's message and chain.
func markBusy(err error) error {
	if err == nil || errors.Is(err, ErrBusy) || !isBusy(err) {
		return err
	}
	return busyError{err}
}

// busyError is an error that means ErrBusy.
type busyError struct{ err error }

func (e busyError) Error() string        { return e.err.Error() }
func (e busyError) Unwrap() error        { return e.err }
func (e busyError) Is(target error) bool { return target == ErrBusy }
