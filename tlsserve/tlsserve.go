// Package tlsserve lets the server face the internet without a proxy: it
// hands out certificates, from an ACME CA such as Let's Encrypt (asked on
// the first handshake that names a domain, renewed before they expire,
// cached on disk) or from the merchant's own files, and it answers plain
// HTTP with ACME's challenges and a redirect to https.
package tlsserve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// Options says where certificates come from: an ACME CA when Domains is
// set, otherwise CertFile and KeyFile.
type Options struct {
	// Domains are the host names to get certificates for.
	Domains []string
	// Email is the contact given to the CA; may be empty.
	Email string
	// DirectoryURL is the CA's ACME directory.
	DirectoryURL string
	// CARoots, when set, is a PEM file of CAs trusted, beside the system's,
	// to talk to the ACME server.
	CARoots string
	// CacheDir keeps the ACME account key and the certificates, so a
	// restart serves them instead of asking the CA again.
	CacheDir string
	// Cache, when set, keeps them instead of CacheDir (DBCache: in the
	// database, shared by the instances on one PostgreSQL).
	Cache autocert.Cache
	// CertFile and KeyFile are a certificate (chain) and its key, in PEM.
	CertFile, KeyFile string
	// Logger reports certificates obtained and failures to get one.
	Logger *slog.Logger
}

// Certificates hands out this server's certificates.
type Certificates struct {
	manager *autocert.Manager // nil with own certificate files
	own     *tls.Certificate
	domains []string
	logger  *slog.Logger
	ready   sync.Map // domains whose certificate was logged as ready
}

// acmeTimeout bounds each call to the ACME server.
const acmeTimeout = 30 * time.Second

// New prepares the certificates o describes; own files are read now.
func New(o Options) (*Certificates, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Certificates{domains: o.Domains, logger: o.Logger}
	if len(o.Domains) == 0 {
		pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS_CERT_FILE and TLS_KEY_FILE: %w", err)
		}
		c.own = &pair
		return c, nil
	}
	roots, err := certPool(o.CARoots)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if o.Cache == nil {
		o.Cache = autocert.DirCache(o.CacheDir)
	}
	c.manager = &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      o.Cache,
		HostPolicy: hostPolicy(o.Domains),
		Email:      o.Email,
		Client: &acme.Client{
			DirectoryURL: o.DirectoryURL,
			UserAgent:    "etpay-dashboard",
			HTTPClient:   &http.Client{Transport: transport, Timeout: acmeTimeout},
		},
	}
	return c, nil
}

// certPool is the system's roots, plus those in file when it is set.
func certPool(file string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if file == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ACME_CA_ROOTS: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ACME_CA_ROOTS: %s holds no PEM certificate", file)
	}
	return pool, nil
}

// hostPolicy lets the CA be asked only for domains, whatever a client
// names. A challenge request's Host may carry a port (when the CA's
// validation is pointed at another port, as in tests); the port does not
// change whose name it is.
func hostPolicy(domains []string) autocert.HostPolicy {
	return func(_ context.Context, host string) error {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !slices.Contains(domains, strings.TrimSuffix(strings.ToLower(host), ".")) {
			return fmt.Errorf("tlsserve: %q is not one of ACME_DOMAINS", host)
		}
		return nil
	}
}

// TLSConfig is the configuration of the HTTPS listener. It offers HTTP/1.1
// only (the server speaks no HTTP/2) and, with ACME, the tls-alpn-01
// protocol, so a CA can validate a domain on the HTTPS port alone.
func (c *Certificates) TLSConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if c.manager == nil {
		cfg.Certificates = []tls.Certificate{*c.own}
		return cfg
	}
	cfg.GetCertificate = c.getCertificate
	cfg.NextProtos = append(cfg.NextProtos, acme.ALPNProto)
	return cfg
}

// getCertificate is the manager's, telling the log once a domain's
// certificate is ready, and each time one could not be had: a scanner's
// handshake for a name we do not serve is not news.
func (c *Certificates) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := c.manager.GetCertificate(hello)
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if !slices.Contains(c.domains, name) || slices.Contains(hello.SupportedProtos, acme.ALPNProto) {
		return cert, err
	}
	if err != nil {
		c.logger.Error("no https certificate", "domain", name, "err", err)
	} else if _, logged := c.ready.LoadOrStore(name, true); !logged && cert.Leaf != nil {
		c.logger.Info("https certificate ready", "domain", name, "issuer", cert.Leaf.Issuer.CommonName, "expires", cert.Leaf.NotAfter)
	}
	return cert, err
}

// HTTPHandler answers plain HTTP: with ACME, the CA's http-01 challenges;
// everything else goes to redirect.
func (c *Certificates) HTTPHandler(redirect http.Handler) http.Handler {
	if c.manager == nil {
		return redirect
	}
	return c.manager.HTTPHandler(redirect)
}

// Redirect sends every request to the same path and query over https, on
// the request's host when it is one of hosts and on the first of them
// otherwise, so a forged Host header cannot make us an open redirect. hosts
// must not be empty; port, when set, is the public https port.
func Redirect(hosts []string, port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if !slices.Contains(hosts, host) {
			host = hosts[0]
		}
		if port != "" && port != "443" {
			host = net.JoinHostPort(host, port)
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
