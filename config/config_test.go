package config

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// env turns a map into a getenv function.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// live is the four ETPAY_* settings of a live configuration.
func live() map[string]string {
	return map[string]string{
		"ETPAY_API_URL":            "https://api-sandbox.etpay.com",
		"ETPAY_PMT_URL":            "https://pmt-sandbox.etpay.com",
		"ETPAY_MERCHANT_CODE":      "cl_demo_cl",
		"ETPAY_MERCHANT_API_TOKEN": "token-123",
	}
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8080" {
		t.Errorf("ListenAddr = %q, want :8080", c.ListenAddr)
	}
	if got := c.BaseURL.String(); got != "http://localhost:8080" {
		t.Errorf("BaseURL = %q, want http://localhost:8080", got)
	}
	if c.DatabaseURL != "etpay-dashboard.db" {
		t.Errorf("DatabaseURL = %q, want etpay-dashboard.db", c.DatabaseURL)
	}
	if c.LinkSessionReuse != 30*time.Minute {
		t.Errorf("LinkSessionReuse = %v, want 30m", c.LinkSessionReuse)
	}
	if c.MaxOrderAmount != 100000000 {
		t.Errorf("MaxOrderAmount = %d, want 100000000", c.MaxOrderAmount)
	}
	if c.Mode != ModeSandbox {
		t.Errorf("Mode = %q, want sandbox", c.Mode)
	}
	if len(c.TrustedProxies) != 0 || len(c.Warnings) != 0 || c.AdminEmail != "" || c.AdminPassword != "" || c.SessionSecret != "" {
		t.Errorf("unexpected non-default values: %+v", c)
	}
	if c.Secure() {
		t.Error("Secure() = true for an http BASE_URL")
	}
	if got := c.URL("/pay/x"); got != "http://localhost:8080/pay/x" {
		t.Errorf("URL = %q", got)
	}
}

func TestLoadLiveMode(t *testing.T) {
	c, err := Load(nil, env(with(live(), "BASE_URL", "https://shop.cl")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeLive || c.ETpayAPIURL != "https://api-sandbox.etpay.com" || c.ETpayPMTURL != "https://pmt-sandbox.etpay.com" ||
		c.ETpayMerchant != "cl_demo_cl" || c.ETpayAPIToken != "token-123" {
		t.Errorf("live config = %+v", c)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("Warnings = %v, want none for https", c.Warnings)
	}
	if !c.Secure() {
		t.Error("Secure() = false for an https BASE_URL")
	}
}

func TestLoadPartialETpay(t *testing.T) {
	names := []string{"ETPAY_API_URL", "ETPAY_PMT_URL", "ETPAY_MERCHANT_CODE", "ETPAY_MERCHANT_API_TOKEN"}
	tests := []struct {
		name string
		set  []string
	}{
		{"only API URL", names[:1]},
		{"only token", names[3:]},
		{"two of four", []string{"ETPAY_PMT_URL", "ETPAY_MERCHANT_CODE"}},
		{"three of four", names[:3]},
		{"three of four, token missing", []string{"ETPAY_API_URL", "ETPAY_PMT_URL", "ETPAY_MERCHANT_API_TOKEN"}},
	}
	all := live()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for _, n := range tt.set {
				m[n] = all[n]
			}
			c, err := Load(nil, env(m))
			if err == nil {
				t.Fatalf("Load = %+v, want an error", c)
			}
			_, missingPart, ok := strings.Cut(err.Error(), "missing:")
			if !ok {
				t.Fatalf("error %q does not say what is missing", err)
			}
			for _, n := range names {
				isSet := false
				for _, s := range tt.set {
					isSet = isSet || s == n
				}
				// No ETPAY_* name contains another, so Contains is exact enough.
				if named := strings.Contains(missingPart, n); named == isSet {
					t.Errorf("error %q: names %s = %v, want %v", err, n, named, !isSet)
				}
			}
		})
	}
}

