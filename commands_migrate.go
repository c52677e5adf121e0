package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/models"

	"github.com/jackc/pgx/v5"
)

// migrateBeforeCompare, set by tests only, runs on the target between the
// copy and the comparison (to prove a difference is caught).
var migrateBeforeCompare func(ctx context.Context, target *pgx.Conn) error

// runMigrate is `migrate --to postgres://…`: the SQLite file DATABASE_URL
// names is copied, row for row, into an empty PostgreSQL database, then
// both are compared table by table (models.MigrateToPostgres).
func runMigrate(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("migrate", env.stderr)
	to := fs.String("to", "", "the empty PostgreSQL database to copy into: postgres://…")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *to == "":
		return sentence(env, "cli.migrate.to_required")
	case !models.IsPostgresURL(*to):
		return flagError(env, "to", nil, "cli.migrate.to_postgres")
	}
	cfg, err := config.Load(nil, env.getenv)
	if err != nil {
		return err
	}
	last := time.Time{}
	progress := func(p models.MigrateProgress) {
		// A line per second at most, and each table's last.
		if now := time.Now(); now.Sub(last) >= time.Second || p.Copied == p.Rows {
			last = now
			fmt.Fprintf(env.stdout, "%-26s %d / %d\n", p.Table, p.Copied, p.Rows)
		}
	}
	res, err := models.MigrateToPostgres(ctx, cfg.DatabaseURL, *to, models.MigrateOptions{
		Progress: progress, BeforeCompare: migrateBeforeCompare})
	if res != nil {
		printMigrateResult(env, res)
	}
	return migrateError(env, cfg.DatabaseURL, res, err)
}

// printMigrateResult prints the comparison, a line per table, and what was
// left out on purpose.
func printMigrateResult(env environment, res *models.MigrateResult) {
	fmt.Fprintln(env.stdout, "comparison (SQLite / PostgreSQL):")
	for _, c := range res.Checks {
		fmt.Fprintln(env.stdout, c.String())
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(env.stdout, "not copied: %s\n", s)
	}
}

// migrateError explains a failed migration in the user's language, or says
// it is complete.
func migrateError(env environment, source string, res *models.MigrateResult, err error) error {
	var notEmpty *models.TargetNotEmptyError
	switch {
	case errors.Is(err, models.ErrSourceNotSQLite):
		return sentence(env, "cli.migrate.source_sqlite")
	case errors.Is(err, models.ErrSourceMissing):
		return sentence(env, "cli.migrate.source_missing", source)
	case errors.Is(err, models.ErrSourceVersion):
		return &cliError{msg: cliLocale(env).T("cli.migrate.source_version"), err: err}
	case errors.As(err, &notEmpty):
		return &cliError{msg: cliLocale(env).T("cli.migrate.not_empty", notEmpty.Table), err: err}
	case errors.Is(err, models.ErrMigrateMismatch):
		bad := 0
		for _, c := range res.Checks {
			if !c.OK() {
				bad++
			}
		}
		return &cliError{msg: cliLocale(env).T("cli.migrate.mismatch", bad), err: err}
	case err != nil:
		return err
	}
	var rows int64
	for _, c := range res.Checks {
		rows += c.TargetRows
	}
	fmt.Fprintln(env.stdout, cliLocale(env).T("cli.migrate.done", rows, len(res.Checks), res.Elapsed.Round(100*time.Millisecond)))
	return nil
}
