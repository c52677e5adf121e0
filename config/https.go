package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// LetsEncryptURL is Let's Encrypt's production ACME directory, the default
// ACME_DIRECTORY_URL.
const LetsEncryptURL = "https://acme-v02.api.letsencrypt.org/directory"

// ServesHTTPS reports whether this server terminates TLS itself (ACME or
// its own certificate files) rather than sitting behind a proxy that does.
func (c *Config) ServesHTTPS() bool { return len(c.ACMEDomains) > 0 || c.TLSCertFile != "" }

// ACMECacheDir is where the ACME account key and certificates are kept on
// SQLite, so a restart serves them again instead of asking the CA: a
// directory beside the database, outside it (and so outside its backups).
// On PostgreSQL they are kept in the database instead (table acme_certs),
// shared by every instance, and this is empty.
func (c *Config) ACMECacheDir() string {
	if c.OnPostgres() {
		return ""
	}
	return filepath.Join(filepath.Dir(c.DatabaseURL), "acme-certs")
}

// OnPostgres says whether DATABASE_URL names a PostgreSQL database
// (postgres:// or postgresql://) rather than an SQLite file.
func (c *Config) OnPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// DatabaseName is DATABASE_URL as pages and logs may show it: a
// PostgreSQL URL without its password.
func (c *Config) DatabaseName() string {
	if !c.OnPostgres() {
		return c.DatabaseURL
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "PostgreSQL"
	}
	return u.Redacted()
}

// loadHTTPS reads how this server serves HTTPS, if it does, and the
// defaults that follow from it. With own certificate files it returns
// their leaf, for warnHTTPS.
func (c *Config) loadHTTPS(src *source) *x509.Certificate {
	domains, err := parseDomains(src.value("ACME_DOMAINS"))
	src.fail(err)
	c.ACMEDomains = domains
	c.TLSCertFile, c.TLSKeyFile = src.value("TLS_CERT_FILE"), src.value("TLS_KEY_FILE")
	c.HTTPRedirectAddr = src.value("HTTP_REDIRECT_ADDR")
	if c.ServesHTTPS() && src.value("LISTEN_ADDR") == "" {
		c.ListenAddr = ":443"
	}
	c.loadACME(src)
	var leaf *x509.Certificate
	switch {
	case c.TLSCertFile == "" && c.TLSKeyFile == "":
	case c.TLSCertFile == "" || c.TLSKeyFile == "":
		src.fail(errors.New("TLS_CERT_FILE and TLS_KEY_FILE must be set together"))
	default:
		leaf = c.checkCertFiles(src)
	}
	if len(c.ACMEDomains) > 0 && c.TLSCertFile != "" {
		src.fail(errors.New("ACME_DOMAINS and TLS_CERT_FILE cannot both be set: get certificates from Let's Encrypt (ACME_DOMAINS) or serve your own (TLS_CERT_FILE)"))
	}
	if c.HTTPRedirectAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPRedirectAddr); err != nil {
			src.fail(fmt.Errorf("HTTP_REDIRECT_ADDR %q is not an address such as :80", c.HTTPRedirectAddr))
		}
		if !c.ServesHTTPS() {
			src.fail(errors.New("HTTP_REDIRECT_ADDR redirects to the HTTPS this server serves: it needs ACME_DOMAINS or TLS_CERT_FILE (behind a proxy, the proxy redirects)"))
		}
	}
	return leaf
}

// loadACME reads the settings that go with ACME_DOMAINS.
func (c *Config) loadACME(src *source) {
	if len(c.ACMEDomains) == 0 {
		for _, name := range []string{"ACME_EMAIL", "ACME_DIRECTORY_URL", "ACME_CA_ROOTS"} {
			if src.value(name) != "" {
				src.fail(fmt.Errorf("%s is set but ACME_DOMAINS is not", name))
			}
		}
		return
	}
	if c.HTTPRedirectAddr == "" {
		c.HTTPRedirectAddr = ":80"
	}
	c.ACMEEmail = src.value("ACME_EMAIL")
	if c.ACMEEmail != "" && !isEmail(c.ACMEEmail) {
		src.fail(fmt.Errorf("ACME_EMAIL %q is not an email address such as ti@tienda.cl", c.ACMEEmail))
	}
	c.ACMEDirectoryURL = src.orDefault("ACME_DIRECTORY_URL")
	if u, err := url.Parse(c.ACMEDirectoryURL); err != nil || u.Scheme != "https" || u.Host == "" {
		src.fail(fmt.Errorf("ACME_DIRECTORY_URL %q is not an https URL such as %s", c.ACMEDirectoryURL, LetsEncryptURL))
	}
	c.ACMECARoots = src.value("ACME_CA_ROOTS")
	if c.ACMECARoots != "" {
		pem, err := os.ReadFile(c.ACMECARoots)
		if err != nil {
			src.fail(fmt.Errorf("ACME_CA_ROOTS: %w", err))
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			src.fail(fmt.Errorf("ACME_CA_ROOTS: %s holds no PEM certificate", c.ACMECARoots))
		}
	}
}

