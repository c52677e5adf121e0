package handlers_test

import (
	"context"
	"errors"
	"etpay-dashboard/testdb"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/config"
	"etpay-dashboard/etpay"
	"etpay-dashboard/etpay/sandbox"
	"etpay-dashboard/handlers"
	"etpay-dashboard/live"
	"etpay-dashboard/models"
	"etpay-dashboard/payments"
)

// Credentials the test sandbox accepts and the app is configured with.
const (
	testMerchant = "cl_test_merchant"
	testAPIToken = "test-merchant-api-token-0123456789"
	testPassword = "correct horse battery"
)

// testStoreOptions open every test database with bcrypt's lowest cost:
// tests make hundreds of users (production's cost 12 is tested in models).
var testStoreOptions = []models.Option{models.WithPasswordCost(bcrypt.MinCost)}

// harness is the real app on a real loopback port, backed by a SQLite file in
// a temp dir and talking to the ETpay sandbox over real HTTP.
type harness struct {
	t       *testing.T
	app     *fiber.App
	store   *models.Store
	cfg     *config.Config
	sandbox *sandbox.Server
	etpay   *httptest.Server
	base    string
}

// harnessSetup is what options can change before the app starts.
type harnessSetup struct {
	env          map[string]string
	broker       *live.Broker
	dropWebhooks bool
	jobs         bool
	storeOptions []models.Option
	etpayTimeout time.Duration
	log          io.Writer
	clock        func() time.Time
	builtIn      bool
}

type harnessOption func(*harnessSetup)

// withETpay points the app at another ETpay (a broken one, say) instead of the sandbox.
func withETpay(url string) harnessOption {
	return func(s *harnessSetup) { s.env["ETPAY_API_URL"] = url }
}

func withEnv(key, value string) harnessOption {
	return func(s *harnessSetup) { s.env[key] = value }
}

// withLostNotifications makes the sandbox's notifications never arrive, as
// when ETpay cannot reach the server.
func withLostNotifications() harnessOption {
	return func(s *harnessSetup) { s.dropWebhooks = true }
}

// withStoreOptions opens the app's store with more options (a short busy timeout, say).
func withStoreOptions(opts ...models.Option) harnessOption {
	return func(s *harnessSetup) { s.storeOptions = append(s.storeOptions, opts...) }
}

// withETpayTimeout bounds each call to ETpay (2 s unless set), so a test of a
// slow ETpay need not wait long.
func withETpayTimeout(d time.Duration) harnessOption {
	return func(s *harnessSetup) { s.etpayTimeout = d }
}

// withJobs runs the app's background jobs for the test's lifetime.
func withJobs() harnessOption {
	return func(s *harnessSetup) { s.jobs = true }
}

// withLog sends the app's log to w.
func withLog(w io.Writer) harnessOption {
	return func(s *harnessSetup) { s.log = w }
}

// withClock sets the time the app checks second-factor codes against.
func withClock(now func() time.Time) harnessOption {
	return func(s *harnessSetup) { s.clock = now }
}

// withBuiltInSandbox runs the app in sandbox mode as serve does without
// ETPAY_* settings: the simulator mounted at /sandbox, the customer's funnel
// on BASE_URL and the SANDBOX banner on every page.
func withBuiltInSandbox() harnessOption {
	return func(s *harnessSetup) {
		for _, k := range []string{"ETPAY_API_URL", "ETPAY_PMT_URL", "ETPAY_MERCHANT_CODE", "ETPAY_MERCHANT_API_TOKEN"} {
			s.env[k] = ""
		}
		s.builtIn = true
	}
}