func TestLoadFlagBeatsEnv(t *testing.T) {
	m := map[string]string{
		"LISTEN_ADDR":        ":9000",
		"BASE_URL":           "https://env.example",
		"DATABASE_URL":       "env.db",
		"LINK_SESSION_REUSE": "5m",
		"MAX_ORDER_AMOUNT":   "500",
		"ADMIN_EMAIL":        "env@shop.cl",
		"ADMIN_PASSWORD":     "long-enough-password",
	}
	args := []string{
		"--listen-addr", "127.0.0.1:7000",
		"--base-url=https://flag.example/x",
		"-database-url", "flag.db",
		"--link-session-reuse", "1h",
		"--max-order-amount", "700",
		"--admin-email", "Flag@Shop.cl",
		"--trusted-proxies", "10.0.0.0/8",
	}
	c, err := Load(args, env(m))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"listen", c.ListenAddr, "127.0.0.1:7000"},
		{"base url", c.BaseURL.String(), "https://flag.example/x"},
		{"database", c.DatabaseURL, "flag.db"},
		{"reuse", c.LinkSessionReuse.String(), "1h0m0s"},
		{"max amount", strconv.FormatInt(c.MaxOrderAmount, 10), "700"},
		{"admin email lower-cased", c.AdminEmail, "flag@shop.cl"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if len(c.TrustedProxies) != 1 || c.TrustedProxies[0].String() != "10.0.0.0/8" {
		t.Errorf("TrustedProxies = %v", c.TrustedProxies)
	}

	// Without flags the environment wins over the defaults.
	c, err = Load(nil, env(m))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":9000" || c.BaseURL.String() != "https://env.example" || c.DatabaseURL != "env.db" ||
		c.LinkSessionReuse != 5*time.Minute || c.MaxOrderAmount != 500 || c.AdminEmail != "env@shop.cl" {
		t.Errorf("env config = %+v", c)
	}
}

func TestLoadRejectsSecretsAsFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"admin password", []string{"--admin-password", "a-very-long-password"}},
		{"merchant api token", []string{"--etpay-merchant-api-token", "tok"}},
		{"session secret", []string{"--session-secret", "s"}},
		{"admin password with =", []string{"--admin-password=a-very-long-password"}},
		{"unknown flag", []string{"--nope"}},
		{"positional argument", []string{"serve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, env(nil))
			if err == nil {
				t.Fatalf("Load(%v) = %+v, want an error", tt.args, c)
			}
		})
	}
	// Non-secret ETPAY_* settings are flags and count towards live mode.
	c, err := Load([]string{"--etpay-api-url", "https://api.example", "--etpay-pmt-url", "https://pmt.example", "--etpay-merchant-code", "m"},
		env(map[string]string{"ETPAY_MERCHANT_API_TOKEN": "tok", "BASE_URL": "https://shop.cl"}))
	if err != nil || c.Mode != ModeLive || c.ETpayAPIURL != "https://api.example" {
		t.Errorf("ETPAY_* flags: %+v, %v", c, err)
	}
}

func TestLoadSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m := with(live(),
		"BASE_URL", "https://shop.cl",
		"ETPAY_MERCHANT_API_TOKEN", "env-token-ignored",
		"ETPAY_MERCHANT_API_TOKEN_FILE", write("token", "  file-token\n"),
		"ADMIN_EMAIL", "boss@shop.cl",
		"ADMIN_PASSWORD_FILE", write("password", "password-from-file\n"),
		"SESSION_SECRET_FILE", write("secret", "\tsecret-from-file \r\n"),
	)
	c, err := Load(nil, env(m))
	if err != nil {
		t.Fatal(err)
	}
	if c.ETpayAPIToken != "file-token" || c.AdminPassword != "password-from-file" || c.SessionSecret != "secret-from-file" {
		t.Errorf("secrets = %q %q %q", c.ETpayAPIToken, c.AdminPassword, c.SessionSecret)
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := Load(nil, env(map[string]string{"SESSION_SECRET_FILE": filepath.Join(dir, "nope")}))
		if err == nil || !strings.Contains(err.Error(), "SESSION_SECRET_FILE") {
			t.Errorf("error = %v, want one naming SESSION_SECRET_FILE", err)
		}
	})
	t.Run("token file completes live mode", func(t *testing.T) {
		m := live()
		delete(m, "ETPAY_MERCHANT_API_TOKEN")
		m["ETPAY_MERCHANT_API_TOKEN_FILE"] = write("token2", "t2")
		m["BASE_URL"] = "https://shop.cl"
		c, err := Load(nil, env(m))
		if err != nil || c.Mode != ModeLive || c.ETpayAPIToken != "t2" {
			t.Errorf("Load = %+v, %v", c, err)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // a substring of the error
	}{
		{"admin email without password", map[string]string{"ADMIN_EMAIL": "a@b.cl"}, "ADMIN_PASSWORD"},
		{"admin password without email", map[string]string{"ADMIN_PASSWORD": "long-enough-password"}, "ADMIN_EMAIL"},
		{"admin password of 11 characters", map[string]string{"ADMIN_EMAIL": "a@b.cl", "ADMIN_PASSWORD": "abcdefghijk"}, "ADMIN_PASSWORD"},
		{"admin password of 73 bytes", map[string]string{"ADMIN_EMAIL": "a@b.cl", "ADMIN_PASSWORD": strings.Repeat("a", 73)}, "ADMIN_PASSWORD"},
		{"admin email without at sign", map[string]string{"ADMIN_EMAIL": "boss", "ADMIN_PASSWORD": "long-enough-password"}, "ADMIN_EMAIL"},
		{"ftp base url", map[string]string{"BASE_URL": "ftp://x"}, "BASE_URL"},
		{"base url without scheme", map[string]string{"BASE_URL": "localhost"}, "BASE_URL"},
		{"base url host:port without scheme", map[string]string{"BASE_URL": "localhost:8080"}, "BASE_URL"},
		{"base url with query", map[string]string{"BASE_URL": "https://shop.cl/?a=1"}, "BASE_URL"},
		{"base url with fragment", map[string]string{"BASE_URL": "https://shop.cl/#top"}, "BASE_URL"},
		{"base url without host", map[string]string{"BASE_URL": "https:///pagos"}, "BASE_URL"},
		{"bad live api url", with(live(), "ETPAY_API_URL", "api.etpay.com"), "ETPAY_API_URL"},
		{"bad live pmt url", with(live(), "ETPAY_PMT_URL", "ftp://pmt"), "ETPAY_PMT_URL"},
		{"reuse not a duration", map[string]string{"LINK_SESSION_REUSE": "30"}, "LINK_SESSION_REUSE"},
		{"reuse words", map[string]string{"LINK_SESSION_REUSE": "half an hour"}, "LINK_SESSION_REUSE"},
		{"reuse negative", map[string]string{"LINK_SESSION_REUSE": "-5m"}, "LINK_SESSION_REUSE"},
		{"max amount zero", map[string]string{"MAX_ORDER_AMOUNT": "0"}, "MAX_ORDER_AMOUNT"},
		{"max amount negative", map[string]string{"MAX_ORDER_AMOUNT": "-1"}, "MAX_ORDER_AMOUNT"},
		{"max amount letters", map[string]string{"MAX_ORDER_AMOUNT": "abc"}, "MAX_ORDER_AMOUNT"},
		{"max amount with thousands dots", map[string]string{"MAX_ORDER_AMOUNT": "100.000"}, "MAX_ORDER_AMOUNT"},
		{"trusted proxy not a cidr", map[string]string{"TRUSTED_PROXIES": "nope"}, "TRUSTED_PROXIES"},
		{"trusted proxy bad prefix", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(tt.env))
			if err == nil {
				t.Fatalf("Load = %+v, want an error mentioning %s", c, tt.wantErr)
			}
			if c != nil {
				t.Errorf("Load returned a config with its error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %s", err, tt.wantErr)
			}
		})
	}
}

// TestLoadRefusesSubtleMistakes holds cases that once slipped through.
func TestLoadRefusesSubtleMistakes(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		bug     string
	}{
		{
			name:    "admin password of 11 characters in 12 bytes",
			env:     map[string]string{"ADMIN_EMAIL": "a@b.cl", "ADMIN_PASSWORD": "contraseña1"},
			wantErr: "ADMIN_PASSWORD",
			bug:     "config.go:179 counts bytes, not characters (models.HashPassword counts runes), so an 11-character password passes",
		},
		{
			name:    "base url with credentials",
			env:     map[string]string{"BASE_URL": "https://user:pw@shop.cl"},
			wantErr: "BASE_URL",
			bug:     "credentials would be put into every link",
		},
		{
			name:    "admin email that is not an address",
			env:     map[string]string{"ADMIN_EMAIL": "a b@c", "ADMIN_PASSWORD": "a long enough password"},
			wantErr: "ADMIN_EMAIL",
			bug:     "only an @ was checked",
		},
		{
			name:    "base url with an empty query",
			env:     map[string]string{"BASE_URL": "https://shop.cl/pagos?"},
			wantErr: "BASE_URL",
			bug:     "config.go:223 ignores URL.ForceQuery, so URL(\"/pay/x\") returns https://shop.cl/pagos?/pay/x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load = %+v, %v; want an error mentioning %s", c, err, tt.wantErr)
			}
		})
	}
}

