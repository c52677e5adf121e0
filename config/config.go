// Package config loads and validates etpay-dashboard's settings.
//
// Every setting comes from the environment; non-secret ones may also be given as
// flags, and a flag beats the environment, which beats the default. Secrets are
// environment-only (or NAME_FILE pointing at a file) so they never show in `ps`.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Mode says whether payments go to the real ETpay or to the built-in sandbox.
type Mode string

// The two modes a session can be made in.
const (
	ModeSandbox Mode = "sandbox"
	ModeLive    Mode = "live"
)

// Config is the validated configuration of one process.
type Config struct {
	ListenAddr       string
	BaseURL          *url.URL
	DatabaseURL      string
	ETpayAPIURL      string
	ETpayPMTURL      string
	ETpayMerchant    string
	ETpayAPIToken    string
	AdminEmail       string
	AdminPassword    string
	SessionSecret    string
	LinkSessionReuse time.Duration
	ReconcileAfter   time.Duration
	MaxOrderAmount   int64
	TrustedProxies   []*net.IPNet
	Mode             Mode
	// SMTPURL is where email goes out (a secret: it may carry a password);
	// nil means email waits in the outbox.
	SMTPURL *url.URL
	// MailFrom is the sender and Reply-To of every email, as given.
	MailFrom string
	// MerchantName is the shop's name shown in emails and on customer pages.
	MerchantName string
	// MailGiveUpAfter is how long a failing email keeps being retried.
	MailGiveUpAfter time.Duration
	// MailPoll is how often the outbox worker looks for email to send, and
	// MailRetry the wait before the first retry (doubling afterwards). They
	// are not settings: Load sets the defaults and tests shorten them.
	MailPoll  time.Duration
	MailRetry time.Duration
	// Warnings are non-fatal findings (such as plain http in live mode) for the caller to log.
	Warnings []string
}

// MinPasswordLength is the shortest password accepted anywhere.
const MinPasswordLength = 12

// Setting describes one setting for flags and the README.
type Setting struct {
	Name    string
	Default string
	Secret  bool
	Usage   string
}

// Settings lists every setting this package reads, in README order.
var Settings = []Setting{
	{"LISTEN_ADDR", ":8080", false, "address the HTTP server listens on"},
	{"BASE_URL", "http://localhost:8080", false, "public URL used in every link and every URL sent to ETpay"},
	{"DATABASE_URL", "etpay-dashboard.db", false, "SQLite database file"},
	{"ETPAY_API_URL", "", false, "ETpay API URL (all four ETPAY_* unset: sandbox mode)"},
	{"ETPAY_PMT_URL", "", false, "ETpay funnel URL"},
	{"ETPAY_MERCHANT_CODE", "", false, "merchant code given by ETpay"},
	{"ETPAY_MERCHANT_API_TOKEN", "", true, "merchant API token given by ETpay"},
	{"ADMIN_EMAIL", "", false, "email of the first admin, used only when no user exists"},
	{"ADMIN_PASSWORD", "", true, "password of the first admin (at least 12 characters)"},
	{"SESSION_SECRET", "", true, "key for staff session cookies; generated and kept in the database when unset"},
	{"LINK_SESSION_REUSE", "30m", false, "how long a payment link reuses its pending ETpay session"},
	{"RECONCILE_AFTER", "15m", false, "how long a session may stay pending before we ask ETpay about it"},
	{"MAX_ORDER_AMOUNT", "100000000", false, "largest amount in CLP a link may ask for"},
	{"TRUSTED_PROXIES", "", false, "comma-separated CIDRs whose X-Forwarded-For is believed"},
	{"SMTP_URL", "", true, "SMTP server for outgoing email: smtp://host:25, smtp://user:pass@host:587 (STARTTLS when offered), smtp+starttls://… (STARTTLS required), smtps://host:465 (implicit TLS); unset: email waits in the outbox"},
	{"MAIL_FROM", "", false, "sender and Reply-To of every email, e.g. Pagos Tienda <pagos@shop.cl>; required with SMTP_URL"},
	{"MERCHANT_NAME", "", false, "the shop's name shown in emails and on customer pages (default: BASE_URL's host name)"},
	{"MAIL_GIVE_UP_AFTER", "48h", false, "how long an email that cannot be sent is retried before it is marked failed"},
}

// Defaults of the outbox worker's timing (see Config.MailPoll).
const (
	DefaultMailPoll  = 5 * time.Second
	DefaultMailRetry = 5 * time.Second
)

