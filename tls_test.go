package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/tlsserve/tlstest"
)

// httpsClient trusts roots and checks the server's certificate for name,
// whatever address it dials; it offers HTTP/2 as browsers do.
func httpsClient(roots *x509.CertPool, name string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: name},
			ForceAttemptHTTP2: true,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// plainGet asks addr over plain HTTP for path, naming host.
func plainGet(t *testing.T, addr, host, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := httpsClient(nil, "").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// checkHTTPS asks the server for /healthz over https as name and checks the
// answer and the certificate it was served with; it returns that certificate.
func checkHTTPS(t *testing.T, addr string, roots *x509.CertPool, name string) *x509.Certificate {
	t.Helper()
	resp, err := httpsClient(roots, name).Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("https GET /healthz as %s: %v", name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}
	if resp.Proto != "HTTP/1.1" || resp.TLS.NegotiatedProtocol != "http/1.1" {
		t.Errorf("protocol %s, ALPN %q; want HTTP/1.1 (the server speaks no HTTP/2)", resp.Proto, resp.TLS.NegotiatedProtocol)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security = %q", got)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if err := leaf.VerifyHostname(name); err != nil {
		t.Errorf("served certificate: %v", err)
	}
	return leaf
}

func TestServeOwnCertificate(t *testing.T) {
	t.Parallel()
	certFile, keyFile, cert := tlstest.SelfSigned(t, time.Now().Add(time.Hour), "pagos.tienda.test")
	vars, _ := newEnv(t, "TLS_CERT_FILE", certFile, "TLS_KEY_FILE", keyFile,
		"BASE_URL", "https://pagos.tienda.test", "HTTP_REDIRECT_ADDR", "127.0.0.1:0")
	srv := startServer(t, vars)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if leaf := checkHTTPS(t, srv.addr, roots, "pagos.tienda.test"); !leaf.Equal(cert) {
		t.Errorf("served certificate %v, want the one in TLS_CERT_FILE", leaf.SerialNumber)
	}
	if _, err := httpsClient(nil, "pagos.tienda.test").Get("https://" + srv.addr + "/healthz"); err == nil {
		t.Error("a client that does not trust the certificate got an answer")
	}
	if resp, err := client.Get("http://" + srv.addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("plain http on the HTTPS port answered %d", resp.StatusCode)
	}
	redirect := plainGet(t, srv.redirect, "pagos.tienda.test", "/pay/ABC?x=1")
	if loc := redirect.Header.Get("Location"); redirect.StatusCode != http.StatusPermanentRedirect || loc != "https://pagos.tienda.test/pay/ABC?x=1" {
		t.Errorf("redirector answered %d to %q", redirect.StatusCode, loc)
	}
	// In sandbox mode our ETpay client reaches the simulator over loopback
	// (it could not check this certificate against 127.0.0.1): opening a
	// link starts a sandbox session and sends the customer to its funnel.
	r := runCmd(t, vars, "", "links", "create", "--order", "OC-1", "--amount", "1000")
	if r.err != nil {
		t.Fatalf("links create: %v\n%s", r.err, r.stderr)
	}
	link := strings.Replace(lastLine(r.stdout), "https://pagos.tienda.test", "https://"+srv.addr, 1)
	resp, err := httpsClient(roots, "pagos.tienda.test").Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "https://pagos.tienda.test/sandbox/session/") {
		t.Errorf("GET %s = %d to %q, want 303 to the sandbox funnel", link, resp.StatusCode, loc)
	}
	if !strings.Contains(srv.stderr.String(), "https=files") {
		t.Errorf("log does not say https=files:\n%s", srv.stderr)
	}
	// Once run returns, the redirector has stopped too.
	srv.stop(t)
	if conn, err := net.Dial("tcp", srv.redirect); err == nil {
		conn.Close()
		t.Errorf("the redirector on %s still accepts connections after run returned", srv.redirect)
	}
}

// A redirector that cannot bind its port is logged and HTTPS still serves.
func TestRedirectorBindFailureIsNotFatal(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	certFile, keyFile, cert := tlstest.SelfSigned(t, time.Now().Add(time.Hour), "pagos.tienda.test")
	vars, _ := newEnv(t, "TLS_CERT_FILE", certFile, "TLS_KEY_FILE", keyFile,
		"BASE_URL", "https://pagos.tienda.test", "HTTP_REDIRECT_ADDR", taken.Addr().String())
	srv := startServer(t, vars)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	checkHTTPS(t, srv.addr, roots, "pagos.tienda.test")
	if srv.redirect != "" {
		t.Errorf("a redirector was announced on %s", srv.redirect)
	}
	log := srv.stderr.String()
	if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "http redirector not started") || !strings.Contains(log, taken.Addr().String()) {
		t.Errorf("log does not report the redirector's failed bind on %s:\n%s", taken.Addr(), log)
	}
}

// A stop as soon as the server is ready ends serve with its redirector and
// the sandbox's loopback listener too, however early it comes.
func TestServeWithTLSStopsWhenToldToAtOnce(t *testing.T) {
	t.Parallel()
	certFile, keyFile, _ := tlstest.SelfSigned(t, time.Now().Add(time.Hour), "pagos.tienda.test")
	vars, _ := newEnv(t, "LISTEN_ADDR", "127.0.0.1:0", "TLS_CERT_FILE", certFile, "TLS_KEY_FILE", keyFile,
		"BASE_URL", "https://pagos.tienda.test", "HTTP_REDIRECT_ADDR", "127.0.0.1:0")
	for i := range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		env := environment{storeOptions: testStoreOptions, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
			getenv: func(k string) string { return vars[k] }, ready: func(string) { cancel() }}
		done := make(chan error, 1)
		go func() { done <- run(ctx, env) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("start %d: serve did not return within 5 s of being stopped", i)
		}
		cancel()
	}
}
