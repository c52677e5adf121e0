package shophooks

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"etpay-dashboard/config"
)

// Guard decides where webhooks may go. In live mode a webhook goes only to
// https on a public address: an admin's URL must not reach this server's
// own network (the specification's SSRF advice). AllowPrivate
// (WEBHOOK_ALLOW_PRIVATE, or sandbox mode) also accepts http and loopback
// or private addresses.
type Guard struct {
	AllowPrivate bool
}

// GuardFor is the guard cfg calls for.
func GuardFor(cfg *config.Config) Guard {
	return Guard{AllowPrivate: cfg.WebhookAllowPrivate || cfg.Mode == config.ModeSandbox}
}

// Why a destination is refused.
var (
	ErrNotURL      = errors.New("not an http or https URL with a host")
	ErrCredentials = errors.New("a user or password in the URL")
	ErrNeedsHTTPS  = errors.New("live mode sends webhooks over https only (WEBHOOK_ALLOW_PRIVATE=true allows http)")
	ErrPrivate     = errors.New("live mode sends webhooks to public addresses only (WEBHOOK_ALLOW_PRIVATE=true allows private ones)")
)

// maxURL bounds an endpoint's URL.
const maxURL = 2000

// CheckURL checks a URL as written: http or https with a host, no user or
// password, no fragment; without AllowPrivate, https and a host that is not
// a loopback or private address (or localhost). Names are checked again
// where it counts, at every connection (see Client).
func (g Guard) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxURL || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Fragment != "" {
		return ErrNotURL
	}
	if u.User != nil {
		return ErrCredentials
	}
	if g.AllowPrivate {
		return nil
	}
	if u.Scheme != "https" {
		return ErrNeedsHTTPS
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return ErrPrivate
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.checkAddr(ip)
	}
	return nil
}

// notPublic are ranges that are no public destination, beyond what netip's
// predicates name: shared address space (CGNAT), "this network",
// protocol assignments, documentation and benchmarking ranges, reserved
// space, NAT64 (which reaches IPv4 through a gateway) and site-local IPv6.
var notPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{"100.64.0.0/10", "0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
		"198.18.0.0/15", "240.0.0.0/4", "64:ff9b::/96", "64:ff9b:1::/48", "2001:db8::/32", "fec0::/10"} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// checkAddr refuses an address that is not public, unless AllowPrivate.
func (g Guard) checkAddr(ip netip.Addr) error {
	if g.AllowPrivate {
		return nil
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || !ip.IsValid() {
		return fmt.Errorf("%w: %s", ErrPrivate, ip)
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s", ErrPrivate, ip)
		}
	}
	return nil
}

// control is the dialer's check of the address it is about to connect to,
// after DNS: a name that resolves (or re-resolves, DNS rebinding) to an
// internal address is refused at every connection, not only when typed.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrPrivate, host)
	}
	return g.checkAddr(ip)
}

// Client is the HTTP client webhooks go out with: timeout bounds each
// attempt from dialling to the answer's end, every connection passes the
// guard, no proxy is used (it would be dialled instead of the destination),
// TLS is verified, and redirects are answered, not followed: a 3xx is a
// failed attempt, as the specification says.
func (g Guard) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: g.control}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
