package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"etpay-dashboard/models"
)

// axeTags are the rules the product promises to pass: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// a11yWidths are the widths every page is checked at: a small phone and a laptop.
var a11yWidths = []struct {
	name          string
	width, height int64
	mobile        bool
}{{"360px", 360, 740, true}, {"1366px", 1366, 768, false}}

// a11ySkipped are the GET routes that serve no HTML page of their own, each
// with the reason. Every other GET route must be visited by
// TestEveryPageIsAccessible, so a page added later is checked (or skipped
// here, with a reason) without anyone remembering to.
var a11ySkipped = map[string]string{
	"/":                                   "redirects to /admin/sessions",
	"/admin/":                             "redirects to /admin/sessions",
	"/healthz":                            "plain text for probes",
	"/readyz":                             "plain text for probes",
	"/admin/sessions.csv":                 "CSV",
	"/admin/sessions.xlsx":                "spreadsheet",
	"/admin/links.xlsx":                   "spreadsheet",
	"/favicon.ico":                        "the icon (SVG)",
	"/admin/golive.csv":                   "CSV",
	"/admin/links/:id/qr.png":             "PNG",
	"/admin/events":                       "the live table's event stream",
	"/admin/links/import/:id/result.xlsx": "spreadsheet",
	"/admin/links/import/:id/result.csv":  "CSV",
	// The API answers JSON to programs, never a page.
	"/api/v1/openapi.json": "JSON (the OpenAPI document)",
	"/api/v1/links":        "JSON",
	"/api/v1/links/:id":    "JSON",
	"/api/v1/sessions":     "JSON",
	"/api/v1/sessions/:id": "JSON",
}

// a11yAwaitingCode is the person (and user) whose login awaits its second
// factor, to check /login/2fa.
const a11yAwaitingCode = "twofactor"

// axeVersion is the axe-core release .ci/run installs (AXE_CORE_VERSION
// there): results depend on the release, so the test refuses another.
const axeVersion = "4.14.1"

var axeHeader = regexp.MustCompile(`^/\*! axe v(\S+)`)

// axeSource is axe-core's axe.min.js, read from the path in AXE_JS. The
// check takes a while (about 20 s on a busy 2-core machine), so like the
// flood tests it runs only when asked, with E2E=1 (as in CI), when a missing
// AXE_JS fails as a missing browser does.
func axeSource(t *testing.T) string {
	t.Helper()
	hint := "npm install --no-save --prefix /tmp/axe axe-core@" + axeVersion +
		", then E2E=1 AXE_JS=/tmp/axe/node_modules/axe-core/axe.min.js go test ./handlers -run TestEveryPageIsAccessible (bash .ci/run does both)"
	path := os.Getenv("AXE_JS")
	switch {
	case os.Getenv("E2E") != "1":
		t.Skip("the accessibility check of every page runs with E2E=1 and axe-core: " + hint)
	case path == "":
		t.Fatal("E2E=1 but AXE_JS is not set: " + hint)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("AXE_JS: %v", err)
	}
	m := axeHeader.FindSubmatch(src)
	if m == nil || string(m[1]) != axeVersion {
		t.Fatalf("AXE_JS=%s is not axe-core %s (%q): %s", path, axeVersion, src[:min(len(src), 20)], hint)
	}
	return string(src)
}

// a11yPage is one page to check: a GET route (or another state of one), who
// looks at it and the HTTP status it must answer with.
type a11yPage struct {
	route  string // the GET route it covers, as the app registers it
	who    string // "" is a customer (logged out), else a user's role
	path   string
	status int
	// fill, when set, types these values (by element id) into the form
	// on path and submits it: the page checked is the answer.
	fill map[string]string
	// email is a stored or previewed email, shown under its own strict policy.
	email bool
}

// a11yData is what the pages show: every kind of record the app has, so
// that every part of every template is rendered.
type a11yData struct {
	paid, failed, cancelled, open *models.Link
	paidSession                   models.Session
	staff, twoFactor              *models.User
	outboxID                      uint
	webhookID                     uint // an endpoint with an attempt in its log
	// importPreview and importResult are the staff user's imports: one
	// waiting for confirmation, one confirmed.
	importPreview, importResult string
	apiKey                      *models.APIKey
}