// Load reads the settings from args (flags, without the program name) and getenv.
func Load(args []string, getenv func(string) string) (*Config, error) {
	fs := flag.NewFlagSet("etpay-dashboard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := map[string]*string{}
	for _, s := range Settings {
		if s.Secret {
			continue
		}
		flags[s.Name] = fs.String(flagName(s.Name), "", s.Usage)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var errs []error
	value := func(name string) string {
		if p, ok := flags[name]; ok && given[flagName(name)] {
			return strings.TrimSpace(*p)
		}
		return strings.TrimSpace(getenv(name))
	}
	secret := func(name string) string {
		if path := getenv(name + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				return ""
			}
			return strings.TrimSpace(string(b))
		}
		return strings.TrimSpace(getenv(name))
	}
	orDefault := func(name string) string {
		if v := value(name); v != "" {
			return v
		}
		for _, s := range Settings {
			if s.Name == name {
				return s.Default
			}
		}
		return ""
	}

	c := &Config{
		ListenAddr:    orDefault("LISTEN_ADDR"),
		DatabaseURL:   orDefault("DATABASE_URL"),
		ETpayAPIURL:   value("ETPAY_API_URL"),
		ETpayPMTURL:   value("ETPAY_PMT_URL"),
		ETpayMerchant: value("ETPAY_MERCHANT_CODE"),
		ETpayAPIToken: secret("ETPAY_MERCHANT_API_TOKEN"),
		AdminEmail:    strings.ToLower(value("ADMIN_EMAIL")),
		AdminPassword: secret("ADMIN_PASSWORD"),
		SessionSecret: secret("SESSION_SECRET"),
	}

	base, err := parseBaseURL(orDefault("BASE_URL"))
	if err != nil {
		errs = append(errs, err)
	}
	c.BaseURL = base

	etpay := map[string]string{
		"ETPAY_API_URL":            c.ETpayAPIURL,
		"ETPAY_PMT_URL":            c.ETpayPMTURL,
		"ETPAY_MERCHANT_CODE":      c.ETpayMerchant,
		"ETPAY_MERCHANT_API_TOKEN": c.ETpayAPIToken,
	}
	var missing []string
	for _, name := range []string{"ETPAY_API_URL", "ETPAY_PMT_URL", "ETPAY_MERCHANT_CODE", "ETPAY_MERCHANT_API_TOKEN"} {
		if etpay[name] == "" {
			missing = append(missing, name)
		}
	}
	switch len(missing) {
	case 4:
		c.Mode = ModeSandbox
	case 0:
		c.Mode = ModeLive
		for _, name := range []string{"ETPAY_API_URL", "ETPAY_PMT_URL"} {
			if _, err := parseHTTPURL(name, etpay[name]); err != nil {
				errs = append(errs, err)
			}
		}
	default:
		errs = append(errs, fmt.Errorf("some ETPAY_* settings are set but these are missing: %s (set all four for live mode, or none for sandbox mode)", strings.Join(missing, ", ")))
	}
	if c.Mode == ModeLive && base != nil && base.Scheme == "http" {
		c.Warnings = append(c.Warnings, "BASE_URL uses plain http in live mode: customers and ETpay should reach this server over https")
	}

	switch {
	case c.AdminEmail == "" && c.AdminPassword == "":
	case c.AdminEmail == "" || c.AdminPassword == "":
		errs = append(errs, errors.New("ADMIN_EMAIL and ADMIN_PASSWORD must be set together"))
	case utf8.RuneCountInString(c.AdminPassword) < MinPasswordLength:
		errs = append(errs, fmt.Errorf("ADMIN_PASSWORD must have at least %d characters", MinPasswordLength))
	case len(c.AdminPassword) > 72:
		errs = append(errs, errors.New("ADMIN_PASSWORD must have at most 72 bytes"))
	case !isEmail(c.AdminEmail):
		errs = append(errs, errors.New("ADMIN_EMAIL is not an email address"))
	}

	if c.LinkSessionReuse, err = time.ParseDuration(orDefault("LINK_SESSION_REUSE")); err != nil || c.LinkSessionReuse < 0 {
		errs = append(errs, fmt.Errorf("LINK_SESSION_REUSE %q is not a duration such as 30m", orDefault("LINK_SESSION_REUSE")))
	}
	if c.ReconcileAfter, err = time.ParseDuration(orDefault("RECONCILE_AFTER")); err != nil || c.ReconcileAfter <= 0 {
		errs = append(errs, fmt.Errorf("RECONCILE_AFTER %q is not a positive duration such as 15m", orDefault("RECONCILE_AFTER")))
	}
	if c.MaxOrderAmount, err = strconv.ParseInt(orDefault("MAX_ORDER_AMOUNT"), 10, 64); err != nil || c.MaxOrderAmount <= 0 {
		errs = append(errs, fmt.Errorf("MAX_ORDER_AMOUNT %q is not a positive whole number of pesos", orDefault("MAX_ORDER_AMOUNT")))
	}
	if c.TrustedProxies, err = parseCIDRs(value("TRUSTED_PROXIES")); err != nil {
		errs = append(errs, err)
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is empty"))
	}
	errs = append(errs, c.loadMail(secret("SMTP_URL"), value("MAIL_FROM"), value("MERCHANT_NAME"), orDefault("MAIL_GIVE_UP_AFTER"))...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// URL joins path to BASE_URL, keeping any path BASE_URL has.
func (c *Config) URL(path string) string {
	return strings.TrimRight(c.BaseURL.String(), "/") + path
}

// Secure reports whether cookies must carry the Secure flag.
func (c *Config) Secure() bool { return c.BaseURL.Scheme == "https" }

// flagName turns LISTEN_ADDR into listen-addr.
func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(env), "_", "-")
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := parseHTTPURL("BASE_URL", raw)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return nil, errors.New("BASE_URL must not have a query or fragment")
	}
	if u.User != nil {
		return nil, errors.New("BASE_URL must not carry a user name or password: it goes into every link")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// isEmail accepts a bare address such as admin@shop.cl.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func parseHTTPURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an absolute http(s) URL", name, raw)
	}
	return u, nil
}