func TestLoadCollectsEveryError(t *testing.T) {
	_, err := Load(nil, env(map[string]string{"BASE_URL": "ftp://x", "MAX_ORDER_AMOUNT": "0", "TRUSTED_PROXIES": "nope"}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"BASE_URL", "MAX_ORDER_AMOUNT", "TRUSTED_PROXIES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %s", err, name)
		}
	}
}

func TestLoadAdminCredentials(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"ADMIN_EMAIL": " Boss@Shop.CL ", "ADMIN_PASSWORD": "exactly12chr"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminEmail != "boss@shop.cl" || c.AdminPassword != "exactly12chr" {
		t.Errorf("admin = %q / %q", c.AdminEmail, c.AdminPassword)
	}
}

func TestLoadWarnings(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		warnings int
	}{
		{"http in sandbox mode", map[string]string{"BASE_URL": "http://shop.cl"}, 0},
		{"https in sandbox mode", map[string]string{"BASE_URL": "https://shop.cl"}, 0},
		{"http in live mode", with(live(), "BASE_URL", "http://shop.cl"), 1},
		{"default base url in live mode", live(), 1},
		{"https in live mode", with(live(), "BASE_URL", "https://shop.cl"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Warnings) != tt.warnings {
				t.Fatalf("Warnings = %q, want %d", c.Warnings, tt.warnings)
			}
			if tt.warnings > 0 && !strings.Contains(c.Warnings[0], "BASE_URL") {
				t.Errorf("warning %q does not name BASE_URL", c.Warnings[0])
			}
		})
	}
}

