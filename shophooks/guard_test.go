package shophooks

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	live, open := Guard{}, Guard{AllowPrivate: true}
	tests := []struct {
		url            string
		live, allowing error
	}{
		{"https://tienda.cl/webhooks/etpay", nil, nil},
		{"https://203.0.114.7:8443/hook", nil, nil},
		{"http://tienda.cl/hook", ErrNeedsHTTPS, nil},
		{"https://localhost/hook", ErrPrivate, nil},
		{"https://api.localhost/hook", ErrPrivate, nil},
		{"https://127.0.0.1/hook", ErrPrivate, nil},
		{"https://[::1]/hook", ErrPrivate, nil},
		{"https://10.0.0.8/hook", ErrPrivate, nil},
		{"https://172.16.3.4/hook", ErrPrivate, nil},
		{"https://192.168.1.10/hook", ErrPrivate, nil},
		{"https://169.254.169.254/latest/meta-data", ErrPrivate, nil},
		{"https://100.64.1.1/hook", ErrPrivate, nil},
		{"https://0.0.0.0/hook", ErrPrivate, nil},
		{"https://[::ffff:10.0.0.1]/hook", ErrPrivate, nil},
		{"https://[fd00::1]/hook", ErrPrivate, nil},
		{"https://[fe80::1]/hook", ErrPrivate, nil},
		{"https://224.0.0.1/hook", ErrPrivate, nil},
		{"https://user:pass@tienda.cl/hook", ErrCredentials, ErrCredentials},
		{"ftp://tienda.cl/hook", ErrNotURL, ErrNotURL},
		{"https:///hook", ErrNotURL, ErrNotURL},
		{"tienda.cl/hook", ErrNotURL, ErrNotURL},
		{"https://tienda.cl/hook#frag", ErrNotURL, ErrNotURL},
		{"https://tienda.cl/" + strings.Repeat("a", 2000), ErrNotURL, ErrNotURL},
	}
	for _, tt := range tests {
		if err := live.CheckURL(tt.url); !errors.Is(err, tt.live) || (err == nil) != (tt.live == nil) {
			t.Errorf("live %s: %v, want %v", tt.url, err, tt.live)
		}
		if err := open.CheckURL(tt.url); !errors.Is(err, tt.allowing) || (err == nil) != (tt.allowing == nil) {
			t.Errorf("allowing private %s: %v, want %v", tt.url, err, tt.allowing)
		}
	}
}

func TestPublicAddresses(t *testing.T) {
	for _, a := range []string{"8.8.8.8", "200.1.123.4", "2800:150::1", "1.1.1.1"} {
		if err := (Guard{}).checkAddr(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	for _, a := range []string{"127.0.0.53", "10.1.2.3", "100.127.255.254", "198.18.0.1", "255.255.255.255", "64:ff9b::a00:1", "::"} {
		if err := (Guard{}).checkAddr(netip.MustParseAddr(a)); !errors.Is(err, ErrPrivate) {
			t.Errorf("%s allowed: %v", a, err)
		}
	}
}

// The address is checked where the connection is made, after DNS: a name
// that resolves to loopback is refused although the URL passed as typed
// (a name may resolve elsewhere later: DNS rebinding).
func TestDialRefusesPrivateAddressesOfNames(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	_, err := (Guard{}).Client(2*time.Second).Post(byName, "application/json", nil)
	if !errors.Is(err, ErrPrivate) || hits.Load() != 0 {
		t.Fatalf("live client to %s: %v (%d requests arrived)", byName, err, hits.Load())
	}
	client := Guard{AllowPrivate: true}.Client(2 * time.Second)
	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsConfig.ServerName = "example.com" // the name httptest's certificate is for
	client.Transport.(*http.Transport).TLSClientConfig = tlsConfig
	resp, err := client.Post(byName, "application/json", nil)
	if err != nil || hits.Load() != 1 {
		t.Fatalf("allowing private: %v (%d requests)", err, hits.Load())
	}
	resp.Body.Close()
}
