package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// payThroughFunnel opens the customer's link, follows it to the sandbox
// funnel and presses the button named action. It returns where the funnel
// sent the customer back to.
func payThroughFunnel(t *testing.T, customer *browser, payURL, action string) string {
	t.Helper()
	open := customer.get(payURL)
	if open.status != http.StatusSeeOther {
		t.Fatalf("open link: %d\n%s", open.status, open.body)
	}
	funnel := open.header.Get("Location")
	page := customer.get(funnel)
	if page.status != http.StatusOK || !strings.Contains(page.body, `value="`+action+`"`) {
		t.Fatalf("funnel page: %d\n%s", page.status, page.body)
	}
	done := customer.post(funnel, url.Values{"action": {action}, "bank": {"cl_bci"}})
	if done.status != http.StatusSeeOther {
		t.Fatalf("funnel %s: %d\n%s", action, done.status, done.body)
	}
	return done.header.Get("Location")
}

func onlySession(t *testing.T, h *harness) models.Session {
	t.Helper()
	rows, err := h.store.ListSessions(context.Background(), models.SessionPage{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("want exactly one session, got %d (%v)", len(rows), err)
	}
	return rows[0]
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		action     string
		returnPath string
		status     string
		pageText   string
	}{
		{"approve pays", "approve", "/success?jwt=", models.StatusPaid, "Pago confirmado"},
		{"reject fails", "reject", "/error?jwt=", models.StatusFailed, "El banco rechazó el pago"},
		{"cancel fails", "cancel", "/error?jwt=", models.StatusFailed, "Pago cancelado"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
			payURL := staff.createLink("OC-700104", "$12.990")
			if !strings.HasPrefix(payURL, h.base+"/pay/") {
				t.Fatalf("link %q is not on BASE_URL", payURL)
			}

			back := payThroughFunnel(t, h.browser(), payURL, tt.action)
			if !strings.HasPrefix(back, payURL+tt.returnPath) {
				t.Fatalf("funnel returned to %q, want %s%s…", back, payURL, tt.returnPath)
			}
			// The sandbox delivers the notification before redirecting.
			sess := onlySession(t, h)
			if sess.Status != tt.status {
				t.Fatalf("session status %q, want %q", sess.Status, tt.status)
			}
			if sess.PaymentToken == "" {
				t.Fatal("payment_token not recorded")
			}
			result := h.browser().get(back)
			if result.status != http.StatusOK || !strings.Contains(result.body, tt.pageText) || !strings.Contains(result.body, "$12.990") {
				t.Fatalf("return page: %d, want %q and $12.990\n%s", result.status, tt.pageText, result.body)
			}

			list := staff.get("/admin/sessions")
			if !strings.Contains(list.body, sess.PaymentToken) || !strings.Contains(list.body, "OC-700104") {
				t.Fatalf("sessions table lacks the payment:\n%s", list.body)
			}
			detail := staff.get("/admin/sessions/" + itoa(sess.ID))
			for _, want := range []string{"verificada", sess.PaymentToken, `{&#34;payment&#34;:`} {
				if !strings.Contains(detail.body, want) {
					t.Fatalf("detail page lacks %q:\n%s", want, detail.body)
				}
			}
		})
	}
}

func TestLinkReusesPendingSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	payURL := staff.createLink("OC-1", "5000")

	// A mail scanner and the customer open the link at once, then again.
	var wg sync.WaitGroup
	locations := make([]string, 10)
	for i := range locations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			locations[i] = h.browser().get(payURL).header.Get("Location")
		}()
	}
	wg.Wait()
	for _, loc := range locations {
		if loc == "" || loc != locations[0] {
			t.Fatalf("opens went to different places: %q", locations)
		}
	}
	if n := len(h.sandbox.Sessions()); n != 1 {
		t.Fatalf("ETpay got %d sessions, want 1", n)
	}
	onlySession(t, h)
}

func TestLinkStartsNewSessionAfterReuseWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("LINK_SESSION_REUSE", "0s"))
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	payURL := staff.createLink("OC-1", "5000")
	first := h.browser().get(payURL).header.Get("Location")
	time.Sleep(10 * time.Millisecond)
	second := h.browser().get(payURL).header.Get("Location")
	if first == second {
		t.Fatal("an expired pending session was reused")
	}
	if n := len(h.sandbox.Sessions()); n != 2 {
		t.Fatalf("ETpay got %d sessions, want 2", n)
	}
}

