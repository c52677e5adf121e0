package main

import (
	"context"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"etpay-dashboard/live"
	"etpay-dashboard/models"
)

// liveEvents returns the live tables' broker. On PostgreSQL it is a relay's,
// so an event published on any instance reaches the tables open on every
// instance (NOTIFY/LISTEN, ids from the database); the relay runs in g
// until ctx ends. On SQLite, one instance by design, it is the in-memory
// broker.
func liveEvents(ctx context.Context, g *errgroup.Group, databaseURL string, store *models.Store, logger *slog.Logger) (*live.Broker, error) {
	if !models.IsPostgresURL(databaseURL) {
		return live.New(), nil
	}
	relay, err := live.NewRelay(databaseURL, live.RelayOptions{Logger: logger, LoadSession: store.SessionByID})
	if err != nil {
		return nil, err
	}
	g.Go(func() error { relay.Run(ctx); return nil })
	return relay.Broker(), nil
}