func parseCIDRs(raw string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			if ip := net.ParseIP(part); ip != nil && ip.To4() != nil {
				part += "/32"
			} else {
				part += "/128"
			}
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR", part)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// SMTP URL schemes: smtp uses STARTTLS when offered, smtp+starttls requires
// it, smtps is TLS from the first byte.
const (
	SchemeSMTP         = "smtp"
	SchemeSMTPStartTLS = "smtp+starttls"
	SchemeSMTPS        = "smtps"
)

// loadMail validates the mail settings into c. Messages never repeat
// SMTP_URL: it may carry a password.
func (c *Config) loadMail(smtpURL, from, merchant, giveUp string) []error {
	var errs []error
	c.MailPoll, c.MailRetry = DefaultMailPoll, DefaultMailRetry
	if smtpURL != "" {
		u, err := parseSMTPURL(smtpURL)
		if err != nil {
			errs = append(errs, err)
		}
		c.SMTPURL = u
		if from == "" {
			errs = append(errs, errors.New("MAIL_FROM is required when SMTP_URL is set, e.g. MAIL_FROM=pagos@shop.cl"))
		}
	}
	if from != "" {
		if a, err := mail.ParseAddress(from); err != nil || !strings.Contains(a.Address, "@") {
			errs = append(errs, fmt.Errorf("MAIL_FROM %q is not an email address such as pagos@shop.cl or \"Tienda <pagos@shop.cl>\"", from))
		}
	}
	c.MailFrom = from
	c.MerchantName = merchant
	if c.MerchantName == "" && c.BaseURL != nil {
		c.MerchantName = c.BaseURL.Hostname()
	}
	if utf8.RuneCountInString(c.MerchantName) > 100 || strings.ContainsFunc(c.MerchantName, unicode.IsControl) {
		errs = append(errs, errors.New("MERCHANT_NAME must be one line of at most 100 characters"))
	}
	var err error
	if c.MailGiveUpAfter, err = time.ParseDuration(giveUp); err != nil || c.MailGiveUpAfter <= 0 {
		errs = append(errs, fmt.Errorf("MAIL_GIVE_UP_AFTER %q is not a positive duration such as 48h", giveUp))
	}
	return errs
}

// parseSMTPURL checks an SMTP_URL without ever quoting it back.
func parseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("SMTP_URL is not a URL such as smtp://host:25 (special characters in the password must be percent-encoded)")
	}
	switch u.Scheme {
	case SchemeSMTP, SchemeSMTPStartTLS, SchemeSMTPS:
	default:
		return nil, errors.New("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
	}
	if u.Hostname() == "" {
		return nil, errors.New("SMTP_URL has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("SMTP_URL has an invalid port")
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("SMTP_URL must have no path, query or fragment")
	}
	if u.User != nil && u.User.Username() == "" {
		return nil, errors.New("SMTP_URL has a password but no user name")
	}
	return u, nil
}