// TestEveryPageIsAccessible runs axe-core in Chromium over every HTML page
// the app serves, at phone and desktop widths, and fails on any WCAG 2.1 A
// or AA violation.
func TestEveryPageIsAccessible(t *testing.T) {
	axe := axeSource(t)
	chrome := newChrome(t)
	h := newHarness(t, withBuiltInSandbox())
	d := a11yFixtures(t, h)
	pages := a11yPages(d)
	checkA11yCoverage(t, h, pages)

	// One tab per person, checking their pages side by side.
	byWho := map[string][]a11yPage{}
	for _, p := range pages {
		byWho[p.who] = append(byWho[p.who], p)
	}
	for who, pages := range byWho {
		name := who
		if who == "" {
			name = "customer"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tab := newTab(t, chrome)
			switch who {
			case "":
			case a11yAwaitingCode: // a password given, the code still to come
				run(t, tab, chromedp.Navigate(h.base+"/login"), chromedp.WaitVisible(chromedp.ID("email")),
					chromedp.SendKeys(chromedp.ID("email"), who+"@shop.cl"), chromedp.SendKeys(chromedp.ID("password"), testPassword),
					chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("code")))
			default:
				run(t, tab, loginSteps(h.base, who+"@shop.cl")...)
			}
			for _, p := range pages {
				checkPage(t, tab, h.base, axe, p)
			}
		})
	}
}

func (p a11yPage) name() string {
	name := p.path
	if p.who != "" {
		name += " as " + p.who
	}
	if p.fill != nil {
		name += " (form sent with errors)"
	}
	return name
}

// checkPage opens p in tab, injects axe and reports every violation at each width.
func checkPage(t *testing.T, tab context.Context, base, axe string, p a11yPage) {
	t.Helper()
	// An email's policy (CSP sandbox) stops every script in it, axe's too.
	// The policy allows its inline styles, so the page renders the same
	// with the policy bypassed.
	if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: p.email}); err != nil {
		t.Fatal(err)
	}
	status, err := a11yOpen(tab, base, p)
	if err != nil {
		t.Errorf("%s: %v", p.name(), err)
		return
	}
	if status != int64(p.status) {
		t.Errorf("%s answered %d, want %d", p.name(), status, p.status)
	}
	// axe skips what is hidden: open every <details> (raw notifications,
	// the chart's figures) so their contents are checked too.
	openDetails := `;document.querySelectorAll("details").forEach(d => { d.open = true }); true`
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](axe+"\n"+openDetails)); err != nil {
		t.Errorf("%s: inject axe: %v", p.name(), err)
		return
	}
	for _, w := range a11yWidths {
		opts := []chromedp.EmulateViewportOption{}
		if w.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		run(t, tab, chromedp.EmulateViewport(w.width, w.height, opts...))
		violations, err := runAxe(tab)
		if err != nil {
			t.Errorf("%s at %s: axe: %v", p.name(), w.name, err)
			return
		}
		for _, v := range violations {
			t.Errorf("%s at %s: %s", p.name(), w.name, v)
		}
	}
}

// a11yOpen loads p in tab (filling and sending its form when it has one)
// and returns the HTTP status of the document shown.
func a11yOpen(tab context.Context, base string, p a11yPage) (int64, error) {
	resp, err := chromedp.RunResponse(tab, chromedp.Navigate(base+p.path))
	if err != nil {
		return 0, err
	}
	if p.fill != nil {
		var steps []chromedp.Action[chromedp.Void]
		var field string // any of them: they are in the same form
		for id, value := range p.fill {
			steps = append(steps, chromedp.SetValue(chromedp.ID(id), value))
			field = id
		}
		steps = append(steps, chromedp.Submit(chromedp.ID(field)))
		if resp, err = chromedp.RunResponse(tab, steps...); err != nil {
			return 0, err
		}
	}
	return resp.Status, nil
}

// axeViolation is one broken rule on a page, as runAxe reports it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"`
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s — %d element(s): %s", v.ID, v.Impact, v.Help, v.Nodes, strings.Join(v.Targets, " | "))
}

