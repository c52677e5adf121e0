package main

import (
	"context"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
	"etpay-dashboard/tlsserve/tlstest"
)

// pebble is Let's Encrypt's test CA, run in this process on loopback: its
// ACME server and management interface over https (with the certificate
// its module ships, signed by its minica), and a DNS server that resolves
// every name to 127.0.0.1 so its validation reaches our redirector.
type pebble struct {
	directory  string // ACME directory URL
	minica     string // PEM file of the CA that signs Pebble's own https certificate
	requests   atomic.Int64
	log        syncBuffer
	acme, mgmt net.Listener
	dns        string
	certFile   string
	keyFile    string
}

var pebbleEnv sync.Once

// startPebble opens Pebble's listeners and DNS server; serve starts it once
// the ports it validates on are known.
func startPebble(t *testing.T) *pebble {
	t.Helper()
	pebbleEnv.Do(func() {
		// Read when Pebble starts: no random sleeps before validating, and
		// no nonces rejected on purpose (the ACME client would retry them,
		// slowly). Set once for the whole test binary rather than with
		// t.Setenv, which would keep these tests from running in parallel:
		// nothing but Pebble reads them.
		os.Setenv("PEBBLE_VA_NOSLEEP", "1")
		os.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	})
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2").Output()
	if err != nil {
		t.Fatalf("finding Pebble's module: %v", err)
	}
	certs := filepath.Join(strings.TrimSpace(string(out)), "test", "certs")
	p := &pebble{
		minica:   filepath.Join(certs, "pebble.minica.pem"),
		certFile: filepath.Join(certs, "localhost", "cert.pem"),
		keyFile:  filepath.Join(certs, "localhost", "key.pem"),
		acme:     listenLoopback(t),
		mgmt:     listenLoopback(t),
	}
	p.directory = "https://" + p.acme.Addr().String() + wfe.DirectoryPath
	// Pebble asks its resolver over TCP.
	dnsLn := listenLoopback(t)
	p.dns = dnsLn.Addr().String()
	resolver := &dns.Server{Listener: dnsLn, Handler: dns.HandlerFunc(answerLoopback)}
	go resolver.ActivateAndServe()
	t.Cleanup(func() { resolver.Shutdown() })
	return p
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// answerLoopback answers every A question with 127.0.0.1, and nothing else.
func answerLoopback(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	for _, q := range r.Question {
		if q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(127, 0, 0, 1)})
		}
	}
	w.WriteMsg(m)
}

// serve starts Pebble, validating http-01 on httpPort and tls-alpn-01 on
// tlsPort of the names it is asked for (which all resolve to 127.0.0.1).
func (p *pebble) serve(t *testing.T, httpPort, tlsPort int) {
	t.Helper()
	logger := log.New(&p.log, "pebble ", 0)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, httpPort, tlsPort, false, p.dns, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	acmeHandler := front.Handler()
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		acmeHandler.ServeHTTP(w, r)
	})
	for ln, h := range map[net.Listener]http.Handler{p.acme: counted, p.mgmt: front.ManagementHandler()} {
		srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
		go srv.ServeTLS(ln, p.certFile, p.keyFile)
		t.Cleanup(func() { srv.Close() })
	}
}

// roots fetches, from Pebble's management interface, the root its
// certificates chain to (a new one each run).
func (p *pebble) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	minica, err := os.ReadFile(p.minica)
	if err != nil {
		t.Fatal(err)
	}
	trustMinica := x509.NewCertPool()
	trustMinica.AppendCertsFromPEM(minica)
	resp, err := httpsClient(trustMinica, "").Get("https://" + p.mgmt.Addr().String() + wfe.RootCertPath + "0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	root, _ := io.ReadAll(resp.Body)
	roots := x509.NewCertPool()
	if resp.StatusCode != http.StatusOK || !roots.AppendCertsFromPEM(root) {
		t.Fatalf("Pebble's root: %d %q", resp.StatusCode, root)
	}
	return roots
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	if err != nil || n == 0 {
		t.Fatalf("no port in %q", addr)
	}
	return n
}

// closedPort is a loopback port nothing listens on (any more).
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return port(t, ln.Addr().String())
}

// checkCertCached checks that domain's certificate is in the ACME cache: the
// folder beside the SQLite file, or on PostgreSQL the database itself, where
// every instance finds it.
func checkCertCached(t *testing.T, db, domain string) {
	t.Helper()
	if !testdb.OnPostgres() {
		if _, err := os.Stat(filepath.Join(filepath.Dir(db), "acme-certs", domain)); err != nil {
			t.Errorf("certificate not cached beside the database: %v", err)
		}
		return
	}
	store, err := models.Open(context.Background(), db, testStoreOptions...)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if data, err := store.ACMECertData(context.Background(), domain); err != nil || len(data) == 0 {
		t.Errorf("certificate not cached in the database: %d bytes, %v", len(data), err)
	}
}

