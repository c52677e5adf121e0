package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"etpay-dashboard/models"
)

// phonePage is a page TestBrowserPhoneFirst opens at each of a11yWidths.
type phonePage struct {
	path string
	// cards, when set, selects the page's list table: at 360 px each of
	// its rows must be a card whose first fields are its status and amount
	// cells (class cell-status, cell-amount), when it has them.
	cards string
}

// phonePages are the pages checked for horizontal scrolling at 360 and
// 1366 px, and for cards on a phone. A new list page joins with one line
// here: {path: "/admin/example", cards: "<its table>"}.
func phonePages(d phoneData) []phonePage {
	return []phonePage{
		{path: "/admin/sessions", cards: "#sessions"},
		{path: "/admin/links", cards: "#links"},
		{path: "/admin/overview"},
		{path: "/admin/overview?mode=all"},
		{path: "/admin/outbox", cards: "table.outbox"},
		{path: "/admin/audit", cards: "table.audit"},
		{path: "/admin/users", cards: "table.users"},
		{path: "/admin/golive", cards: "table.golive"},
		{path: "/admin/system"},
		{path: "/admin/sessions/" + itoa(d.paid.ID)},
		{path: "/admin/links/" + itoa(d.paid.LinkID)},
		{path: "/admin/links/new"},
		{path: "/admin/account"},
		{path: "/admin/api-keys", cards: "table.api-keys"},
	}
}

// phoneData is what the pages show, made long where a value can be long.
type phoneData struct {
	admin string // the signed-in user's email
	paid  models.Session
}

// Values as long as the app accepts, to make a page overflow if anything can.
const (
	longOrder   = "OC-2026-11-30-SUCURSAL-PROVIDENCIA-REPOSICION-DE-STOCK-000123456" // 64, the most ETpay takes
	longEmail   = "administracion.finanzas.y.contabilidad@comercializadora-patagonia-sur.cl"
	bigAmount   = "$100.000.000" // MAX_ORDER_AMOUNT's default
	longComment = "Pedido mayorista: zapatillas de trekking impermeables talla 42, 43 y 44, colores surtidos, despacho a regiones con seguro incluido y factura a nombre de la empresa"
)

// phoneFixtures fills a live-mode app with sessions in every state and with
// long values: paid, failed and pending sessions through ETpay's funnel (so
// their tokens are of real length), a sandbox session beside them (tagged),
// rejected and conflicting notifications, queued emails to long addresses.
func phoneFixtures(t *testing.T, h *harness) phoneData {
	t.Helper()
	d := phoneData{admin: longEmail}
	h.addUser(longEmail, models.RoleAdmin)
	h.addUser("ventas@shop.cl", models.RoleStaff)
	h.addUser("contabilidad.externa@estudio-contable-asociados.cl", models.RoleViewer)
	staff := h.browser()
	staff.login(longEmail)
	link := func(n, email string) *models.Link {
		order := longOrder[:len(longOrder)-1] + n
		return linkAt(t, h, createLinkWithEmail(t, staff, order, bigAmount, email, longComment))
	}
	paid := link("1", "cliente.con.un.correo.bastante.largo@subdominio.empresa-de-ejemplo.cl")
	back := payThroughFunnel(t, h.browser(), h.base+"/pay/"+paid.Code, "approve")
	d.paid = onlySessionOf(t, h, paid.ID)
	jwt := back[strings.Index(back, "jwt=")+len("jwt="):]
	h.postNotification(notificationBody(jwt)) // a duplicate
	h.postNotification(notificationBody(signedNotification(t, d.paid.SessionToken, paid.MerchantOrderID, "success", "not-the-key")))
	h.postNotification(`{"payment":"hello"}`)

	failed := link("2", "")
	payThroughFunnel(t, h.browser(), h.base+"/pay/"+failed.Code, "reject")
	pending := link("3", longEmail)
	if r := h.browser().get("/pay/" + pending.Code); r.status != http.StatusSeeOther {
		t.Fatalf("open the pending link: %d", r.status)
	}
	_, conflicted := h.paidLink(longOrder[:len(longOrder)-1]+"4", "live", 99_999_999)
	h.recordResult(conflicted, "PT-late-"+strings.Repeat("x", 56), false)
	h.paidLink(longOrder[:len(longOrder)-1]+"5", "sandbox", 100_000_000)
	longKeyName := string([]rune(strings.Repeat("Integración tienda en línea ", 4))[:models.MaxAPIKeyName])
	h.apiKey(longKeyName, models.APIScopeWrite)
	revoked, _, err := h.store.CreateAPIKey(t.Context(), longKeyName, models.APIScopeRead, "live", nil)
	if err != nil || h.store.RevokeAPIKey(t.Context(), revoked.ID, 1) != nil {
		t.Fatalf("API key fixtures: %v", err)
	}
	return d
}

