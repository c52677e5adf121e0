//go:build !unix

package main

import (
	"context"
	"log/slog"

	"etpay-dashboard/models"
)

// logGroupsOnSignal does nothing where there is no SIGUSR1.
func logGroupsOnSignal(ctx context.Context, _ *slog.Logger, _ *models.Store) (wait func()) {
	return func() { <-ctx.Done() }
}
