package handlers_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"etpay-dashboard/models"
)

// newChrome starts Debian's headless Chromium for a browser test. Without it
// the test skips with how to install it — unless E2E=1 (as in CI), when a
// missing browser is a failure.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("E2E") == "1" {
			t.Fatal("E2E=1 but no chromium on PATH: apt-get install chromium")
		}
		t.Skip("browser tests need Chromium: apt-get install chromium (or run with E2E=1 to require it)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// The machine has no outside network: keep Chromium from trying.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newTab opens a tab in its own browser context: its own cookies, like another person.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return ctx
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// loginSteps fill in and submit the login form like a person.
func loginSteps(base, email string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("header.topbar")),
	}
}

func TestBrowserPaymentTurnsRowPaidLive(t *testing.T) {
	chrome := newChrome(t)
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)

	staff := newTab(t, chrome)
	run(t, staff, loginSteps(h.base, "staff@shop.cl")...)
	// Make a link through the form.
	run(t, staff,
		chromedp.Navigate(h.base+"/admin/links/new"),
		chromedp.WaitVisible(chromedp.ID("merchant_order_id")),
		chromedp.SendKeys(chromedp.ID("merchant_order_id"), "OC-700104"),
		chromedp.SendKeys(chromedp.ID("order_amount"), "$12.990"),
		chromedp.SendKeys(chromedp.ID("customer_email"), "cliente@correo.cl"),
		chromedp.Submit(chromedp.ID("merchant_order_id")),
		chromedp.WaitVisible(chromedp.ID("link-url")),
	)
	payURL, err := chromedp.Run(staff, chromedp.Value(chromedp.ID("link-url")))
	if err != nil || !strings.HasPrefix(payURL, h.base+"/pay/") {
		t.Fatalf("link URL %q (%v)", payURL, err)
	}
	// Open the live table and mark the page, to prove later that it never reloaded.
	run(t, staff,
		chromedp.Navigate(h.base+"/admin/sessions"),
		chromedp.WaitVisible(chromedp.CSS("[data-live-sessions]")),
	)
	eval[bool](t, staff, `window.notReloaded = true`)
	shoot(t, staff, "sessions-empty")

	// The customer opens the link and lands in the sandbox funnel.
	customer := newTab(t, chrome)
	run(t, customer,
		chromedp.Navigate(payURL),
		chromedp.WaitVisible(chromedp.ID("approve")),
	)
	// The staff table shows the new pending row without a reload.
	waitFor(t, staff, `(document.querySelector('tr[id^="session-"] [data-field="status"]')||{}).textContent`, "pendiente")

	run(t, customer,
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.CSS(".state-paid")),
	)
	confirmed, _ := chromedp.Run(customer, chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(confirmed, "Pago confirmado") || !strings.Contains(confirmed, "$12.990") {
		t.Fatalf("customer's return page says:\n%s", confirmed)
	}

	sess := onlySession(t, h)
	if sess.Status != models.StatusPaid {
		t.Fatalf("session is %s", sess.Status)
	}
	row := `document.getElementById("session-` + itoa(sess.ID) + `")`
	waitFor(t, staff, row+`.querySelector('[data-field="status"]').textContent.trim()`, "pagada")
	waitFor(t, staff, row+`.querySelector('[data-field="payment_token"]').textContent.trim()`, sess.PaymentToken)
	if !eval[bool](t, staff, `window.notReloaded === true`) {
		t.Fatal("the sessions page reloaded instead of updating in place")
	}
	shoot(t, staff, "sessions")
	run(t, staff, chromedp.Navigate(h.base+"/admin/links/"+itoa(sess.LinkID)), chromedp.WaitVisible(chromedp.CSS("main")))
	shoot(t, staff, "link-timeline")
	run(t, staff, chromedp.Navigate(h.base+"/admin/sessions/"+itoa(sess.ID)), chromedp.WaitVisible(chromedp.CSS("main")))
	shoot(t, staff, "session-detail")
	run(t, staff, chromedp.Navigate(h.base+"/admin/overview"), chromedp.WaitVisible(chromedp.CSS("main")))
	shoot(t, staff, "overview")
}