func TestPaidLinkSaysAlreadyPaid(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	payURL := staff.createLink("OC-1", "5000")
	payThroughFunnel(t, h.browser(), payURL, "approve")

	again := h.browser().get(payURL)
	if again.status != http.StatusOK || !strings.Contains(again.body, "ya está pagado") {
		t.Fatalf("paid link answered %d:\n%s", again.status, again.body)
	}
	if n := len(h.sandbox.Sessions()); n != 1 {
		t.Fatalf("a paid link started another ETpay session (%d)", n)
	}
}

func TestFailedPaymentCanBeRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	payURL := staff.createLink("OC-1", "5000")
	customer := h.browser()
	payThroughFunnel(t, customer, payURL, "reject")
	payThroughFunnel(t, customer, payURL, "approve")
	link, err := h.store.LinkByCode(context.Background(), payURL[strings.LastIndex(payURL, "/")+1:])
	if err != nil || link.Status != models.LinkPaid {
		t.Fatalf("link after retry: %+v %v", link, err)
	}
}

func TestUnknownOrMalformedLinkCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/pay/AAAAAAAAAAAAAAAAAAAAAAAAAA", "/pay/not-a-code", "/pay/'%20OR%201=1", "/pay/AAAAAAAAAAAAAAAAAAAAAAAAAA/success"} {
		if r := h.browser().get(path); r.status != http.StatusNotFound {
			t.Errorf("%s answered %d, want 404", path, r.status)
		}
	}
}

// flakyETpay answers the first n calls with a failure, then passes calls to the sandbox.
func flakyETpay(t *testing.T, h *harness, fail http.HandlerFunc, n int32) *httptest.Server {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			fail(w, r)
			return
		}
		h.sandbox.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestETpayFailureLeavesNothingHalfMade(t *testing.T) {
	t.Parallel()
	var done chan struct{} // lets the slow ETpay go once its subtest is over
	tests := []struct {
		name string
		fail http.HandlerFunc
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }},
		{"401 with message", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			w.Write([]byte(`{"message":"invalid merchant credentials"}`))
		}},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>proxy error</html>")) }},
		{"no token", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"signature_token":"x"}`)) }},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-done:
			case <-r.Context().Done():
			}
		}},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h *harness
			done = make(chan struct{})
			flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.fail(w, r) }))
			t.Cleanup(flaky.Close)
			t.Cleanup(func() { close(done) }) // runs before flaky.Close
			h = newHarness(t, withETpay(flaky.URL), withETpayTimeout(300*time.Millisecond))
			staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
			payURL := staff.createLink("OC-1", "5000")

			r := h.browser().get(payURL)
			if r.status != http.StatusBadGateway || !strings.Contains(r.body, "No pudimos iniciar el pago") {
				t.Fatalf("ETpay failure answered %d:\n%s", r.status, r.body)
			}
			if strings.Contains(r.body, testAPIToken) {
				t.Fatal("the merchant API token leaked into the page")
			}
			rows, _ := h.store.ListSessions(context.Background(), models.SessionPage{})
			if len(rows) != 0 {
				t.Fatalf("a failed ETpay call left %d sessions", len(rows))
			}
		})
	}
}

func TestETpayFailureIsSafeToRetry(t *testing.T) {
	t.Parallel()
	var h *harness
	var flaky *httptest.Server
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { flaky.Config.Handler.ServeHTTP(w, r) }))
	t.Cleanup(proxy.Close)
	h = newHarness(t, withETpay(proxy.URL))
	flaky = flakyETpay(t, h, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }, 1)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	payURL := staff.createLink("OC-1", "5000")

	if r := h.browser().get(payURL); r.status != http.StatusBadGateway {
		t.Fatalf("first open: %d", r.status)
	}
	if r := h.browser().get(payURL); r.status != http.StatusSeeOther {
		t.Fatalf("retry: %d\n%s", r.status, r.body)
	}
	onlySession(t, h)
}

func TestReturnPagesNeverChangeState(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	payURL := staff.createLink("OC-1", "5000")
	h.browser().get(payURL) // starts a session
	sess := onlySession(t, h)

	// A customer who lands on the success page with a forged or no JWT sees "confirming".
	forged := signedNotification(t, sess.SessionToken, "OC-1", "success", "any key")
	for _, query := range []string{"", "?jwt=" + forged, "?jwt=garbage"} {
		r := h.browser().get(payURL + "/success" + query)
		if r.status != http.StatusOK || !strings.Contains(r.body, "Confirmando tu pago") || !strings.Contains(r.body, "/static/js/pay.js") || strings.Contains(r.body, `http-equiv="refresh"`) {
			t.Fatalf("success page%s: %d\n%s", query, r.status, r.body)
		}
	}
	if s := onlySession(t, h); s.Status != models.StatusPending {
		t.Fatalf("a return page changed the session to %q", s.Status)
	}
}