func TestLoadTrustedProxies(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []string
	}{
		{"none", "", nil},
		{"cidr and bare ipv4", "10.0.0.0/8, 127.0.0.1", []string{"10.0.0.0/8", "127.0.0.1/32"}},
		{"bare ipv6", "::1", []string{"::1/128"}},
		{"empty items ignored", " , 192.168.1.0/24 ,", []string{"192.168.1.0/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(map[string]string{"TRUSTED_PROXIES": tt.raw}))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range c.TrustedProxies {
				got = append(got, n.String())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("TrustedProxies = %v, want %v", got, tt.want)
			}
		})
	}
	c, err := Load(nil, env(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.TrustedProxies[0].Contains([]byte{10, 1, 2, 3}) || c.TrustedProxies[1].Contains([]byte{127, 0, 0, 2}) {
		t.Error("parsed nets do not contain what they should")
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		name string
		base string
		path string
		want string
	}{
		{"root", "https://shop.cl", "/pay/x", "https://shop.cl/pay/x"},
		{"root with slash", "https://shop.cl/", "/pay/x", "https://shop.cl/pay/x"},
		{"path prefix with trailing slash", "https://shop.cl/pagos/", "/pay/x", "https://shop.cl/pagos/pay/x"},
		{"path prefix", "https://shop.cl/pagos", "/webhooks/etpay", "https://shop.cl/pagos/webhooks/etpay"},
		{"port", "http://localhost:8080", "/pay/x", "http://localhost:8080/pay/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(map[string]string{"BASE_URL": tt.base}))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.URL(tt.path); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestSettingsMatchFlags(t *testing.T) {
	secrets := map[string]bool{"ETPAY_MERCHANT_API_TOKEN": true, "ADMIN_PASSWORD": true, "SESSION_SECRET": true, "SMTP_URL": true}
	// The spine issue's 13 settings, then the ones later issues name.
	want := []string{"LISTEN_ADDR", "BASE_URL", "DATABASE_URL", "ETPAY_API_URL", "ETPAY_PMT_URL",
		"ETPAY_MERCHANT_CODE", "ETPAY_MERCHANT_API_TOKEN", "ADMIN_EMAIL", "ADMIN_PASSWORD", "SESSION_SECRET",
		"LINK_SESSION_REUSE", "MAX_ORDER_AMOUNT", "TRUSTED_PROXIES", "RECONCILE_AFTER",
		"SMTP_URL", "MAIL_FROM", "MERCHANT_NAME", "MAIL_GIVE_UP_AFTER",
		"BACKUP_DIR", "BACKUP_EVERY", "BACKUP_KEEP",
		"ACME_DOMAINS", "ACME_EMAIL", "ACME_DIRECTORY_URL", "ACME_CA_ROOTS", "HTTP_REDIRECT_ADDR", "TLS_CERT_FILE", "TLS_KEY_FILE",
		"WEBHOOK_ALLOW_PRIVATE", "REMIND_AFTER", "REMIND_MAX", "API_RATE_LIMIT"}
	var got []string
	for _, s := range Settings {
		got = append(got, s.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Settings are %v, want %v", got, want)
	}
	for _, s := range Settings {
		if s.Secret != secrets[s.Name] {
			t.Errorf("%s: Secret = %v, want %v", s.Name, s.Secret, secrets[s.Name])
		}
		if s.Usage == "" {
			t.Errorf("%s has no usage text", s.Name)
		}
	}
}

func TestLoadMail(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "smtp")
	if err := os.WriteFile(secretFile, []byte("smtps://u%40shop.cl:s3cr3t@mail.shop.cl:465\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		vars    []string
		wantErr string // substring of the error; empty: loads
		check   func(t *testing.T, c *Config)
	}{
		{"defaults", nil, "", func(t *testing.T, c *Config) {
			if c.SMTPURL != nil || c.MailFrom != "" || c.MerchantName != "localhost" || c.MailGiveUpAfter != 48*time.Hour {
				t.Errorf("mail settings = %v %q %q %v", c.SMTPURL, c.MailFrom, c.MerchantName, c.MailGiveUpAfter)
			}
			if c.MailPoll != 5*time.Second || c.MailRetry > 10*time.Second {
				t.Errorf("MailPoll = %v, MailRetry = %v", c.MailPoll, c.MailRetry)
			}
		}},
		{"plain smtp", []string{"SMTP_URL", "smtp://localhost:25", "MAIL_FROM", "pagos@shop.cl", "MERCHANT_NAME", "Tienda Ñuñoa"}, "", func(t *testing.T, c *Config) {
			if c.SMTPURL.Scheme != SchemeSMTP || c.SMTPURL.Host != "localhost:25" || c.MerchantName != "Tienda Ñuñoa" {
				t.Errorf("SMTPURL = %v, MerchantName = %q", c.SMTPURL, c.MerchantName)
			}
		}},
		{"starttls with user", []string{"SMTP_URL", "smtp+starttls://me%40gmail.com:app-pass@smtp.gmail.com:587", "MAIL_FROM", "Tienda <me@gmail.com>"}, "", func(t *testing.T, c *Config) {
			if p, _ := c.SMTPURL.User.Password(); c.SMTPURL.User.Username() != "me@gmail.com" || p != "app-pass" {
				t.Errorf("user = %v", c.SMTPURL.User)
			}
		}},
		{"from a file", []string{"SMTP_URL_FILE", secretFile, "SMTP_URL", "smtp://ignored", "MAIL_FROM", "pagos@shop.cl"}, "", func(t *testing.T, c *Config) {
			if c.SMTPURL.Scheme != SchemeSMTPS || c.SMTPURL.Hostname() != "mail.shop.cl" {
				t.Errorf("SMTPURL = %v", c.SMTPURL)
			}
		}},
		{"give up after", []string{"MAIL_GIVE_UP_AFTER", "2h"}, "", func(t *testing.T, c *Config) {
			if c.MailGiveUpAfter != 2*time.Hour {
				t.Errorf("MailGiveUpAfter = %v", c.MailGiveUpAfter)
			}
		}},
		{"http scheme", []string{"SMTP_URL", "http://mail.shop.cl", "MAIL_FROM", "a@shop.cl"}, "smtp://", nil},
		{"no host", []string{"SMTP_URL", "smtp://:25", "MAIL_FROM", "a@shop.cl"}, "no host", nil},
		{"bad port", []string{"SMTP_URL", "smtp://mail.shop.cl:99999", "MAIL_FROM", "a@shop.cl"}, "port", nil},
		{"path", []string{"SMTP_URL", "smtp://mail.shop.cl/x", "MAIL_FROM", "a@shop.cl"}, "path", nil},
		{"no MAIL_FROM", []string{"SMTP_URL", "smtp://mail.shop.cl"}, "MAIL_FROM is required", nil},
		{"bad MAIL_FROM", []string{"MAIL_FROM", "pagos"}, "MAIL_FROM", nil},
		{"merchant on two lines", []string{"MERCHANT_NAME", "a\nb"}, "MERCHANT_NAME", nil},
		{"zero give up", []string{"MAIL_GIVE_UP_AFTER", "0s"}, "MAIL_GIVE_UP_AFTER", nil},
		{"give up not a duration", []string{"MAIL_GIVE_UP_AFTER", "2 days"}, "MAIL_GIVE_UP_AFTER", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(with(nil, tt.vars...)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "app-pass") {
					t.Errorf("error %q shows the SMTP password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
	t.Run("SMTP_URL is no flag", func(t *testing.T) {
		if _, err := Load([]string{"--smtp-url", "smtp://x"}, env(nil)); err == nil {
			t.Error("--smtp-url accepted; a secret must not be a flag")
		}
	})
	t.Run("password never quoted", func(t *testing.T) {
		_, err := Load(nil, env(map[string]string{"SMTP_URL": "ftp://u:s3cr3t@host", "MAIL_FROM": "a@shop.cl"}))
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error = %v", err)
		}
	})
}

func TestBackupSettings(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(nil, env(map[string]string{"BACKUP_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BackupDir != dir || c.BackupEvery != 24*time.Hour || c.BackupKeep != 14 {
		t.Errorf("defaults: %q every %v keep %d", c.BackupDir, c.BackupEvery, c.BackupKeep)
	}
	c, err = Load([]string{"--backup-every", "90m", "--backup-keep", "3"}, env(nil))
	if err != nil || c.BackupEvery != 90*time.Minute || c.BackupKeep != 3 || c.BackupDir != "" {
		t.Errorf("flags: %+v, %v", c, err)
	}
	for _, bad := range []map[string]string{
		{"BACKUP_DIR": filepath.Join(dir, "missing")},
		{"BACKUP_EVERY": "0s"},
		{"BACKUP_EVERY": "daily"},
		{"BACKUP_KEEP": "0"},
	} {
		if _, err := Load(nil, env(bad)); err == nil || !strings.Contains(err.Error(), "BACKUP_") {
			t.Errorf("%v: %v, want an error naming the setting", bad, err)
		}
	}
}

func TestWebhookAllowPrivate(t *testing.T) {
	tests := []struct {
		value string
		want  bool
		fails bool
	}{{"", false, false}, {"true", true, false}, {"false", false, false}, {"1", true, false}, {"yes please", false, true}}
	for _, tt := range tests {
		c, err := Load(nil, env(map[string]string{"WEBHOOK_ALLOW_PRIVATE": tt.value}))
		switch {
		case tt.fails && (err == nil || !strings.Contains(err.Error(), "WEBHOOK_ALLOW_PRIVATE")):
			t.Errorf("%q: %v, want an error naming the setting", tt.value, err)
		case !tt.fails && (err != nil || c.WebhookAllowPrivate != tt.want):
			t.Errorf("%q: %+v, %v; want %v", tt.value, c, err, tt.want)
		}
	}
}

func TestAPIRateLimit(t *testing.T) {
	c, err := Load(nil, env(map[string]string{}))
	if err != nil || c.APIRateLimit != 10 {
		t.Fatalf("default API_RATE_LIMIT: %v, %v", c, err)
	}
	c, err = Load([]string{"--api-rate-limit", "3"}, env(map[string]string{}))
	if err != nil || c.APIRateLimit != 3 {
		t.Fatalf("--api-rate-limit 3: %v, %v", c, err)
	}
	for _, bad := range []string{"0", "-1", "2.5", "ten", "10001"} {
		if _, err := Load(nil, env(map[string]string{"API_RATE_LIMIT": bad})); err == nil || !strings.Contains(err.Error(), "API_RATE_LIMIT") {
			t.Errorf("API_RATE_LIMIT=%s: %v", bad, err)
		}
	}
}
