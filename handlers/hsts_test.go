package handlers_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

// TestHSTSFollowsBaseURL: with an https BASE_URL every answer carries
// Strict-Transport-Security — pages, static files, the webhook, redirects,
// 404s, 405s, 413s and the errors the server answers before any route runs
// — although the request itself comes over plain HTTP, as from a TLS proxy.
// With an http BASE_URL none does.
func TestHSTSFollowsBaseURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		baseURL string
		want    string
	}{
		{"https://shop.example", "max-age=31536000"},
		{"https://shop.example/pagos/", "max-age=31536000"},
		{"http://shop.example", ""},
	} {
		t.Run(tt.baseURL, func(t *testing.T) {
			h := newHarness(t, withEnv("BASE_URL", tt.baseURL))
			link, err := h.store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: "OC-1", Amount: 1000, Mode: "live"})
			if err != nil {
				t.Fatal(err)
			}
			heads := map[string]string{
				"a link":                 requestHead("GET", "/pay/"+link.Code, "", -1),
				"an unknown link":        requestHead("GET", "/pay/NOSUCHCODE", "", -1),
				"a static file":          requestHead("GET", "/static/css/app.css", "", -1),
				"a missing static file":  requestHead("GET", "/static/nothing.css", "", -1),
				"an unknown page":        requestHead("GET", "/no/such/page", "", -1),
				"the webhook, empty":     requestHead("POST", "/webhooks/etpay", "", 0),
				"the webhook, too large": requestHead("POST", "/webhooks/etpay", "", 1<<20),
				"a form without CSRF":    requestHead("POST", "/login", formType, 0),
				"an encoded body":        requestHead("POST", "/login", "Content-Encoding: gzip\r\n", 1),
				"a malformed request":    "NOT HTTP AT ALL\r\n\r\n",
				"a malformed header":     "GET / HTTP/1.1\r\nHost: shop.example\r\nContent-Length: x\r\n\r\n",
			}
			for _, r := range h.app.GetRoutes(true) {
				path := regexp.MustCompile(`:[a-z]+`).ReplaceAllString(r.Path, "1")
				heads[r.Method+" "+path] = requestHead(r.Method, path, "", 0)
			}
			for name, head := range heads {
				resp, _ := h.rawExchange(head, []byte(strings.Repeat("a", 5<<10)))
				if got := resp.Header.Get("Strict-Transport-Security"); got != tt.want {
					t.Errorf("%s (%d): Strict-Transport-Security %q, want %q", name, resp.StatusCode, got, tt.want)
				}
			}
		})
	}
}

// The healthz check gets HSTS like everything else (a load balancer may show it).
func TestHSTSOnHealthz(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("BASE_URL", "https://shop.example"))
	resp, err := http.Get(h.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Fatalf("/healthz: %q", got)
	}
}
