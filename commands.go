package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"etpay-dashboard/clp"
	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/etpay/sandbox"
	"etpay-dashboard/models"
	"etpay-dashboard/shop"
	"etpay-dashboard/views"
)

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// openStore loads the settings from the environment and opens the same
// database the server uses.
func openStore(ctx context.Context, env environment) (*config.Config, *models.Store, error) {
	cfg, err := config.Load(nil, env.getenv)
	if err != nil {
		return nil, nil, err
	}
	store, err := models.Open(ctx, cfg.DatabaseURL, storeOptions(cfg, env)...)
	if err != nil {
		return nil, nil, err
	}
	return cfg, store, nil
}

// cliLocale speaks English when LANG asks for it, Spanish otherwise.
func cliLocale(env environment) views.Locale {
	if strings.HasPrefix(env.getenv("LANG"), "en") {
		return views.NewLocale("en")
	}
	return views.NewLocale("es")
}

// linkFlags are the flags of `links create`, as typed.
type linkFlags struct {
	order, amount, email, description, emailLang, expiresAt string
}

// runLinks is `links create` (below) and `links import` (commands_import.go).
func runLinks(ctx context.Context, env environment, args []string) error {
	if len(args) > 0 && args[0] == "import" {
		return runLinksImport(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "create" {
		return errUsage
	}
	var f linkFlags
	fs := newFlagSet("links create", env.stderr)
	fs.StringVar(&f.order, "order", "", "merchant order id")
	fs.StringVar(&f.amount, "amount", "", "amount in whole CLP, digits only")
	fs.StringVar(&f.email, "email", "", "customer email (optional)")
	fs.StringVar(&f.description, "description", "", "description shown to the customer (optional)")
	fs.StringVar(&f.emailLang, "email-lang", "es", "language of the email to the customer: es or en")
	fs.StringVar(&f.expiresAt, "expires-at", "", "when the link stops starting payments, Chile time: 2030-12-31T18:00 (optional)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if f.order == "" || f.amount == "" {
		return sentence(env, "cli.links.needs_order_amount")
	}
	if _, err := clp.ParseDigits(f.amount); errors.Is(err, clp.ErrFormat) {
		return flagError(env, "amount", err, "invalid.amount_digits")
	}
	cfg, store, err := openStore(ctx, env)
	if err != nil {
		return err
	}
	defer store.Close()
	in, err := f.input(env, cfg)
	if err != nil {
		return err
	}
	if f.emailLang != "es" && f.emailLang != "en" {
		return flagError(env, "email-lang", nil, "cli.invalid.email_lang")
	}
	return createLinkFromCLI(ctx, env, cfg, store, in, f.emailLang)
}

// input validates the flags into a new link by the forms' rules, and
// explains every problem in the forms' words, flag by flag.
func (f linkFlags) input(env environment, cfg *config.Config) (models.LinkInput, error) {
	amount, amountErr := clp.ParseDigits(f.amount)
	in := models.LinkInput{MerchantOrderID: f.order, Amount: amount, CustomerEmail: strings.TrimSpace(f.email),
		Description: strings.TrimSpace(f.description), Mode: string(cfg.Mode)}
	errs := models.ValidateLink(in, cfg.MaxOrderAmount)
	if amountErr != nil {
		errs["order_amount"] = *models.AmountProblem(amountErr, cfg.MaxOrderAmount)
	}
	expires, expiryErr := models.ParseExpiry(strings.TrimSpace(f.expiresAt), views.Santiago)
	in.ExpiresAt = expires
	if expiryErr != nil {
		errs["expires_at"] = *expiryErr
	}
	if len(errs) == 0 {
		return in, nil
	}
	msgs := views.FieldMessages(cliLocale(env), errs)
	var lines []string
	for _, field := range slices.Sorted(maps.Keys(msgs)) {
		lines = append(lines, "--"+cliFlagFor(field)+": "+msgs[field])
	}
	return in, errors.New(strings.Join(lines, "; "))
}

// createLinkFromCLI stores the link (and queues its email, in the same
// transaction, when it has a customer email) and prints its URL last.
func createLinkFromCLI(ctx context.Context, env environment, cfg *config.Config, store *models.Store, in models.LinkInput, emailLang string) error {
	var (
		link   *models.Link
		queued *models.OutboxMessage
		err    error
	)
	if in.CustomerEmail == "" {
		link, err = store.CreateLink(ctx, in)
	} else {
		// The email is queued with the link, in one transaction; the
		// server's worker sends it, so this exits 0 even while SMTP is down.
		// The shop's name as its page saved it, read once: the command
		// changes nothing of it.
		var sh *shop.Shop
		if sh, err = shop.Open(ctx, cfg, store); err != nil {
			return err
		}
		link, queued, err = store.CreateLinkWithEmail(ctx, in, func(l *models.Link) (*models.OutboxMessage, error) {
			return emails.Link(cfg, sh, l, emailLang)
		})
	}
	if errors.Is(err, models.ErrOrderInUse) {
		return flagError(env, "order", err, "invalid.order_in_use")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "link created for order %s, %s (%s mode)\n", link.MerchantOrderID, clp.Format(link.Amount), link.Mode)
	if queued != nil {
		fmt.Fprintf(env.stdout, "email to %s queued in the outbox (Message-ID <%s>); the server sends it\n", queued.To, queued.MessageID)
		if cfg.SMTPURL == nil {
			fmt.Fprintln(env.stdout, "note: SMTP_URL is not set, so it will wait in the outbox until it is")
		}
	}
	fmt.Fprintln(env.stdout, cfg.URL("/pay/"+link.Code))
	return nil
}

func cliFlagFor(field string) string {
	switch field {
	case "merchant_order_id":
		return "order"
	case "order_amount":
		return "amount"
	case "customer_email":
		return "email"
	case "expires_at":
		return "expires-at"
	}
	return field
}

// runSandbox serves the ETpay simulator alone, so merchants can point their
// own configuration at it.
func runSandbox(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("sandbox", env.stderr)
	addr := fs.String("addr", ":9090", "address to listen on")
	code := fs.String("merchant-code", "sandbox_merchant", "merchant code the sandbox accepts")
	token := fs.String("merchant-api-token", "", "merchant API token the sandbox accepts (generated when empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		*token = rand.Text()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger := newLogger(env.stderr)
	sb := sandbox.New(sandbox.Options{MerchantCode: *code, MerchantAPIToken: *token, Logger: logger})
	defer sb.Close()
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + loopbackAddr(ln.Addr())
	fmt.Fprintf(env.stdout, "ETpay sandbox listening on %s\nETPAY_API_URL=%s\nETPAY_PMT_URL=%s\nETPAY_MERCHANT_CODE=%s\nETPAY_MERCHANT_API_TOKEN=%s\n", ln.Addr(), base, base, *code, *token)
	if env.ready != nil {
		env.ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// runBackup is `backup --to FILE`: a consistent, checked copy of the live database.
func runBackup(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("backup", env.stderr)
	to := fs.String("to", "", "file to write the backup to (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		return sentence(env, "cli.backup.to_required")
	}
	_, store, err := openStore(ctx, env)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, *to); errors.Is(err, models.ErrBackupExists) {
		return flagError(env, "to", err, "cli.backup.exists", *to)
	} else if errors.Is(err, models.ErrNotOnPostgres) {
		return sentence(env, "cli.backup.postgres")
	} else if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "backup written and checked: %s\n", *to)
	return nil
}
