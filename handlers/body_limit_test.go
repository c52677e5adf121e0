package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// rawExchange sends head and then body on a fresh connection, the way a
// hostile client would (it stops writing when the server stops reading), and
// returns the server's answer. A server that waits for more than was sent
// gives no answer within the deadline.
func (h *harness) rawExchange(head string, body []byte) (*http.Response, string) {
	h.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, head); err == nil {
			conn.Write(body)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		h.t.Fatalf("no answer to %q: %v", strings.SplitN(head, "\r\n", 2)[0], err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func requestHead(method, path, extra string, contentLength int) string {
	head := method + " " + path + " HTTP/1.1\r\nHost: shop.example\r\n" + extra
	if contentLength >= 0 {
		head += "Content-Length: " + fmt.Sprint(contentLength) + "\r\n"
	}
	return head + "\r\n"
}

// chunked encodes body as one chunk and the last chunk.
func chunked(body []byte) []byte {
	return append(fmt.Appendf(nil, "%x\r\n", len(body)), append(body, "\r\n0\r\n\r\n"...)...)
}

const formType = "Content-Type: application/x-www-form-urlencoded\r\n"

// TestEveryRouteRefusesABigBody posts 100 KiB to every route the app has
// (and to a path it does not have): none reads it, all answer 413 and close.
func TestEveryRouteRefusesABigBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := []byte("padding=" + strings.Repeat("a", 100<<10))
	paths := map[string]bool{"/no/such/page": true}
	for _, r := range h.app.GetRoutes(true) {
		paths[regexp.MustCompile(`:[a-z]+`).ReplaceAllString(r.Path, "1")] = true
	}
	for path := range paths {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			resp, _ := h.rawExchange(requestHead(method, path, formType, len(body)), body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
				t.Errorf("%s %s with 100 KiB: %d (close %v), want 413 and the connection closed", method, path, resp.StatusCode, resp.Close)
			}
		}
	}
}

func TestFormBodyLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	b := h.browser()
	token := csrfToken(t, b.get("/login").body)
	login := url.Values{"csrf": {token}, "email": {"staff@shop.cl"}, "password": {testPassword}}

	// A form just under the limit is read whole.
	login.Set("padding", strings.Repeat("a", 15<<10))
	if r := b.post("/login", login); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions" {
		t.Fatalf("login with a 15 KiB form: %d %s", r.status, r.header.Get("Location"))
	}
	// Larger ones are refused before any handler reads them, sent with a
	// length or chunked, logged in or not.
	cookies := ""
	for _, c := range b.client.Jar.Cookies(mustURL(h.base)) {
		cookies += "Cookie: " + c.Name + "=" + c.Value + "\r\n"
	}
	token = csrfToken(t, b.get("/admin/links/new").body)
	big := []byte(url.Values{"csrf": {token}, "merchant_order_id": {"OC-1"}, "order_amount": {"1000"}, "padding": {strings.Repeat("a", 100<<10)}}.Encode())
	for _, tt := range []struct{ name, head string }{
		{"login, 100 KiB", requestHead("POST", "/login", formType, len(big))},
		{"login, 100 KiB chunked", requestHead("POST", "/login", formType+"Transfer-Encoding: chunked\r\n", -1)},
		{"new link, 100 KiB", requestHead("POST", "/admin/links/new", formType+cookies, len(big))},
		{"new link, 100 KiB chunked", requestHead("POST", "/admin/links/new", formType+cookies+"Transfer-Encoding: chunked\r\n", -1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := big
			if strings.Contains(tt.head, "chunked") {
				body = chunked(big)
			}
			if resp, _ := h.rawExchange(tt.head, body); resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("answered %d, want 413", resp.StatusCode)
			}
		})
	}
	if l, err := h.store.LinkByID(context.Background(), 1); err != models.ErrNotFound {
		t.Fatalf("a refused form made a link: %+v %v", l, err)
	}
}

