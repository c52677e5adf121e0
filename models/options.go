package models

import "time"

// Option changes how Open sets up a Store.
type Option func(*options)

type options struct {
	passwordCost int
	busyTimeout  time.Duration
	baseURL      string
}

// DefaultBusyTimeout is how long a statement waits for another writer's lock
// before the store answers ErrBusy (security.md: 5 s).
const DefaultBusyTimeout = 5 * time.Second

// WithBusyTimeout sets how long a statement waits for the write lock; tests
// that provoke a busy database wait less.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// WithPasswordCost sets the bcrypt cost of new password hashes. Below
// MinPasswordCost, Open refuses it outside a test binary.
func WithPasswordCost(cost int) Option {
	return func(o *options) { o.passwordCost = cost }
}

// WithBaseURL sets the server's public address (BASE_URL), which the links
// in the shop's webhooks start with.
func WithBaseURL(base string) Option {
	return func(o *options) { o.baseURL = base }
}
