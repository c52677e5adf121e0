// Package config loads and validates etpay-dashboard's settings.
//
// Every setting comes from the environment; non-secret ones may also be given as
// flags, and a flag beats the environment, which beats the default. Secrets are
// environment-only (or NAME_FILE pointing at a file) so they never show in `ps`.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
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
	// MailFrom is the sender of every email, as given, and its Reply-To
	// until the shop's settings name another address.
	MailFrom string
	// MerchantName is MERCHANT_NAME, or BASE_URL's host when it is not set.
	// The name customers see comes from package shop: MERCHANT_NAME when
	// given (MerchantNameGiven), else the name saved on the shop's page.
	MerchantName      string
	MerchantNameGiven bool
	// MailGiveUpAfter is how long a failing email keeps being retried.
	MailGiveUpAfter time.Duration
	// MailPoll is how often the outbox worker looks for email to send, and
	// MailRetry the wait before the first retry (doubling afterwards). They
	// are not settings: Load sets the defaults and tests shorten them.
	MailPoll  time.Duration
	MailRetry time.Duration
	// BackupDir, when set, turns on scheduled backups into that folder,
	// every BackupEvery, keeping the newest BackupKeep.
	BackupDir   string
	BackupEvery time.Duration
	BackupKeep  int
	// RemindAfter, when not 0, is how long after a link's last email an
	// open link gets a reminder, at most RemindMax times.
	RemindAfter time.Duration
	RemindMax   int
	// ACMEDomains, when set, make this server serve HTTPS itself with
	// certificates it gets from an ACME CA (Let's Encrypt) for these names.
	ACMEDomains []string
	// ACMEEmail is the contact given to the CA; may be empty.
	ACMEEmail string
	// ACMEDirectoryURL is the CA's ACME directory.
	ACMEDirectoryURL string
	// ACMECARoots is a PEM file of CAs trusted, beside the system's, to
	// talk to the ACME server (a test or private CA); empty: the system's.
	ACMECARoots string
	// TLSCertFile and TLSKeyFile are the merchant's own certificate and
	// key, served instead of ACME's.
	TLSCertFile, TLSKeyFile string
	// HTTPRedirectAddr is where plain HTTP is answered with a redirect to
	// https (and ACME's http-01 challenges); empty: nowhere.
	HTTPRedirectAddr string
	// WebhookAllowPrivate lets the shop's webhooks go to http and to
	// loopback or private addresses in live mode (sandbox mode always may).
	WebhookAllowPrivate bool
	// APIRateLimit is how many requests a second each API key may make
	// (API_RATE_LIMIT), in bursts of up to twice as many.
	APIRateLimit int
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
	{"LISTEN_ADDR", ":8080", false, "address the HTTP server listens on (default :443 with ACME_DOMAINS or TLS_CERT_FILE)"},
	{"BASE_URL", "", false, "public URL used in every link and every URL sent to ETpay (default http://localhost at LISTEN_ADDR's port; https://<first of ACME_DOMAINS> with ACME; https://localhost at LISTEN_ADDR's port with TLS_CERT_FILE)"},
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
	{"MAIL_FROM", "", false, "sender of every email, e.g. Pagos Tienda <pagos@shop.cl>, and its Reply-To unless the shop's page names one; required with SMTP_URL"},
	{"MERCHANT_NAME", "", false, "the shop's name shown in emails and on customer pages; when set, it wins over the name saved on the shop's page (default: that name, else BASE_URL's host name)"},
	{"MAIL_GIVE_UP_AFTER", "48h", false, "how long an email that cannot be sent is retried before it is marked failed"},
	{"BACKUP_DIR", "", false, "folder for scheduled backups of the database (unset: no scheduled backups)"},
	{"BACKUP_EVERY", "24h", false, "how often a scheduled backup is made"},
	{"BACKUP_KEEP", "14", false, "how many scheduled backups are kept (the oldest go first)"},
	{"ACME_DOMAINS", "", false, "comma-separated host names: serve HTTPS on LISTEN_ADDR with certificates from Let's Encrypt (ACME) for them"},
	{"ACME_EMAIL", "", false, "contact email given to the ACME CA with ACME_DOMAINS"},
	{"ACME_DIRECTORY_URL", LetsEncryptURL, false, "ACME directory to get certificates from with ACME_DOMAINS"},
	{"ACME_CA_ROOTS", "", false, "PEM file of CA certificates trusted, beside the system's, to reach ACME_DIRECTORY_URL (a test or private CA)"},
	{"HTTP_REDIRECT_ADDR", "", false, "address of the plain-HTTP server that answers ACME challenges and redirects to https (default :80 with ACME_DOMAINS; none otherwise)"},
	{"TLS_CERT_FILE", "", false, "PEM certificate (chain) to serve HTTPS with on LISTEN_ADDR instead of ACME; needs TLS_KEY_FILE"},
	{"TLS_KEY_FILE", "", false, "PEM private key of TLS_CERT_FILE"},
	{"WEBHOOK_ALLOW_PRIVATE", "false", false, "true: the shop's webhooks may go to http and to loopback or private addresses in live mode (sandbox mode always may)"},
	{"REMIND_AFTER", "", false, "how long after a payment link's last email an unpaid link gets a reminder email, e.g. 48h (unset: no reminders)"},
	{"REMIND_MAX", "1", false, "how many reminders a link gets at most"},
	{"API_RATE_LIMIT", "10", false, "requests a second each API key may make, in bursts of up to twice as many (more answer 429)"},
}

// Defaults of the outbox worker's timing (see Config.MailPoll).
const (
	DefaultMailPoll  = 5 * time.Second
	DefaultMailRetry = 5 * time.Second
)