// TestBrowserPhoneFirst checks the pages at a phone's 360 px and a laptop's
// 1366 px: nothing scrolls sideways, list tables turn into cards on the
// phone, and the menu folds behind one button that opens it.
func TestBrowserPhoneFirst(t *testing.T) {
	chrome := newChrome(t)
	h := newHarness(t)
	d := phoneFixtures(t, h)
	tab := newTab(t, chrome)
	run(t, tab, loginSteps(h.base, d.admin)...)

	t.Run("no horizontal scroll", func(t *testing.T) {
		for _, p := range phonePages(d) {
			run(t, tab, chromedp.Navigate(h.base+p.path), chromedp.WaitVisible(chromedp.CSS("main")))
			for _, w := range a11yWidths {
				emulate(t, tab, w.width, w.height, w.mobile)
				for _, problem := range eval[[]string](t, tab, overflowJS) {
					t.Errorf("%s at %s: %s", p.path, w.name, problem)
				}
			}
		}
	})
	t.Run("cards on a phone", func(t *testing.T) {
		for _, p := range phonePages(d) {
			if p.cards == "" {
				continue
			}
			run(t, tab, chromedp.Navigate(h.base+p.path), chromedp.WaitVisible(chromedp.CSS("main")))
			emulate(t, tab, 360, 740, true)
			for _, problem := range eval[[]string](t, tab, `(`+cardsJS+`)(`+jsString(p.cards)+`)`) {
				t.Errorf("%s at 360px: %s", p.path, problem)
			}
			emulate(t, tab, 1366, 768, false)
			if !eval[bool](t, tab, `getComputedStyle(document.querySelector(`+jsString(p.cards+" tbody tr")+`)).display === "table-row"`) {
				t.Errorf("%s at 1366px: the rows of %s are not table rows", p.path, p.cards)
			}
		}
	})
	t.Run("tokens shortened, whole in their title", func(t *testing.T) {
		run(t, tab, chromedp.Navigate(h.base+"/admin/sessions"), chromedp.WaitVisible(chromedp.CSS("main")))
		emulate(t, tab, 1366, 768, false)
		clip := `document.querySelector("#session-` + itoa(d.paid.ID) + ` [data-field=payment_token] .clip")`
		if got := eval[string](t, tab, clip+`.title`); got != d.paid.PaymentToken || got == "" {
			t.Errorf("the token's title is %q, want %q", got, d.paid.PaymentToken)
		}
		if !eval[bool](t, tab, clip+`.scrollWidth > `+clip+`.clientWidth`) {
			t.Errorf("a %d-character token is shown whole at 1366px", len(d.paid.PaymentToken))
		}
	})
	t.Run("menu button", func(t *testing.T) { checkPhoneMenu(t, tab, h.base) })
	t.Run("menu without JavaScript", func(t *testing.T) {
		nojs := newTab(t, chrome)
		run(t, nojs, loginSteps(h.base, d.admin)...)
		if _, err := chromedp.Call(nojs, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		run(t, nojs, chromedp.Navigate(h.base+"/admin/sessions"), chromedp.WaitVisible(chromedp.CSS("main")))
		emulate(t, nojs, 360, 740, true)
		if !eval[bool](t, nojs, `document.querySelector(".menu-button").hidden`) {
			t.Fatal("nav.js ran: the check without JavaScript checks nothing")
		}
		if eval[bool](t, nojs, `isShown(document.querySelector(".menu-button"))`) {
			t.Error("without JavaScript the menu button shows (it cannot open anything)")
		}
		if hidden := eval[[]string](t, nojs, hiddenLinksJS); len(hidden) > 0 {
			t.Errorf("without JavaScript these menu links are hidden at 360px: %v", hidden)
		}
	})
}

// checkPhoneMenu opens and closes the menu at 360 px by click and by
// keyboard, and checks that at 1366 px the links show without a button.
func checkPhoneMenu(t *testing.T, tab context.Context, base string) {
	t.Helper()
	run(t, tab, chromedp.Navigate(base+"/admin/sessions"), chromedp.WaitVisible(chromedp.CSS("main")))
	emulate(t, tab, 360, 740, true)
	button := `document.querySelector("header .menu-button")`
	state := func() string {
		return eval[string](t, tab, `(b => isShown(b) ? b.getAttribute("aria-expanded") : "no visible menu button")(`+button+`)`)
	}
	if got := state(); got != "false" {
		t.Fatalf("at 360px the menu button is %q, want a visible one saying aria-expanded=false", got)
	}
	if !eval[bool](t, tab, `(b => b.tagName === "BUTTON" && document.getElementById(b.getAttribute("aria-controls")) !== null)(`+button+`)`) {
		t.Error("the menu button is not a <button> whose aria-controls names an element")
	}
	if n := len(eval[[]string](t, tab, hiddenLinksJS)); n == 0 {
		t.Error("at 360px the menu links show before the menu is opened")
	}
	run(t, tab, chromedp.Click(chromedp.CSS("header .menu-button")))
	if got := state(); got != "true" {
		t.Errorf("after a click the button says aria-expanded=%s", got)
	}
	if hidden := eval[[]string](t, tab, hiddenLinksJS); len(hidden) > 0 {
		t.Errorf("after a click these menu links are still hidden: %v", hidden)
	}
	for _, problem := range eval[[]string](t, tab, overflowJS) {
		t.Errorf("with the menu open at 360px: %s", problem)
	}
	run(t, tab, chromedp.KeyEvent(kb.Escape))
	if got := state(); got != "false" || !eval[bool](t, tab, `document.activeElement === `+button) {
		t.Errorf("Escape leaves the menu %s, the focus on %s", got, eval[string](t, tab, `document.activeElement.outerHTML.slice(0, 60)`))
	}
	run(t, tab, chromedp.Focus(chromedp.CSS("header .menu-button")), chromedp.KeyEvent(kb.Enter))
	if got := state(); got != "true" || len(eval[[]string](t, tab, hiddenLinksJS)) > 0 {
		t.Errorf("Enter on the focused button leaves the menu aria-expanded=%s, some links hidden", got)
	}
	emulate(t, tab, 1366, 768, false)
	if eval[bool](t, tab, `isShown(`+button+`)`) {
		t.Error("at 1366px the menu button shows")
	}
	if hidden := eval[[]string](t, tab, hiddenLinksJS); len(hidden) > 0 {
		t.Errorf("at 1366px these menu links are hidden: %v", hidden)
	}
}

// emulate sets the viewport and defines isShown, which the checks share.
func emulate(t *testing.T, tab context.Context, width, height int64, mobile bool) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	run(t, tab, chromedp.EmulateViewport(width, height, opts...))
	eval[bool](t, tab, `window.isShown = el => { if (!el) return false; const r = el.getBoundingClientRect();
		return r.width > 1 && r.height > 1 && getComputedStyle(el).visibility !== "hidden"; }; true`)
}