// TestDeclaredBodiesAreNotAwaited declares 2,000,000 bytes and sends 5 KiB:
// the answer comes at once, without waiting for (or reserving room for) the
// bytes that never come.
func TestDeclaredBodiesAreNotAwaited(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sent := []byte(`{"payment":"` + strings.Repeat("a", 5<<10))
	for _, path := range []string{"/webhooks/etpay", "/login", "/admin/links/new"} {
		resp, _ := h.rawExchange(requestHead("POST", path, formType, 2_000_000), sent)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s declaring 2,000,000 bytes: %d, want 413", path, resp.StatusCode)
		}
	}
	n, err := h.store.LatestNotification(context.Background())
	if err != nil || n.Reason != "too_large" || n.Verdict != models.VerdictRejected || len(n.Body) != 4<<10 || !strings.HasPrefix(n.Body, `{"payment":"aaa`) {
		t.Fatalf("stored %+v (%v), want rejected/too_large with the first 4 KiB", n, err)
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		name   string
		body   []byte
		chunk  bool
		status int
		reason string
	}{
		// Whitespace after the JSON is valid JSON: this body passes the limit.
		{"64 KiB", []byte(`{"payment":"x"}` + strings.Repeat(" ", etpay.MaxNotificationBody-15)), false, 400, "malformed"},
		{"64 KiB chunked", []byte(`{"payment":"y"}` + strings.Repeat(" ", etpay.MaxNotificationBody-15)), true, 400, "malformed"},
		{"64 KiB + 1", []byte(`{"payment":"x"}` + strings.Repeat(" ", etpay.MaxNotificationBody-14)), false, 413, "too_large"},
		{"64 KiB + 1 chunked", []byte(`{"payment":"z"}` + strings.Repeat(" ", etpay.MaxNotificationBody-14)), true, 413, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, body := requestHead("POST", "/webhooks/etpay", "", len(tt.body)), tt.body
			if tt.chunk {
				head, body = requestHead("POST", "/webhooks/etpay", "Transfer-Encoding: chunked\r\n", -1), chunked(tt.body)
			}
			resp, answer := h.rawExchange(head, body)
			if resp.StatusCode != tt.status {
				t.Fatalf("answered %d %q, want %d", resp.StatusCode, answer, tt.status)
			}
			n, err := h.store.LatestNotification(context.Background())
			if err != nil || n.Verdict != models.VerdictRejected || n.Reason != tt.reason || !strings.HasPrefix(n.Body, string(tt.body[:15])) {
				t.Fatalf("stored %s/%s %.20q (%v), want rejected/%s", n.Verdict, n.Reason, n.Body, err, tt.reason)
			}
			if tt.status == 413 && len(n.Body) > 4<<10 {
				t.Fatalf("kept %d bytes of an oversized body, want at most 4 KiB", len(n.Body))
			}
		})
	}
}

// TestEncodedBodiesAreRefused: a compressed body would grow past its limit
// once decoded, so none is accepted.
func TestEncodedBodiesAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/webhooks/etpay", "/login"} {
		for _, enc := range []string{"gzip", "deflate", "br"} {
			resp, _ := h.rawExchange(requestHead("POST", path, formType+"Content-Encoding: "+enc+"\r\n", 10), []byte("0123456789"))
			if resp.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("%s with Content-Encoding %s: %d, want 415", path, enc, resp.StatusCode)
			}
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestUnreadBodyEndsTheConnection: Fiber answers a request with an unknown
// method itself, before limitBody runs; the body it did not read must not
// be taken for the next request on the connection.
func TestUnreadBodyEndsTheConnection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	smuggled := "GET /healthz HTTP/1.1\r\nHost: shop.example\r\n\r\n"
	resp, _ := h.rawExchange(requestHead("FOO", "/webhooks/etpay", "", len(smuggled)), []byte(smuggled))
	if resp.StatusCode != http.StatusBadRequest || !resp.Close {
		t.Fatalf("unknown method with a body: %d, close %v; want 400 and the connection closed", resp.StatusCode, resp.Close)
	}
}
