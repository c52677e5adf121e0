package handlers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// TestIsBusyAsksTheStore: the webhook answers 503 for what the store calls
// ErrBusy (it decides from the driver's code), however it is wrapped, and
// never for an error that merely reads like a lock.
func TestIsBusyAsksTheStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"the store's ErrBusy", models.ErrBusy, true},
		{"ErrBusy from the key lookup, inside a verification error", fmt.Errorf("%w: %w", etpay.ErrUnknownSession, models.ErrBusy), true},
		{"only the text of a lock", errors.New("database is locked (5) (SQLITE_BUSY)"), false},
		{"a bare deadline (the store marks its own)", context.DeadlineExceeded, false},
		{"unknown session", fmt.Errorf("%w: %w", etpay.ErrUnknownSession, models.ErrNotFound), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isBusy(tt.err); got != tt.want {
				t.Errorf("isBusy(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