// withBroker gives the app an event broker the test controls.
func withBroker(b *live.Broker) harnessOption {
	return func(s *harnessSetup) { s.broker = b }
}

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"BASE_URL":                 base,
		"DATABASE_URL":             testdb.URL(t, "test.db"),
		"ETPAY_API_URL":            "{sandbox}",
		"ETPAY_PMT_URL":            "{sandbox}",
		"ETPAY_MERCHANT_CODE":      testMerchant,
		"ETPAY_MERCHANT_API_TOKEN": testAPIToken,
	}
	setup := &harnessSetup{env: env, storeOptions: testStoreOptions, etpayTimeout: 2 * time.Second}
	for _, o := range opts {
		o(setup)
	}
	sbOpts := sandbox.Options{MerchantCode: testMerchant, MerchantAPIToken: testAPIToken}
	if setup.dropWebhooks {
		sbOpts.WebhookClient = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, errors.New("notification lost on the way")
		})}
	}
	sb := sandbox.New(sbOpts)
	etpaySrv := httptest.NewServer(sb)
	t.Cleanup(func() { etpaySrv.Close(); sb.Close() })
	for k, v := range env {
		if v == "{sandbox}" {
			env[k] = etpaySrv.URL
		}
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	store, err := models.Open(ctx, cfg.DatabaseURL, slices.Concat(setup.storeOptions, []models.Option{models.WithBaseURL(cfg.URL(""))})...)
	if err != nil {
		t.Fatal(err)
	}
	etpayCfg := etpay.Config{APIURL: cfg.ETpayAPIURL, PMTURL: cfg.ETpayPMTURL, MerchantCode: cfg.ETpayMerchant, MerchantAPIToken: cfg.ETpayAPIToken, Timeout: setup.etpayTimeout}
	if setup.builtIn {
		etpayCfg.APIURL, etpayCfg.PMTURL = etpaySrv.URL, base+handlers.SandboxPrefix
		etpayCfg.MerchantCode, etpayCfg.MerchantAPIToken = testMerchant, testAPIToken
	}
	client := etpay.NewClient(etpayCfg)
	if setup.broker == nil {
		setup.broker = live.New()
	}
	deps := handlers.Deps{Config: cfg, Store: store, ETpay: client, SessionSecret: "test-session-secret", Events: setup.broker, Clock: setup.clock}
	if setup.builtIn {
		deps.Sandbox = sb.Handler(handlers.SandboxPrefix)
	}
	if setup.log != nil {
		deps.Logger = slog.New(slog.NewTextHandler(setup.log, nil))
	} else if os.Getenv("TEST_LOG") != "" { // TEST_LOG=1 go test … shows the app's log
		deps.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	deps.Payments = &payments.Pipeline{Config: cfg, Store: store, ETpay: client, Events: setup.broker, Logger: deps.Logger}
	jobs, stopJobs := context.WithCancel(ctx)
	reconciler := make(chan struct{})
	go func() {
		defer close(reconciler)
		if setup.jobs { // as serve does, beside the web server
			deps.Payments.RunReconciler(jobs)
		}
	}()
	app := handlers.New(deps)
	go app.Listener(ln)
	t.Cleanup(func() {
		setup.broker.Close() // as main does: open live tables would hold shutdown up
		app.ShutdownWithTimeout(5 * time.Second)
		stopJobs()
		<-reconciler
		store.Close()
	})
	return &harness{t: t, app: app, store: store, cfg: cfg, sandbox: sb, etpay: etpaySrv, base: base}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// addUser creates a user with testPassword.
func (h *harness) addUser(email, role string) *models.User {
	h.t.Helper()
	hash, err := h.store.HashPassword(testPassword)
	if err != nil {
		h.t.Fatal(err)
	}
	u, err := h.store.CreateUser(context.Background(), email, hash, role)
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// browser is a cookie-carrying client that does not follow redirects, so
// tests see every 303.
type browser struct {
	h      *harness
	client *http.Client
	// from, when set, is sent as X-Forwarded-For: the client address the app
	// sees when TRUSTED_PROXIES includes 127.0.0.1 (see browserFrom).
	from string
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// browserFrom is a browser at another client address; the harness must trust
// loopback as a proxy (withEnv("TRUSTED_PROXIES", "127.0.0.1/32")).
func (h *harness) browserFrom(addr string) *browser {
	b := h.browser()
	b.from = addr
	return b
}

// response is an answer with its body read.
type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) response {
	b.h.t.Helper()
	if b.from != "" {
		req.Header.Set("X-Forwarded-For", b.from)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) response {
	b.h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.url(path), nil)
	return b.do(req)
}

// post sends a form as is, without adding a CSRF token.
func (b *browser) post(path string, form url.Values) response {
	b.h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// submit loads page, takes its CSRF token like a browser would, and posts form to action.
func (b *browser) submit(page, action string, form url.Values) response {
	b.h.t.Helper()
	token := csrfToken(b.h.t, b.get(page).body)
	form.Set("csrf", token)
	return b.post(action, form)
}

func (b *browser) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return b.h.base + path
}

func (b *browser) login(email string) {
	b.h.t.Helper()
	r := b.submit("/login", "/login", url.Values{"email": {email}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions" {
		b.h.t.Fatalf("login as %s: %d %s", email, r.status, r.header.Get("Location"))
	}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfToken(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token in page:\n%s", page)
	}
	return m[1]
}

// createLink makes a link through the staff form and returns its payment URL.
func (b *browser) createLink(order, amount string) string {
	b.h.t.Helper()
	r := b.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {order}, "order_amount": {amount}})
	if r.status != http.StatusSeeOther {
		b.h.t.Fatalf("create link: %d\n%s", r.status, r.body)
	}
	page := b.get(r.header.Get("Location"))
	m := regexp.MustCompile(`id="link-url"[^>]*value="([^"]+)"`).FindStringSubmatch(page.body)
	if m == nil {
		b.h.t.Fatalf("no link URL on page:\n%s", page.body)
	}
	return m[1]
}

// loggedIn adds a user with role and returns a browser logged in as them.
func (h *harness) loggedIn(email, role string) *browser {
	h.t.Helper()
	h.addUser(email, role)
	b := h.browser()
	b.login(email)
	return b
}