// hiddenLinksJS lists the top bar's links and log-out button that do not show.
const hiddenLinksJS = `[...document.querySelectorAll("header nav a, header .logout button")]
	.filter(el => !isShown(el)).map(el => el.textContent.trim())`

// overflowJS lists what scrolls sideways: the page, or any element whose
// content is wider than its box and whose overflow is not visible (a scroll
// box, or content cut off). Exempt are text shortened on purpose with an
// ellipsis, boxes of 1 px kept for screen readers, and text fields (whose
// value may be longer than the field). Every <details> is opened first.
const overflowJS = `(() => {
	document.querySelectorAll("details").forEach(d => { d.open = true });
	const out = [];
	const page = document.documentElement;
	const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
		(el.classList.length ? "." + [...el.classList].join(".") : "");
	if (page.scrollWidth > page.clientWidth) {
		// Name the innermost elements that stick out on the right.
		const out_ = el => el.getBoundingClientRect().right > page.clientWidth + 1;
		const culprits = [...document.body.querySelectorAll("*")].filter(el => out_(el) && ![...el.children].some(out_));
		out.push("the page scrolls: scrollWidth " + page.scrollWidth + " > clientWidth " + page.clientWidth +
			"; sticking out: " + culprits.slice(0, 4).map(el => (el.parentElement ? name(el.parentElement) + " > " : "") + name(el)).join(", "));
	}
	for (const el of document.body.querySelectorAll("*")) {
		if (el.scrollWidth <= el.clientWidth + 1 || el.tagName === "INPUT") continue;
		const cs = getComputedStyle(el);
		if (cs.overflowX === "visible") continue;
		if (cs.textOverflow === "ellipsis" && cs.whiteSpace === "nowrap") continue;
		if (el.clientWidth <= 1 && el.clientHeight <= 1) continue;
		const where = el.parentElement ? name(el.parentElement) + " > " : "";
		out.push(where + name(el) + " scrolls sideways: scrollWidth " + el.scrollWidth + " > clientWidth " + el.clientWidth + " (overflow-x " + cs.overflowX + ")");
	}
	return out;
})()`