// checkCertFiles checks that the own certificate files can be read and
// make a certificate with its key, and returns that certificate.
func (c *Config) checkCertFiles(src *source) *x509.Certificate {
	certPEM, err := os.ReadFile(c.TLSCertFile)
	if err != nil {
		src.fail(fmt.Errorf("TLS_CERT_FILE: %w", err))
	}
	keyPEM, keyErr := os.ReadFile(c.TLSKeyFile)
	if keyErr != nil {
		src.fail(fmt.Errorf("TLS_KEY_FILE: %w", keyErr))
	}
	if err != nil || keyErr != nil {
		return nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		src.fail(fmt.Errorf("TLS_CERT_FILE and TLS_KEY_FILE are not a certificate and its private key: %v", err))
		return nil
	}
	return pair.Leaf
}

// baseURL is BASE_URL as given, or the default that follows from how this
// server serves: https on the first ACME domain, or localhost at the
// listening port, https with own certificates and plain http otherwise.
func (c *Config) baseURL(src *source) string {
	if v := src.value("BASE_URL"); v != "" {
		return v
	}
	switch {
	case len(c.ACMEDomains) > 0:
		return "https://" + c.ACMEDomains[0]
	case c.TLSCertFile != "":
		return "https://" + localhostAt(c.ListenAddr, "443")
	}
	return "http://" + localhostAt(c.ListenAddr, "80")
}

// localhostAt is localhost at addr's port, which is left out when it is the
// scheme's own (standard) port or addr names none.
func localhostAt(addr, standard string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" && port != standard {
		return net.JoinHostPort("localhost", port)
	}
	return "localhost"
}

// warnHTTPS notes what serves but probably not as meant: links that would
// not reach this server's certificate, or an own certificate that has
// expired.
func (c *Config) warnHTTPS(src *source, leaf *x509.Certificate) {
	if !c.ServesHTTPS() || c.BaseURL == nil {
		return
	}
	warn := func(format string, a ...any) { c.Warnings = append(c.Warnings, fmt.Sprintf(format, a...)) }
	host := c.BaseURL.Hostname()
	switch {
	case c.BaseURL.Scheme != "https":
		if c.Mode != ModeLive { // loadMode warns already
			warn("BASE_URL %s is plain http, but this server serves https: links and cookies should use https", c.BaseURL)
		}
	case len(c.ACMEDomains) > 0 && !slices.Contains(c.ACMEDomains, strings.ToLower(host)):
		warn("BASE_URL's host %q is not one of ACME_DOMAINS: links will point where this server has no certificate", host)
	case c.TLSCertFile != "" && src.value("BASE_URL") == "":
		warn("BASE_URL is not set: links and the URLs sent to ETpay use %s; set it to the address customers use", c.BaseURL)
	case leaf != nil && leaf.VerifyHostname(host) != nil:
		warn("the certificate in TLS_CERT_FILE is not for BASE_URL's host %q (it is for %s)", host, strings.Join(leaf.DNSNames, ", "))
	}
	if leaf != nil && time.Now().After(leaf.NotAfter) {
		warn("the certificate in TLS_CERT_FILE expired on %s", leaf.NotAfter.Format(time.DateOnly))
	}
}

// parseDomains reads ACME_DOMAINS: public host names, each with a dot,
// lower-cased, without duplicates. IP addresses and wildcards are refused:
// Let's Encrypt's http-01 and tls-alpn-01 challenges cannot prove them.
func parseDomains(raw string) ([]string, error) {
	var domains []string
	for _, d := range strings.Split(raw, ",") {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		switch {
		case d == "":
			continue
		case net.ParseIP(d) != nil:
			return nil, fmt.Errorf("ACME_DOMAINS: %q is an IP address; certificates need a host name such as pagos.tienda.cl", d)
		case strings.HasPrefix(d, "*."):
			return nil, fmt.Errorf("ACME_DOMAINS: %q is a wildcard; list each host name instead", d)
		case !isHostname(d) || !strings.Contains(d, "."):
			return nil, fmt.Errorf("ACME_DOMAINS: %q is not a public host name such as pagos.tienda.cl (write international names as xn--…)", d)
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	return domains, nil
}

// isHostname accepts lower-case letters, digits and inner hyphens in
// labels of 1 to 63 characters, 253 characters in all.
func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}
