package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"etpay-dashboard/config"
	"etpay-dashboard/doctor"
	"etpay-dashboard/models"
)

// runDoctor is `doctor`: it checks the configuration the server would run
// with (the same environment) and what it depends on, prints one line per
// check starting with ok, warn or FAIL, and fails when any check failed. It
// changes nothing, and may run while the server runs.
func runDoctor(ctx context.Context, env environment, args []string) error {
	if len(args) > 0 {
		return errUsage
	}
	var results []doctor.Result
	cfg, err := config.Load(nil, env.getenv)
	if err != nil {
		results = doctor.Settings(nil, err)
	} else {
		store, storeErr := openExistingStore(ctx, env, cfg)
		if store != nil {
			defer store.Close()
		}
		results = doctor.Run(ctx, doctor.Env{Config: cfg, Store: store, StoreErr: storeErr})
	}
	l := cliLocale(env)
	for _, r := range results {
		fmt.Fprintf(env.stdout, "%-4s  %s: %s\n", r.Level, l.T(r.Check.Key, r.Check.Args...), l.T(r.Advice.Key, r.Advice.Args...))
	}
	if n := doctor.Count(results, doctor.Fail); n > 0 {
		return sentence(env, "cli.doctor.failed", n)
	}
	return nil
}

// openExistingStore opens the server's database, but never creates one: a
// database that does not exist yet is no store and no error.
func openExistingStore(ctx context.Context, env environment, cfg *config.Config) (*models.Store, error) {
	if _, err := os.Stat(cfg.DatabaseURL); errors.Is(err, os.ErrNotExist) && !cfg.OnPostgres() {
		return nil, nil
	}
	return models.Open(ctx, cfg.DatabaseURL, env.storeOptions...)
}
