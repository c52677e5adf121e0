//go:build unix

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"etpay-dashboard/models"
)

// logGroupsOnSignal logs the notification writer's group sizes (see
// models.NoteGroups) each time the process gets SIGUSR1, until ctx ends:
// how many notifications a commit carried under real traffic, read without
// a route (the load script diffs two readings around each workload). It
// listens from the moment it returns, so a signal sent after start-up is
// never the default one, which ends the process.
func logGroupsOnSignal(ctx context.Context, logger *slog.Logger, store *models.Store) (wait func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	return func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				g := store.NoteGroups()
				logger.Info("notification groups", "groups", g.Groups, "notifications", g.Notifications,
					"mean", fmt.Sprintf("%.1f", g.Mean()), "by_size", g.String())
			}
		}
	}
}
