package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"etpay-dashboard/emails"
	"etpay-dashboard/linkimport"
	"etpay-dashboard/models"
	"etpay-dashboard/shop"
)

// importFlags are the arguments of `links import`, as typed.
type importFlags struct {
	file      string
	sendEmail bool
	emailLang string
}

// parseImportFlags reads `links import FILE [--send-email] [--email-lang
// es|en]`, with FILE before or after the flags.
func parseImportFlags(env environment, args []string) (importFlags, error) {
	var f importFlags
	fs := newFlagSet("links import", env.stderr)
	fs.BoolVar(&f.sendEmail, "send-email", false, "queue each new link's email to its customer (rows with customer_email)")
	fs.StringVar(&f.emailLang, "email-lang", "es", "language of the emails: es or en")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		f.file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.file == "" && fs.NArg() > 0 {
		f.file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return f, sentence(env, "cli.import.usage")
	}
	if f.file == "" {
		return f, sentence(env, "cli.import.usage")
	}
	if f.emailLang != "es" && f.emailLang != "en" {
		return f, flagError(env, "email-lang", nil, "cli.invalid.email_lang")
	}
	return f, nil
}

// runLinksImport is `links import`: the panel's import on the command line.
// Every good row's link is made, all in one transaction, and the result is
// written to standard output as CSV (linkimport.ResultColumns); it exits 1
// when any row was refused, naming how many on standard error.
func runLinksImport(ctx context.Context, env environment, args []string) error {
	f, err := parseImportFlags(env, args)
	if err != nil {
		return err
	}
	rows, err := readImportFile(env, f.file)
	if err != nil {
		return err
	}
	cfg, store, err := openStore(ctx, env)
	if err != nil {
		return err
	}
	defer store.Close()
	maker := &linkimport.Maker{Store: store, Config: cfg, Shop: emails.FixedName(cfg.MerchantName), SendEmail: f.sendEmail, EmailLang: f.emailLang}
	if f.sendEmail {
		// The shop's name as its page saved it, read once.
		if maker.Shop, err = shop.Open(ctx, cfg, store); err != nil {
			return err
		}
	}
	made, err := maker.Make(ctx, rows)
	if err != nil {
		return err
	}
	detail := linkimport.AuditOf(filepath.Base(f.file), made, f.sendEmail)
	if err := store.RecordAudit(ctx, nil, "", models.AuditLinksImported, detail.String(), ""); err != nil {
		return err
	}
	l := cliLocale(env)
	url := func(code string) string { return cfg.URL("/pay/" + code) }
	if err := linkimport.WriteCSV(env.stdout, l, made, url, ',', false); err != nil {
		return err
	}
	if detail.Refused > 0 {
		return sentence(env, "cli.import.refused", detail.Refused, len(made))
	}
	return nil
}

// readImportFile reads and parses FILE, explaining a file that cannot be
// imported in the user's language.
func readImportFile(env environment, path string) ([]models.ImportRow, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, sentence(env, "cli.import.file", path, errors.Unwrap(err))
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, linkimport.MaxBytes+1))
	if err != nil {
		return nil, sentence(env, "cli.import.file", path, err)
	}
	rows, err := linkimport.Parse(data)
	var fe *linkimport.FileError
	if errors.As(err, &fe) {
		return nil, sentence(env, fe.Key, fe.Args...)
	}
	return rows, err
}