// The whole way a merchant's server gets its certificate: from an ACME CA
// (Pebble) that validates the domain over http-01 on our redirector, served
// on https, and served again after a restart from the cache without asking
// the CA. tls-alpn-01 (tried first) cannot work here: Pebble checks it on a
// closed port, so the certificate proves the redirector answered.
func TestACMECertificateFromPebble(t *testing.T) {
	t.Parallel()
	start := time.Now()
	const domain = "pagos.tienda.test"
	p := startPebble(t)
	vars, dbPath := newEnv(t, "ACME_DOMAINS", domain, "ACME_EMAIL", "ti@tienda.test", "ACME_DIRECTORY_URL", p.directory,
		"ACME_CA_ROOTS", p.minica, "HTTP_REDIRECT_ADDR", "127.0.0.1:0")
	srv := startServer(t, vars)
	p.serve(t, port(t, srv.redirect), closedPort(t))
	roots := p.roots(t)

	leaf := checkHTTPS(t, srv.addr, roots, domain)
	if !slices.Equal(leaf.DNSNames, []string{domain}) || !strings.HasPrefix(leaf.Issuer.CommonName, "Pebble Intermediate") {
		t.Errorf("served certificate for %q from %q, want one for %s from Pebble", leaf.DNSNames, leaf.Issuer.CommonName, domain)
	}
	challenge := "Attempting to validate w/ HTTP: http://" + domain + ":" + strconv.Itoa(port(t, srv.redirect)) + "/.well-known/acme-challenge/"
	if !strings.Contains(p.log.String(), challenge) {
		t.Errorf("Pebble did not validate over http-01 on the redirector; its log:\n%s", p.log.String())
	}
	checkCertCached(t, dbPath, domain)
	if !strings.Contains(srv.stderr.String(), "https certificate ready") {
		t.Errorf("log does not say the certificate is ready:\n%s", srv.stderr)
	}
	checkACMERedirects(t, srv.redirect, domain)
	srv.stop(t)
	issued := time.Since(start)

	asked := p.requests.Load()
	again := startServer(t, vars)
	if leaf2 := checkHTTPS(t, again.addr, roots, domain); !leaf2.Equal(leaf) {
		t.Errorf("after a restart the server serves certificate %v, want the cached %v", leaf2.SerialNumber, leaf.SerialNumber)
	}
	if n := p.requests.Load() - asked; n != 0 {
		t.Errorf("after a restart the server asked Pebble %d times, want none (cached)", n)
	}
	t.Logf("issued in %v, served from the cache after a restart in %v", issued, time.Since(start)-issued)
}

// The way a CA usually validates on a server that listens on 443: a TLS
// handshake with the acme-tls/1 protocol on the https port itself. Pebble
// checks http-01 on a closed port here, so only tls-alpn-01 can succeed.
func TestACMEOverTLSALPN(t *testing.T) {
	t.Parallel()
	const domain = "tienda.test"
	p := startPebble(t)
	vars, _ := newEnv(t, "ACME_DOMAINS", domain, "ACME_DIRECTORY_URL", p.directory, "ACME_CA_ROOTS", p.minica, "HTTP_REDIRECT_ADDR", "127.0.0.1:0")
	srv := startServer(t, vars)
	p.serve(t, closedPort(t), port(t, srv.addr))
	if leaf := checkHTTPS(t, srv.addr, p.roots(t), domain); !slices.Equal(leaf.DNSNames, []string{domain}) {
		t.Errorf("served certificate for %q, want %s", leaf.DNSNames, domain)
	}
	if strings.Contains(p.log.String(), "Attempting to validate w/ HTTP") {
		t.Errorf("Pebble tried http-01 first; its log:\n%s", p.log.String())
	}
}

// checkACMERedirects checks that plain HTTP goes to https on our domain,
// whatever Host a client names.
func checkACMERedirects(t *testing.T, addr, domain string) {
	t.Helper()
	tests := []struct{ host, path, want string }{
		{domain, "/pay/ABC?x=1", "https://" + domain + "/pay/ABC?x=1"},
		{strings.ToUpper(domain) + ":80", "/login", "https://" + domain + "/login"},
		{"evil.example", "/login", "https://" + domain + "/login"},
	}
	for _, tt := range tests {
		resp := plainGet(t, addr, tt.host, tt.path)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusPermanentRedirect || loc != tt.want {
			t.Errorf("http://%s%s answered %d to %q, want 308 to %q", tt.host, tt.path, resp.StatusCode, loc, tt.want)
		}
	}
}

// When no certificate can be had (here: the CA is down) the handshake
// fails and the log says why, naming the domain.
func TestACMEFailureIsLogged(t *testing.T) {
	t.Parallel()
	roots, _, _ := tlstest.SelfSigned(t, time.Now().Add(time.Hour), "ca.test") // trusted, but the CA is down anyway
	vars, _ := newEnv(t, "ACME_DOMAINS", "pagos.tienda.test", "ACME_DIRECTORY_URL", "https://127.0.0.1:"+strconv.Itoa(closedPort(t))+"/dir",
		"ACME_CA_ROOTS", roots, "HTTP_REDIRECT_ADDR", "127.0.0.1:0")
	srv := startServer(t, vars)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+srv.addr+"/healthz", nil)
	if resp, err := httpsClient(nil, "pagos.tienda.test").Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("https answered without a certificate")
	}
	log := srv.stderr.String()
	if !strings.Contains(log, "no https certificate") || !strings.Contains(log, "domain=pagos.tienda.test") {
		t.Errorf("log does not say the certificate could not be had:\n%s", log)
	}
}
