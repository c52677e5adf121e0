package tlsserve

import (
	"bufio"
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"etpay-dashboard/tlsserve/tlstest"
)

// request reads a raw HTTP/1.1 request as a server would, so Host and
// absolute-form targets arrive as they do on the wire.
func request(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRedirect(t *testing.T) {
	hosts := []string{"pagos.tienda.cl", "www.tienda.cl"}
	tests := []struct {
		name string
		port string
		raw  string
		want string
	}{
		{"same host, path and query", "", "GET /pay/ABC?x=1&y=%20 HTTP/1.1\r\nHost: pagos.tienda.cl\r\n\r\n", "https://pagos.tienda.cl/pay/ABC?x=1&y=%20"},
		{"second domain", "", "GET / HTTP/1.1\r\nHost: www.tienda.cl\r\n\r\n", "https://www.tienda.cl/"},
		{"host in capitals with port and dot", "", "GET /login HTTP/1.1\r\nHost: WWW.Tienda.CL.:80\r\n\r\n", "https://www.tienda.cl/login"},
		{"foreign host", "", "GET /login HTTP/1.1\r\nHost: evil.example\r\n\r\n", "https://pagos.tienda.cl/login"},
		{"foreign host that ends like ours", "", "GET / HTTP/1.1\r\nHost: evilpagos.tienda.cl\r\n\r\n", "https://pagos.tienda.cl/"},
		{"no host", "", "GET /x HTTP/1.0\r\n\r\n", "https://pagos.tienda.cl/x"},
		{"absolute-form target elsewhere", "", "GET http://evil.example/x?a=b HTTP/1.1\r\nHost: evil.example\r\n\r\n", "https://pagos.tienda.cl/x?a=b"},
		{"path that looks like a host", "", "GET //evil.example/x HTTP/1.1\r\nHost: pagos.tienda.cl\r\n\r\n", "https://pagos.tienda.cl//evil.example/x"},
		{"post keeps its method with 308", "", "POST /webhooks/etpay HTTP/1.1\r\nHost: pagos.tienda.cl\r\nContent-Length: 0\r\n\r\n", "https://pagos.tienda.cl/webhooks/etpay"},
		{"public port", "8443", "GET /x HTTP/1.1\r\nHost: pagos.tienda.cl:8080\r\n\r\n", "https://pagos.tienda.cl:8443/x"},
		{"port 443 is implied", "443", "GET /x HTTP/1.1\r\nHost: pagos.tienda.cl\r\n\r\n", "https://pagos.tienda.cl/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Redirect(hosts, tt.port).ServeHTTP(w, request(t, tt.raw))
			if w.Code != http.StatusPermanentRedirect {
				t.Errorf("status = %d, want 308", w.Code)
			}
			if got := w.Header().Get("Location"); got != tt.want {
				t.Errorf("Location = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHostPolicy(t *testing.T) {
	policy := hostPolicy([]string{"pagos.tienda.cl"})
	for _, host := range []string{"pagos.tienda.cl", "pagos.tienda.cl:5002", "Pagos.Tienda.CL."} {
		if err := policy(context.Background(), host); err != nil {
			t.Errorf("policy(%q) = %v, want nil", host, err)
		}
	}
	for _, host := range []string{"tienda.cl", "evil.example:80", "pagos.tienda.cl.evil.example", ""} {
		if err := policy(context.Background(), host); err == nil {
			t.Errorf("policy(%q) = nil, want a refusal", host)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	certFile, keyFile, _ := tlstest.SelfSigned(t, time.Now().Add(time.Hour), "pagos.tienda.cl")
	own, err := New(Options{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	withACME, err := New(Options{Domains: []string{"pagos.tienda.cl"}, DirectoryURL: "https://127.0.0.1:1/dir", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    *tls.Config
		protos []string
	}{
		// The server speaks HTTP/1.1 only: offering h2 would break browsers.
		{"own certificate", own.TLSConfig(), []string{"http/1.1"}},
		{"acme", withACME.TLSConfig(), []string{"http/1.1", acme.ALPNProto}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.cfg.NextProtos, tt.protos) {
				t.Errorf("NextProtos = %q, want %q", tt.cfg.NextProtos, tt.protos)
			}
			if tt.cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x, want TLS 1.2", tt.cfg.MinVersion)
			}
			if len(tt.cfg.Certificates) == 0 && tt.cfg.GetCertificate == nil {
				t.Error("no certificate")
			}
		})
	}
}

// Plain HTTP answers the CA's challenges only for our domains, and sends
// everything else to https.
func TestHTTPHandler(t *testing.T) {
	c, err := New(Options{Domains: []string{"pagos.tienda.cl"}, DirectoryURL: "https://127.0.0.1:1/dir", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTPHandler(Redirect([]string{"pagos.tienda.cl"}, ""))
	tests := []struct {
		name, raw string
		status    int
	}{
		{"challenge for our domain, unknown token", "GET /.well-known/acme-challenge/abc HTTP/1.1\r\nHost: pagos.tienda.cl\r\n\r\n", http.StatusNotFound},
		{"challenge for another domain", "GET /.well-known/acme-challenge/abc HTTP/1.1\r\nHost: evil.example\r\n\r\n", http.StatusForbidden},
		{"page", "GET /login HTTP/1.1\r\nHost: pagos.tienda.cl\r\n\r\n", http.StatusPermanentRedirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, request(t, tt.raw))
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
		})
	}
}

func TestNewErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"certificate file missing", Options{CertFile: missing, KeyFile: missing}, "TLS_CERT_FILE"},
		{"roots file missing", Options{Domains: []string{"pagos.tienda.cl"}, CARoots: missing}, "ACME_CA_ROOTS"},
		{"roots file empty", Options{Domains: []string{"pagos.tienda.cl"}, CARoots: empty}, "ACME_CA_ROOTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
