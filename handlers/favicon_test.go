package handlers_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestFavicon: the layouts link an icon in the product's accent colour,
// served from the binary, and /favicon.ico answers with it too.
func TestFavicon(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	if page := b.get("/login").body; !strings.Contains(page, `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`) {
		t.Errorf("the login page links no icon:\n%s", page)
	}
	for _, path := range []string{"/favicon.ico", "/static/favicon.svg"} {
		r := b.get(path)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "image/svg+xml") ||
			!strings.Contains(r.body, "<svg") || !strings.Contains(r.body, "#4f46e5") || len(r.body) > 1024 {
			t.Errorf("GET %s: %d %q, %d bytes", path, r.status, r.header.Get("Content-Type"), len(r.body))
		}
	}
}
