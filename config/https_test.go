package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/tlsserve/tlstest"
)

func TestLoadACME(t *testing.T) {
	c, err := Load([]string{"--acme-domains", " Pagos.Tienda.cl., www.tienda.cl,pagos.tienda.cl "},
		env(map[string]string{"DATABASE_URL": "/var/lib/etpay-dashboard/etpay.db", "ACME_EMAIL": "ti@tienda.cl"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pagos.tienda.cl", "www.tienda.cl"}; !slices.Equal(c.ACMEDomains, want) {
		t.Errorf("ACMEDomains = %q, want %q", c.ACMEDomains, want)
	}
	tests := []struct{ name, got, want string }{
		{"listen", c.ListenAddr, ":443"},
		{"redirect", c.HTTPRedirectAddr, ":80"},
		{"base url", c.BaseURL.String(), "https://pagos.tienda.cl"},
		{"directory", c.ACMEDirectoryURL, "https://acme-v02.api.letsencrypt.org/directory"},
		{"email", c.ACMEEmail, "ti@tienda.cl"},
		{"cache", c.ACMECacheDir(), "/var/lib/etpay-dashboard/acme-certs"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if !c.ServesHTTPS() || !c.Secure() || len(c.Warnings) != 0 {
		t.Errorf("ServesHTTPS = %v, Secure = %v, Warnings = %q", c.ServesHTTPS(), c.Secure(), c.Warnings)
	}

	c, err = Load(nil, env(map[string]string{"ACME_DOMAINS": "pagos.tienda.cl", "LISTEN_ADDR": ":8443",
		"HTTP_REDIRECT_ADDR": "127.0.0.1:8080", "BASE_URL": "https://pagos.tienda.cl/caja"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8443" || c.HTTPRedirectAddr != "127.0.0.1:8080" || c.BaseURL.String() != "https://pagos.tienda.cl/caja" {
		t.Errorf("given settings not kept: %q %q %q", c.ListenAddr, c.HTTPRedirectAddr, c.BaseURL)
	}
}

func TestLoadBehindAProxyIsUnchanged(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ServesHTTPS() || c.ListenAddr != ":8080" || c.HTTPRedirectAddr != "" || c.BaseURL.String() != "http://localhost:8080" || c.ACMEDirectoryURL != "" {
		t.Errorf("without TLS settings: ServesHTTPS %v, listen %q, redirect %q, base %q, directory %q",
			c.ServesHTTPS(), c.ListenAddr, c.HTTPRedirectAddr, c.BaseURL, c.ACMEDirectoryURL)
	}
}

// TestDefaultBaseURLFollowsTheListeningPort: without BASE_URL, links point
// at the port the server listens on (with ACME the domain decides, and with
// own certificates the https rule in TestLoadOwnCertificate).
func TestDefaultBaseURLFollowsTheListeningPort(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", nil, "http://localhost:8080"},
		{"another port", map[string]string{"LISTEN_ADDR": ":9000"}, "http://localhost:9000"},
		{"an address and a port", map[string]string{"LISTEN_ADDR": "127.0.0.1:9001"}, "http://localhost:9001"},
		{"port 80", map[string]string{"LISTEN_ADDR": ":80"}, "http://localhost"},
		{"given", map[string]string{"LISTEN_ADDR": ":9000", "BASE_URL": "https://pagos.tienda.cl"}, "https://pagos.tienda.cl"},
		{"ACME decides", map[string]string{"LISTEN_ADDR": ":8443", "ACME_DOMAINS": "pagos.tienda.cl"}, "https://pagos.tienda.cl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BaseURL.String(); got != tt.want {
				t.Errorf("BASE_URL = %q, want %q", got, tt.want)
			}
		})
	}
	if c, err := Load([]string{"--listen-addr", ":9002"}, env(nil)); err != nil || c.BaseURL.String() != "http://localhost:9002" {
		t.Errorf("LISTEN_ADDR as a flag: %v %v", c, err)
	}
}

func TestLoadOwnCertificate(t *testing.T) {
	certFile, keyFile, _ := tlstest.SelfSigned(t, time.Now().Add(24*time.Hour), "pagos.tienda.cl")
	files := map[string]string{"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile}
	tests := []struct {
		name     string
		vars     []string
		listen   string
		base     string
		redirect string
		warning  string // a substring of the one warning; empty: none
	}{
		{"defaults", nil, ":443", "https://localhost", "", "BASE_URL is not set"},
		{"other port", []string{"LISTEN_ADDR", ":8443"}, ":8443", "https://localhost:8443", "", "BASE_URL is not set"},
		{"base url for the certificate", []string{"BASE_URL", "https://pagos.tienda.cl", "HTTP_REDIRECT_ADDR", ":80"}, ":443", "https://pagos.tienda.cl", ":80", ""},
		{"base url for another name", []string{"BASE_URL", "https://otra.tienda.cl"}, ":443", "https://otra.tienda.cl", "", "TLS_CERT_FILE"},
		{"plain http base url", []string{"BASE_URL", "http://pagos.tienda.cl"}, ":443", "http://pagos.tienda.cl", "", "plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(with(files, tt.vars...)))
			if err != nil {
				t.Fatal(err)
			}
			if c.ListenAddr != tt.listen || c.BaseURL.String() != tt.base || c.HTTPRedirectAddr != tt.redirect || !c.ServesHTTPS() {
				t.Errorf("listen %q, base %q, redirect %q; want %q, %q, %q", c.ListenAddr, c.BaseURL, c.HTTPRedirectAddr, tt.listen, tt.base, tt.redirect)
			}
			switch {
			case tt.warning == "" && len(c.Warnings) > 0:
				t.Errorf("Warnings = %q, want none", c.Warnings)
			case tt.warning != "" && (len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], tt.warning)):
				t.Errorf("Warnings = %q, want one about %q", c.Warnings, tt.warning)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		certFile, keyFile, _ := tlstest.SelfSigned(t, time.Now().Add(-time.Minute), "pagos.tienda.cl")
		c, err := Load(nil, env(map[string]string{"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile, "BASE_URL": "https://pagos.tienda.cl"}))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "expired") {
			t.Errorf("Warnings = %q, want one saying the certificate expired", c.Warnings)
		}
	})
}

// An http BASE_URL in live mode starts, with the one warning it had before
// HTTPS settings existed.
func TestLoadLiveHTTPWarnsOnce(t *testing.T) {
	c, err := Load(nil, env(with(live(), "ACME_DOMAINS", "pagos.tienda.cl", "BASE_URL", "http://pagos.tienda.cl")))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "BASE_URL") {
		t.Errorf("Warnings = %q, want one naming BASE_URL", c.Warnings)
	}
}

func TestLoadHTTPSErrors(t *testing.T) {
	certFile, keyFile, _ := tlstest.SelfSigned(t, time.Now().Add(time.Hour), "pagos.tienda.cl")
	otherCert, _, _ := tlstest.SelfSigned(t, time.Now().Add(time.Hour), "pagos.tienda.cl")
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "roots.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	acme := func(kv ...string) map[string]string {
		return with(map[string]string{"ACME_DOMAINS": "pagos.tienda.cl"}, kv...)
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // substrings of the error
	}{
		{"acme and own certificate", acme("TLS_CERT_FILE", certFile, "TLS_KEY_FILE", keyFile), []string{"ACME_DOMAINS and TLS_CERT_FILE cannot both"}},
		{"certificate without key", map[string]string{"TLS_CERT_FILE": certFile}, []string{"TLS_CERT_FILE and TLS_KEY_FILE must be set together"}},
		{"key without certificate", map[string]string{"TLS_KEY_FILE": keyFile}, []string{"TLS_CERT_FILE and TLS_KEY_FILE must be set together"}},
		{"certificate file missing", map[string]string{"TLS_CERT_FILE": missing, "TLS_KEY_FILE": keyFile}, []string{"TLS_CERT_FILE: open " + missing}},
		{"key file missing", map[string]string{"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": missing}, []string{"TLS_KEY_FILE: open " + missing}},
		{"key of another certificate", map[string]string{"TLS_CERT_FILE": otherCert, "TLS_KEY_FILE": keyFile}, []string{"TLS_CERT_FILE and TLS_KEY_FILE are not a certificate and its private key"}},
		{"key and certificate swapped", map[string]string{"TLS_CERT_FILE": keyFile, "TLS_KEY_FILE": certFile}, []string{"TLS_CERT_FILE and TLS_KEY_FILE are not"}},
		{"ip address", acme("ACME_DOMAINS", "203.0.113.7"), []string{"ACME_DOMAINS", "IP address"}},
		{"wildcard", acme("ACME_DOMAINS", "*.tienda.cl"), []string{"ACME_DOMAINS", "wildcard"}},
		{"no dot", acme("ACME_DOMAINS", "localhost"), []string{"ACME_DOMAINS", `"localhost"`}},
		{"url instead of name", acme("ACME_DOMAINS", "https://pagos.tienda.cl"), []string{"ACME_DOMAINS", "not a public host name"}},
		{"name with port", acme("ACME_DOMAINS", "pagos.tienda.cl:443"), []string{"ACME_DOMAINS"}},
		{"underscore", acme("ACME_DOMAINS", "pagos_1.tienda.cl"), []string{"ACME_DOMAINS"}},
		{"leading hyphen", acme("ACME_DOMAINS", "-pagos.tienda.cl"), []string{"ACME_DOMAINS"}},
		{"empty label", acme("ACME_DOMAINS", "pagos..tienda.cl"), []string{"ACME_DOMAINS"}},
		{"label of 64", acme("ACME_DOMAINS", strings.Repeat("a", 64)+".cl"), []string{"ACME_DOMAINS"}},
		{"unicode name", acme("ACME_DOMAINS", "pagos.ñuñoa.cl"), []string{"ACME_DOMAINS", "xn--"}},
		{"bad contact", acme("ACME_EMAIL", "ti at tienda"), []string{"ACME_EMAIL"}},
		{"http directory", acme("ACME_DIRECTORY_URL", "http://127.0.0.1:14000/dir"), []string{"ACME_DIRECTORY_URL"}},
		{"roots file missing", acme("ACME_CA_ROOTS", missing), []string{"ACME_CA_ROOTS: open " + missing}},
		{"roots file without pem", acme("ACME_CA_ROOTS", notPEM), []string{"ACME_CA_ROOTS", "no PEM certificate"}},
		{"email without domains", map[string]string{"ACME_EMAIL": "ti@tienda.cl"}, []string{"ACME_EMAIL is set but ACME_DOMAINS is not"}},
		{"directory without domains", map[string]string{"ACME_DIRECTORY_URL": LetsEncryptURL}, []string{"ACME_DIRECTORY_URL is set but ACME_DOMAINS is not"}},
		{"roots without domains", map[string]string{"ACME_CA_ROOTS": certFile}, []string{"ACME_CA_ROOTS is set but ACME_DOMAINS is not"}},
		{"redirector behind a proxy", map[string]string{"HTTP_REDIRECT_ADDR": ":80"}, []string{"HTTP_REDIRECT_ADDR", "needs ACME_DOMAINS or TLS_CERT_FILE"}},
		{"redirector address without port", acme("HTTP_REDIRECT_ADDR", "80"), []string{"HTTP_REDIRECT_ADDR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, env(tt.env))
			if err == nil {
				t.Fatalf("Load = %+v, want an error", c)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// DatabaseName, what pages, doctor and logs show of DATABASE_URL, never
// shows a PostgreSQL password; an SQLite path is shown as it is.
func TestDatabaseNameHidesThePassword(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"/var/lib/etpay-dashboard/etpay.db", "/var/lib/etpay-dashboard/etpay.db"},
		{"postgres://etpay:s3cret@db.internal:5432/etpay?sslmode=verify-full", "postgres://etpay:xxxxx@db.internal:5432/etpay?sslmode=verify-full"},
		{"postgresql://etpay@db.internal/etpay", "postgresql://etpay@db.internal/etpay"},
		{"postgres://etpay:s3cret@db.internal:99999999999/%zz", "PostgreSQL"},
	} {
		c := &Config{DatabaseURL: tt.url}
		if got := c.DatabaseName(); got != tt.want || strings.Contains(got, "s3cret") {
			t.Errorf("DatabaseName(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