func TestBrowserViewerCannotCreateLinks(t *testing.T) {
	chrome := newChrome(t)
	h := newHarness(t)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	viewer := newTab(t, chrome)
	run(t, viewer, loginSteps(h.base, "viewer@shop.cl")...)
	run(t, viewer, chromedp.Navigate(h.base+"/admin/sessions"), chromedp.WaitVisible(chromedp.CSS("main")))
	if eval[bool](t, viewer, `document.querySelector('a[href="/admin/links/new"]') !== null`) {
		t.Fatal("a viewer sees the new-link button")
	}
	// Posting anyway, with a valid CSRF token from the page, is refused.
	status := eval[int](t, viewer, `fetch("/admin/links/new", {method: "POST", credentials: "same-origin",
		headers: {"Content-Type": "application/x-www-form-urlencoded"},
		body: new URLSearchParams({csrf: document.querySelector('input[name="csrf"]').value,
			merchant_order_id: "OC-1", order_amount: "1000"})}).then(r => r.status)`)
	if status != 403 {
		t.Fatalf("viewer's POST answered %d, want 403", status)
	}
	if _, err := h.store.LinkByID(context.Background(), 1); err != models.ErrNotFound {
		t.Fatalf("the viewer's POST made a link (%v)", err)
	}
}

func TestBrowserReturnPageShowsTheOutcomeInPlace(t *testing.T) {
	chrome := newChrome(t)
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	payURL := staff.createLink("OC-700105", "$8.500")
	h.browser().get(payURL) // starts a session; the notification has not come yet
	sess := onlySession(t, h)

	customer := newTab(t, chrome)
	run(t, customer, chromedp.Navigate(payURL+"/success"), chromedp.WaitVisible(chromedp.CSS(`[data-pay-state="pending"]`)))
	if eval[bool](t, customer, `document.querySelector('meta[http-equiv="refresh"]') !== null`) {
		t.Fatal("the confirming page reloads itself with <meta refresh>")
	}
	eval[bool](t, customer, `window.notReloaded = true; window.statusLine = document.querySelector('[role="status"]'); true`)

	key, err := h.store.SigningKey(context.Background(), sess.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if r := h.postNotification(notificationBody(signedNotification(t, sess.SessionToken, "OC-700105", "success", key))); r.status != http.StatusOK {
		t.Fatalf("notification: %d", r.status)
	}
	waitFor(t, customer, `document.querySelector('[role="status"]').textContent`, "Pago confirmado. ¡Gracias!")
	waitFor(t, customer, `document.querySelector("h1").textContent`, "Pago confirmado")
	if !eval[bool](t, customer, `window.notReloaded === true && window.statusLine === document.querySelector('[role="status"]')`) {
		t.Fatal("the page reloaded, or replaced its live region, instead of updating it")
	}
	if eval[bool](t, customer, `document.querySelector(".pay-action") !== null`) {
		t.Error("the check-again button stays after the outcome is known")
	}
}

// waitFor polls a JavaScript expression until it equals want.
func waitFor(t *testing.T, ctx context.Context, expr, want string) {
	t.Helper()
	js := `(() => { try { return String(` + expr + `).trim() === ` + jsString(want) + `; } catch (e) { return false; } })()`
	deadline := time.Now().Add(15 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		// A poll dies with its page when a form submit navigates away
		// ("Cannot find context"): start another on the new page.
		if _, err = chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(time.Until(deadline)))); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { try { return String(`+expr+`); } catch (e) { return String(e); } })()`))
	t.Fatalf("waiting for %s == %q: %v (it is %q)", expr, want, err, got)
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// shoot saves the page at a phone's (360 px) and a laptop's (1366 px) width
// when SCREENSHOTS_DIR is set, then puts the laptop's width back.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, size := range []struct {
		suffix        string
		width, height int64
		mobile        bool
	}{{"desktop", 1366, 768, false}, {"phone", 360, 740, true}} {
		opts := []chromedp.EmulateViewportOption{}
		if size.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		run(t, ctx, chromedp.EmulateViewport(size.width, size.height, opts...), chromedp.Sleep(150*time.Millisecond))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+size.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, chromedp.EmulateViewport(1366, 768))
}