// cardsJS checks that every row of the table sel is a card: not a table
// row, its header row hidden, its status and amount cells (when it has them)
// its first fields on screen, and every field but these and its title
// (class cell-title) labelled by the data-label its ::before shows.
const cardsJS = `sel => {
	const table = document.querySelector(sel);
	if (!table) return ["no " + sel + " on the page"];
	const out = [];
	const rows = [...table.querySelectorAll("tbody tr")];
	if (rows.length < 2) out.push(sel + " has " + rows.length + " rows: too few to check");
	if (table.tHead && isShown(table.tHead)) out.push("the header row shows");
	const sameLine = (a, b) => a.top < b.bottom && b.top < a.bottom;
	for (const [i, tr] of rows.entries()) {
		const row = tr.id || "row " + (i + 1);
		if (getComputedStyle(tr).display === "table-row") { out.push(row + " is a table row, not a card"); continue; }
		const cells = [...tr.cells].filter(isShown).map(td => ({td, r: td.getBoundingClientRect()}))
			.sort((a, b) => sameLine(a.r, b.r) ? a.r.left - b.r.left : a.r.top - b.r.top).map(c => c.td);
		const lead = ["cell-status", "cell-amount"].filter(c => tr.querySelector("td." + c));
		lead.forEach((c, k) => {
			if (!cells[k] || !cells[k].classList.contains(c)) {
				out.push(row + ": field " + (k + 1) + " is " + (cells[k] ? cells[k].dataset.label || cells[k].className : "missing") + ", want " + c);
			}
		});
		for (const td of cells.slice(lead.length).filter(td => !td.classList.contains("cell-title"))) {
			const label = td.dataset.label;
			if (label === undefined) { out.push(row + ": a cell has no data-label: " + td.textContent.trim()); continue; }
			if (getComputedStyle(td, "::before").content !== JSON.stringify(label)) out.push(row + ": " + label + " shows no label");
		}
	}
	return out;
}`
