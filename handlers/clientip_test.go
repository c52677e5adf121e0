package handlers

import (
	"io"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/config"
)

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	t.Parallel()
	// Under app.Test every request comes from 0.0.0.0.
	_, proxy, _ := net.ParseCIDR("0.0.0.0/32")
	_, lan, _ := net.ParseCIDR("10.0.0.0/8")
	tests := []struct {
		name    string
		trusted []*net.IPNet
		xff     string
		want    string
	}{
		{"no proxies trusted: forwarded header ignored", nil, "203.0.113.7", "0.0.0.0"},
		{"trusted proxy: client from the header", []*net.IPNet{proxy}, "203.0.113.7", "203.0.113.7"},
		{"spoofed hop before a trusted chain is skipped", []*net.IPNet{proxy, lan}, "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"},
		{"garbage header: the proxy itself", []*net.IPNet{proxy}, "not-an-ip", "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{Deps: Deps{Config: &config.Config{TrustedProxies: tt.trusted}}}
			f := fiber.New()
			f.Get("/", func(c *fiber.Ctx) error { return c.SendString(a.clientIP(c)) })
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("X-Forwarded-For", tt.xff)
			resp, err := f.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			if string(got) != tt.want {
				t.Errorf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