// runAxe checks the page in tab (axe already injected) against axeTags.
func runAxe(tab context.Context) ([]axeViolation, error) {
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	js := `axe.run(document, {runOnly: {type: 'tag', values: ` + jsArray(axeTags) + `}, resultTypes: ['violations']})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.length,
			targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))`
	return chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](js, chromedp.EvalAwaitPromise))
}

func jsArray(ss []string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = jsString(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// a11yFixtures fills the app with one of everything: a user of each role,
// a link paid through the funnel (its notification signed, then repeated,
// then forged), one rejected in the funnel, one cancelled, one open with a
// queued email, and a live-mode payment for the go-live page.
func a11yFixtures(t *testing.T, h *harness) a11yData {
	t.Helper()
	ctx := context.Background()
	var d a11yData
	h.addUser("admin@shop.cl", models.RoleAdmin)
	d.staff = h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	// A user with two-step verification on: their login stops at /login/2fa.
	waiting := h.addUser(a11yAwaitingCode+"@shop.cl", models.RoleStaff)
	d.twoFactor = waiting
	if err := h.store.StartSecondFactor(context.Background(), waiting.ID, "sealed"); err != nil {
		t.Fatal(err)
	}
	if err := h.store.EnableSecondFactor(context.Background(), waiting.ID, "sealed", 1, nil, ""); err != nil {
		t.Fatal(err)
	}
	staff := h.browser()
	staff.login("staff@shop.cl")

	link := func(order, email string) *models.Link {
		page := createLinkWithEmail(t, staff, order, "$12.990", email, "Zapatillas talla 42")
		return linkAt(t, h, page)
	}
	d.paid = link("OC-1001", "cliente@correo.cl")
	back := payThroughFunnel(t, h.browser(), h.base+"/pay/"+d.paid.Code, "approve")
	d.paidSession = onlySessionOf(t, h, d.paid.ID)
	if d.paidSession.Status != models.StatusPaid {
		t.Fatalf("paid fixture is %s", d.paidSession.Status)
	}
	u, err := url.Parse(back)
	if err != nil {
		t.Fatal(err)
	}
	jwt := u.Query().Get("jwt")
	h.postNotification(notificationBody(jwt)) // a duplicate
	h.postNotification(notificationBody(signedNotification(t, d.paidSession.SessionToken, "OC-1001", "success", "not-the-key")))

	d.failed = link("OC-1002", "")
	payThroughFunnel(t, h.browser(), h.base+"/pay/"+d.failed.Code, "reject")

	d.cancelled = link("OC-1003", "")
	if r := staff.submit(linkPathOf(d.cancelled), linkPathOf(d.cancelled)+"/cancel", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("cancel fixture: %d", r.status)
	}
	d.open = link("OC-1004", "otra@correo.cl")

	h.paidLink("OC-LIVE-1", "live", 25000)
	rows, err := h.store.OutboxMessages(ctx, models.OutboxFilter{})
	if err != nil || len(rows) == 0 {
		t.Fatalf("outbox fixture: %d rows (%v)", len(rows), err)
	}
	d.outboxID = rows[0].ID
	d.webhookID = webhookFixture(t, h)
	d.importPreview, d.importResult = a11yImports(t, h, d.staff)
	if d.apiKey, _, err = h.store.CreateAPIKey(ctx, "Tienda web", models.APIScopeWrite, "sandbox", &d.staff.ID); err != nil {
		t.Fatal(err)
	}
	return d
}

func linkPathOf(l *models.Link) string { return "/admin/links/" + itoa(l.ID) }

func onlySessionOf(t *testing.T, h *harness, linkID uint) models.Session {
	t.Helper()
	s, err := h.store.SessionsForLink(context.Background(), linkID)
	if err != nil || len(s) != 1 {
		t.Fatalf("want one session of link %d, got %d (%v)", linkID, len(s), err)
	}
	return s[0]
}

// a11yPages lists every page to check. The staff pages are shared among the
// three roles (whose menus differ), which also evens out the tabs' work.
func a11yPages(d a11yData) []a11yPage {
	admin, staff, viewer := models.RoleAdmin, models.RoleStaff, models.RoleViewer
	pay := func(l *models.Link) string { return "/pay/" + l.Code }
	sess := "/admin/sessions/" + itoa(d.paidSession.ID)
	return []a11yPage{
		{route: "/login", path: "/login", status: http.StatusOK},
		{route: "/login", path: "/login", status: http.StatusUnauthorized, fill: map[string]string{"email": "nadie@shop.cl", "password": "no es la clave"}},
		{path: "/no-such-page", status: http.StatusNotFound},
		{route: "/pay/:code", path: pay(d.paid), status: http.StatusOK},
		{route: "/pay/:code", path: pay(d.cancelled), status: http.StatusGone},
		{route: "/sandbox/*", path: pay(d.open), status: http.StatusOK}, // redirected to the simulator's funnel
		{route: "/sandbox/*", path: "/sandbox/session/" + d.paidSession.SessionToken, status: http.StatusOK},
		{route: "/pay/:code/success", path: pay(d.paid) + "/success", status: http.StatusOK},
		{route: "/pay/:code/success", path: pay(d.open) + "/success", status: http.StatusOK},
		{route: "/pay/:code/error", path: pay(d.failed) + "/error", status: http.StatusOK},
		{route: "/pay/:code/error", path: pay(d.open) + "/error", status: http.StatusOK},

		{route: "/admin/overview", who: staff, path: "/admin/overview", status: http.StatusOK},
		{route: "/admin/sessions", who: staff, path: "/admin/sessions", status: http.StatusOK},
		{route: "/admin/links", who: staff, path: "/admin/links", status: http.StatusOK},
		{route: "/admin/links", who: viewer, path: "/admin/links?q=OC&status=paid", status: http.StatusOK},
		{route: "/admin/links", who: staff, path: "/admin/links?status=lost", status: http.StatusBadRequest},
		{route: "/admin/sessions", who: staff, path: "/admin/sessions?status=refunded&from=31-03-2026", status: http.StatusBadRequest},
		{route: "/admin/sessions/:id", who: admin, path: sess, status: http.StatusOK},
		{route: "/admin/sessions/:id", who: viewer, path: sess, status: http.StatusOK},
		{route: "/admin/links/new", who: staff, path: "/admin/links/new", status: http.StatusOK},
		{route: "/admin/links/new", who: staff, path: "/admin/links/new", status: http.StatusUnprocessableEntity,
			fill: map[string]string{"order_amount": "doce mil", "customer_email": "no-es-correo"}},
		{route: "/admin/links/:id", who: admin, path: linkPathOf(d.paid), status: http.StatusOK},
		{route: "/admin/links/:id", who: viewer, path: linkPathOf(d.paid), status: http.StatusOK},
		{route: "/admin/links/:id", who: staff, path: linkPathOf(d.open), status: http.StatusOK},
		{route: "/admin/links/:id", who: staff, path: linkPathOf(d.open), status: http.StatusUnprocessableEntity,
			fill: map[string]string{"expires_at": "1999-12-31T23:00"}},
		{route: "/admin/links/:id/email/preview", who: admin, path: linkPathOf(d.open) + "/email/preview", status: http.StatusOK, email: true},
		{route: "/admin/outbox", who: staff, path: "/admin/outbox", status: http.StatusOK},
		{route: "/admin/outbox/:id/html", who: admin, path: "/admin/outbox/" + itoa(d.outboxID) + "/html", status: http.StatusOK, email: true},
		{route: "/admin/account", who: viewer, path: "/admin/account", status: http.StatusOK},
		{route: "/admin/account", who: viewer, path: "/admin/account", status: http.StatusUnprocessableEntity,
			fill: map[string]string{"current_password": "no es la clave", "new_password": "corta"}},
		{route: "/admin/users", who: admin, path: "/admin/users", status: http.StatusOK},
		{route: "/admin/users/new", who: admin, path: "/admin/users/new", status: http.StatusOK},
		{route: "/admin/users/new", who: admin, path: "/admin/users/new", status: http.StatusUnprocessableEntity,
			fill: map[string]string{"email": "no-es-correo", "password": "corta"}},
		{route: "/admin/users/:id", who: admin, path: "/admin/users/" + itoa(d.staff.ID), status: http.StatusOK},
		{route: "/admin/audit", who: admin, path: "/admin/audit", status: http.StatusOK},
		{route: "/admin/golive", who: admin, path: "/admin/golive", status: http.StatusOK},
		{route: "/admin/system", who: admin, path: "/admin/system", status: http.StatusOK},
		{route: "/admin/shop", who: admin, path: "/admin/shop", status: http.StatusOK},
		{route: "/admin/links/:id/cancel", who: staff, path: linkPathOf(d.open) + "/cancel", status: http.StatusOK},
		{route: "/admin/links/import", who: staff, path: "/admin/links/import", status: http.StatusOK},
		{route: "/admin/links/import/:id", who: staff, path: d.importPreview, status: http.StatusOK},
		{route: "/admin/links/import/:id", who: staff, path: d.importResult, status: http.StatusOK},
		{route: "/admin/users/:id/disable", who: admin, path: "/admin/users/" + itoa(d.staff.ID) + "/disable", status: http.StatusOK},
		{route: "/admin/users/:id/password", who: admin, path: "/admin/users/" + itoa(d.staff.ID) + "/password", status: http.StatusOK},
		{route: "/admin/users/:id/2fa/reset", who: admin, path: "/admin/users/" + itoa(d.twoFactor.ID) + "/2fa/reset", status: http.StatusOK},
		{route: "/admin/account/2fa", who: viewer, path: "/admin/account/2fa", status: http.StatusOK},
		{route: "/login/2fa", who: a11yAwaitingCode, path: "/login/2fa", status: http.StatusOK},
		{route: "/admin/webhooks", who: admin, path: "/admin/webhooks", status: http.StatusOK},
		{route: "/admin/webhooks", who: admin, path: "/admin/webhooks", status: http.StatusUnprocessableEntity, fill: map[string]string{"url": "no es una url"}},
		{route: "/admin/webhooks/:id", who: admin, path: "/admin/webhooks/" + itoa(d.webhookID), status: http.StatusOK},
		{route: "/admin/webhooks/:id/delete", who: admin, path: "/admin/webhooks/" + itoa(d.webhookID) + "/delete", status: http.StatusOK},
		{who: admin, path: "/admin/no-such-page", status: http.StatusNotFound},

		{route: "/admin/api-keys", who: admin, path: "/admin/api-keys", status: http.StatusOK},
		{route: "/admin/api-keys", who: admin, path: "/admin/api-keys", status: http.StatusOK, fill: map[string]string{"name": "Planilla"}}, // shows the new key
		{route: "/admin/api-keys", who: admin, path: "/admin/api-keys", status: http.StatusUnprocessableEntity, fill: map[string]string{"name": " "}},
		{route: "/admin/api-keys/:id/revoke", who: admin, path: "/admin/api-keys/" + itoa(d.apiKey.ID) + "/revoke", status: http.StatusOK},
	}
}

// checkA11yCoverage fails unless every GET route is visited or skipped with
// a reason, and every route named is one the app registers.
func checkA11yCoverage(t *testing.T, h *harness, pages []a11yPage) {
	t.Helper()
	registered := map[string]bool{}
	for _, r := range h.app.GetRoutes(true) {
		if r.Method == http.MethodGet {
			registered[r.Path] = true
		}
	}
	covered := map[string]bool{}
	for _, p := range pages {
		if p.route != "" {
			covered[p.route] = true
		}
	}
	var routes []string
	for r := range registered {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		if !covered[r] && a11ySkipped[r] == "" {
			t.Errorf("GET %s is neither checked nor skipped: add its page to a11yPages (or to a11ySkipped, with the reason)", r)
		}
	}
	for r := range covered {
		if !registered[r] {
			t.Errorf("a11yPages covers GET %s, which the app does not register", r)
		}
	}
	for r := range a11ySkipped {
		if !registered[r] || covered[r] {
			t.Errorf("a11ySkipped names GET %s, which the app does not register or which is checked", r)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}