// Load reads the settings from args (flags, without the program name) and getenv.
func Load(args []string, getenv func(string) string) (*Config, error) {
	src, err := parseFlags(args, getenv)
	if err != nil {
		return nil, err
	}
	c := &Config{
		ListenAddr:    src.orDefault("LISTEN_ADDR"),
		DatabaseURL:   src.orDefault("DATABASE_URL"),
		ETpayAPIURL:   src.value("ETPAY_API_URL"),
		ETpayPMTURL:   src.value("ETPAY_PMT_URL"),
		ETpayMerchant: src.value("ETPAY_MERCHANT_CODE"),
		ETpayAPIToken: src.secret("ETPAY_MERCHANT_API_TOKEN"),
		AdminEmail:    strings.ToLower(src.value("ADMIN_EMAIL")),
		AdminPassword: src.secret("ADMIN_PASSWORD"),
		SessionSecret: src.secret("SESSION_SECRET"),
	}
	leaf := c.loadHTTPS(src)
	base, err := parseBaseURL(c.baseURL(src))
	src.fail(err)
	c.BaseURL = base
	c.loadMode(src)
	c.warnHTTPS(src, leaf)
	c.checkAdmin(src)
	c.loadLimits(src)
	c.loadBackups(src)
	c.WebhookAllowPrivate = parseBool(src, "WEBHOOK_ALLOW_PRIVATE")
	c.loadAPI(src)
	src.errs = append(src.errs, c.loadMail(src.secret("SMTP_URL"), src.value("MAIL_FROM"), src.value("MERCHANT_NAME"), src.orDefault("MAIL_GIVE_UP_AFTER"))...)
	c.loadReminders(src)
	if err := errors.Join(src.errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// loadMode decides sandbox or live mode from the four ETPAY_* settings:
// none set is sandbox, all four live, anything else an error.
func (c *Config) loadMode(src *source) {
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
			_, err := parseHTTPURL(name, etpay[name])
			src.fail(err)
		}
	default:
		src.fail(fmt.Errorf("some ETPAY_* settings are set but these are missing: %s (set all four for live mode, or none for sandbox mode)", strings.Join(missing, ", ")))
	}
	if c.Mode == ModeLive && c.BaseURL != nil && c.BaseURL.Scheme == "http" {
		c.Warnings = append(c.Warnings, "BASE_URL uses plain http in live mode: customers and ETpay should reach this server over https")
	}
}

// checkAdmin checks the first admin's settings, which go together.
func (c *Config) checkAdmin(src *source) {
	switch {
	case c.AdminEmail == "" && c.AdminPassword == "":
	case c.AdminEmail == "" || c.AdminPassword == "":
		src.fail(errors.New("ADMIN_EMAIL and ADMIN_PASSWORD must be set together"))
	case utf8.RuneCountInString(c.AdminPassword) < MinPasswordLength:
		src.fail(fmt.Errorf("ADMIN_PASSWORD must have at least %d characters", MinPasswordLength))
	case len(c.AdminPassword) > 72:
		src.fail(errors.New("ADMIN_PASSWORD must have at most 72 bytes"))
	case !isEmail(c.AdminEmail):
		src.fail(errors.New("ADMIN_EMAIL is not an email address"))
	}
}

// loadLimits reads the durations, amounts and addresses that bound the app.
func (c *Config) loadLimits(src *source) {
	var err error
	if c.LinkSessionReuse, err = time.ParseDuration(src.orDefault("LINK_SESSION_REUSE")); err != nil || c.LinkSessionReuse < 0 {
		src.fail(fmt.Errorf("LINK_SESSION_REUSE %q is not a duration such as 30m", src.orDefault("LINK_SESSION_REUSE")))
	}
	if c.ReconcileAfter, err = time.ParseDuration(src.orDefault("RECONCILE_AFTER")); err != nil || c.ReconcileAfter <= 0 {
		src.fail(fmt.Errorf("RECONCILE_AFTER %q is not a positive duration such as 15m", src.orDefault("RECONCILE_AFTER")))
	}
	if c.MaxOrderAmount, err = strconv.ParseInt(src.orDefault("MAX_ORDER_AMOUNT"), 10, 64); err != nil || c.MaxOrderAmount <= 0 {
		src.fail(fmt.Errorf("MAX_ORDER_AMOUNT %q is not a positive whole number of pesos", src.orDefault("MAX_ORDER_AMOUNT")))
	}
	c.TrustedProxies, err = parseCIDRs(src.value("TRUSTED_PROXIES"))
	src.fail(err)
	if c.DatabaseURL == "" {
		src.fail(errors.New("DATABASE_URL is empty"))
	}
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

// loadBackups reads the scheduled backups' settings; BACKUP_DIR must be a
// folder that exists (the server writes into it, never creates it).
func (c *Config) loadBackups(src *source) {
	c.BackupDir = src.value("BACKUP_DIR")
	var err error
	if c.BackupEvery, err = time.ParseDuration(src.orDefault("BACKUP_EVERY")); err != nil || c.BackupEvery <= 0 {
		src.fail(fmt.Errorf("BACKUP_EVERY %q is not a positive duration such as 24h", src.orDefault("BACKUP_EVERY")))
	}
	if c.BackupKeep, err = strconv.Atoi(src.orDefault("BACKUP_KEEP")); err != nil || c.BackupKeep < 1 {
		src.fail(fmt.Errorf("BACKUP_KEEP %q is not a whole number of at least 1", src.orDefault("BACKUP_KEEP")))
	}
	if c.BackupDir == "" {
		return
	}
	if fi, err := os.Stat(c.BackupDir); err != nil || !fi.IsDir() {
		src.fail(fmt.Errorf("BACKUP_DIR %q is not an existing folder", c.BackupDir))
	}
}
