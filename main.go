// Command etpay-dashboard takes bank-transfer payments through ETpay: staff
// make payment links, customers pay them, and ETpay's notifications mark
// them paid. Run without arguments it serves the product; see usage for the
// other commands.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"etpay-dashboard/backups"
	"etpay-dashboard/config"
	"etpay-dashboard/etpay"
	"etpay-dashboard/etpay/sandbox"
	"etpay-dashboard/handlers"
	"etpay-dashboard/live"
	"etpay-dashboard/models"
	"etpay-dashboard/outbox"
	"etpay-dashboard/payments"
	"etpay-dashboard/reminders"
	"etpay-dashboard/shop"
	"etpay-dashboard/shophooks"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/sync/errgroup"
)

const usage = `usage:
  etpay-dashboard [flags]                       serve the dashboard (see README for settings)
  etpay-dashboard sandbox [--addr :9090] [--merchant-code C] [--merchant-api-token T]
  etpay-dashboard links create --order ID --amount N [--email E [--email-lang es|en]] [--description TEXT] [--expires-at 2030-12-31T18:00]
  etpay-dashboard links import FILE [--send-email] [--email-lang es|en]   links from a .csv or .xlsx; result as CSV; exit 1 if a row was refused
  etpay-dashboard users add --email E --role admin|staff|viewer --password-stdin
  etpay-dashboard users password --email E --password-stdin   set a user's password; ends their logins
  etpay-dashboard users reset-2fa --email E    remove a user's two-step verification; ends their logins
  etpay-dashboard backup --to FILE
  etpay-dashboard seed --sessions N [--force]  add N demo links with sessions (refused in live mode without --force)
  etpay-dashboard doctor                       check settings, ETpay, mail, database, disk and backups; exit 1 on any FAIL
  etpay-dashboard migrate --to postgres://…    copy the SQLite file's every row into an empty PostgreSQL database, then compare
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := environment{args: os.Args[1:], stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	if err := run(ctx, env); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// environment is what a run sees of the world, so tests can run commands in-process.
type environment struct {
	args           []string
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// ready, when set, receives the server's address once it accepts connections.
	ready func(addr string)
	// redirectReady, when set, receives the plain-HTTP redirector's address
	// once it accepts connections, if it has one (before ready).
	redirectReady func(addr string)
	// storeOptions are passed to every models.Open (tests lower bcrypt's cost).
	storeOptions []models.Option
}

// run runs the command env.args names; a wrong usage is explained in the
// user's language.
func run(ctx context.Context, env environment) error {
	err := runCommand(ctx, env)
	if errors.Is(err, errUsage) {
		return &cliError{msg: cliLocale(env).T("cli.usage"), err: err}
	}
	return err
}

func runCommand(ctx context.Context, env environment) error {
	if len(env.args) > 0 {
		switch env.args[0] {
		case "sandbox":
			return runSandbox(ctx, env, env.args[1:])
		case "links":
			return runLinks(ctx, env, env.args[1:])
		case "users":
			return runUsers(ctx, env, env.args[1:])
		case "backup":
			return runBackup(ctx, env, env.args[1:])
		case "seed":
			return runSeed(ctx, env, env.args[1:])
		case "doctor":
			return runDoctor(ctx, env, env.args[1:])
		case "migrate":
			return runMigrate(ctx, env, env.args[1:])
		case "help", "-h", "--help":
			fmt.Fprint(env.stdout, usage)
			return nil
		}
	}
	return serve(ctx, env)
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// serve runs the dashboard until ctx ends: the web server and the background
// loops side by side, and on the way out it waits for all of them before the
// database closes.
func serve(ctx context.Context, env environment) error {
	cfg, err := config.Load(env.args, env.getenv)
	if err != nil {
		return err
	}
	logger := newLogger(env.stderr)
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}
	store, err := models.Open(ctx, cfg.DatabaseURL, storeOptions(cfg, env)...)
	if err != nil {
		return err
	}
	defer store.Close()
	if b := store.MigrationBackup(); b != "" {
		logger.Info("the database was copied before its schema was migrated", "backup", b)
	}
	secret, err := prepareStore(ctx, store, cfg, env.stdout)
	if err != nil {
		return err
	}
	fr, err := openFront(cfg, logger, store)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	events, err := liveEvents(ctx, g, cfg.DatabaseURL, store, logger)
	if err != nil {
		return err
	}
	sh, err := shop.Open(ctx, cfg, store) // for the pages, the receipts and the worker alike
	if err != nil {
		return err
	}
	deps := handlers.Deps{Config: cfg, Store: store, Logger: logger, SessionSecret: secret, Events: events, Shop: sh}
	stopSandbox := connectETpay(&deps, fr.api.Addr())
	defer stopSandbox()
	deps.Payments = &payments.Pipeline{Config: cfg, Store: store, ETpay: deps.ETpay, Events: events, Logger: logger, Shop: sh}
	app := handlers.New(deps)

	fr.start(ctx, g, deps.Sandbox)
	g.Go(func() error {
		err := app.Listener(fr.ln)
		if ctx.Err() != nil {
			return nil // stopping: the listener was closed on purpose
		}
		return err
	})
	g.Go(func() error { releaseAfterBursts(ctx, app.Server().GetOpenConnectionsCount, time.Second); return nil })
	startJobs(ctx, g, deps)
	groups := logGroupsOnSignal(ctx, logger, store)
	g.Go(func() error { groups(); return nil })
	g.Go(func() error { return shutdownWhenDone(ctx, logger, events, app, fr.ln) })
	fr.announce(cfg, env)
	return g.Wait()
}

// shutdownWhenDone stops serving once ctx ends.
func shutdownWhenDone(ctx context.Context, logger *slog.Logger, events *live.Broker, app *fiber.App, ln net.Listener) error {
	<-ctx.Done()
	logger.Info("shutting down")
	events.Close() // open live tables would otherwise hold shutdown up
	err := app.ShutdownWithTimeout(10 * time.Second)
	// Shutdown stops only a server already serving: closing the listener
	// also stops one whose Serve had not started yet.
	ln.Close()
	return err
}

// startJobs runs the background loops in g until ctx ends: the outbox
// worker, reconciliation, the shop's webhooks, reminders when REMIND_AFTER
// is set, and scheduled backups when BACKUP_DIR is set.
func startJobs(ctx context.Context, g *errgroup.Group, deps handlers.Deps) {
	cfg := deps.Config
	g.Go(func() error {
		(&outbox.Worker{Config: cfg, Store: deps.Store, Logger: deps.Logger, Shop: deps.Shop}).Run(ctx)
		return nil
	})
	g.Go(func() error { deps.Payments.RunReconciler(ctx); return nil })
	g.Go(func() error { // the shop's webhooks: apart from the outbox, so no endpoint delays an email
		(&shophooks.Worker{Config: cfg, Store: deps.Store, Logger: deps.Logger, Shop: deps.Shop}).Run(ctx)
		return nil
	})
	g.Go(func() error { // REMIND_AFTER unset: returns at once
		(&reminders.Job{Config: cfg, Store: deps.Store, Logger: deps.Logger, Shop: deps.Shop}).Run(ctx)
		return nil
	})
	if cfg.BackupDir != "" && cfg.OnPostgres() {
		deps.Logger.Warn("BACKUP_DIR is ignored on PostgreSQL: back it up with pg_dump or your provider's backups")
	} else if cfg.BackupDir != "" {
		sched := &backups.Scheduler{Store: deps.Store, Dir: cfg.BackupDir, Every: cfg.BackupEvery, Keep: cfg.BackupKeep, Logger: deps.Logger}
		g.Go(func() error { sched.Run(ctx); return nil })
	}
}

// storeOptions are the options of every models.Open: the tests' (env's),
// and BASE_URL, which the links in the shop's webhooks start with.
func storeOptions(cfg *config.Config, env environment) []models.Option {
	return slices.Concat(env.storeOptions, []models.Option{models.WithBaseURL(cfg.URL(""))})
}

// prepareStore makes the first admin when there is no user and returns the
// cookie secret: SESSION_SECRET, or one kept in the database.
func prepareStore(ctx context.Context, store *models.Store, cfg *config.Config, stdout io.Writer) (string, error) {
	if err := ensureFirstAdmin(ctx, store, cfg, stdout); err != nil {
		return "", err
	}
	if err := store.AdoptWebhookEndpoints(ctx, string(cfg.Mode)); err != nil {
		return "", err
	}
	if cfg.SessionSecret != "" {
		return cfg.SessionSecret, nil
	}
	return store.SessionSecret(ctx)
}

// connectETpay gives deps its ETpay client: the real ETpay in live mode, or
// in sandbox mode the built-in simulator, served by this same server (with
// fresh credentials each start; our client reaches it over loopback, the
// customer's browser through BASE_URL). It returns what stops the simulator.
func connectETpay(deps *handlers.Deps, addr net.Addr) (stop func()) {
	cfg := deps.Config
	etpayCfg := etpay.Config{APIURL: cfg.ETpayAPIURL, PMTURL: cfg.ETpayPMTURL, MerchantCode: cfg.ETpayMerchant, MerchantAPIToken: cfg.ETpayAPIToken}
	stop = func() {}
	if cfg.Mode == config.ModeSandbox {
		etpayCfg = etpay.Config{
			APIURL:           "http://" + loopbackAddr(addr) + handlers.SandboxPrefix,
			PMTURL:           cfg.URL(handlers.SandboxPrefix),
			MerchantCode:     "sandbox_merchant",
			MerchantAPIToken: rand.Text(),
		}
		sb := sandbox.New(sandbox.Options{MerchantCode: etpayCfg.MerchantCode, MerchantAPIToken: etpayCfg.MerchantAPIToken, Logger: deps.Logger})
		stop = sb.Close
		deps.Sandbox = sb.Handler(handlers.SandboxPrefix)
		deps.Logger.Info("sandbox mode: payments go to the built-in ETpay simulator", "funnel", etpayCfg.PMTURL)
	}
	deps.ETpay = etpay.NewClient(etpayCfg)
	return stop
}

// loopbackAddr is how this process reaches its own listener.
func loopbackAddr(addr net.Addr) string {
	tcp := addr.(*net.TCPAddr)
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// ensureFirstAdmin creates the first admin when no user exists: from
// ADMIN_EMAIL/ADMIN_PASSWORD, or admin@localhost with a generated password
// printed once to standard output (never through the logger).
func ensureFirstAdmin(ctx context.Context, store *models.Store, cfg *config.Config, stdout io.Writer) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	email, password, generated := cfg.AdminEmail, cfg.AdminPassword, false
	if email == "" {
		email, password, generated = "admin@localhost", rand.Text(), true
	}
	hash, err := store.HashPassword(password)
	if err != nil {
		return fmt.Errorf("ADMIN_PASSWORD: %w", err)
	}
	created, err := store.CreateFirstAdmin(ctx, email, hash)
	if err != nil {
		return err
	}
	if created && generated {
		fmt.Fprintf(stdout, "admin email: %s password: %s\n", email, password)
	}
	return nil
}

var errUsage = errors.New("wrong usage; run etpay-dashboard help")
