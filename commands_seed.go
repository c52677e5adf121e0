package main

import (
	"context"
	"fmt"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/seed"
)

// runSeed is `seed --sessions N [--force]`: demo data at scale, in batches,
// safe while the server runs. In live mode demo rows would mix with real
// payments, so it refuses unless forced.
func runSeed(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("seed", env.stderr)
	n := fs.Int("sessions", 1000, "how many demo links (each with one ETpay session) to add")
	force := fs.Bool("force", false, "add demo data even in live mode")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errUsage
	}
	if *n <= 0 || *n > 10_000_000 {
		return flagError(env, "sessions", nil, "cli.seed.sessions_range", *n)
	}
	cfg, store, err := openStore(ctx, env)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.Mode == config.ModeLive && !*force {
		return sentence(env, "cli.seed.live_refused")
	}
	start := time.Now()
	sum, err := seed.RunWith(ctx, store, seed.Options{Sessions: *n, Mode: string(cfg.Mode)})
	if err != nil {
		return fmt.Errorf("seed (after %d links): %w", sum.Links, err)
	}
	fmt.Fprintf(env.stdout, "seeded %d demo links and sessions (%d paid, %d failed, %d pending) with %d notifications in %.1fs, mode %s, link ids %d-%d\n",
		sum.Links, sum.Paid, sum.Failed, sum.Pending, sum.Notifications, time.Since(start).Seconds(), cfg.Mode, sum.FirstLink, sum.LastLink)
	return nil
}
