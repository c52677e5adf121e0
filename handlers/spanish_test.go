package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"etpay-dashboard/models"
)

// englishWords must not show in a Spanish page's visible text: the raw
// values of statuses, verdicts, modes and audit details that once leaked
// through, and the words the code used to build visible text with
// ("replay by …", "1 -> duplicate", "x: disabled"). Matched as whole words,
// in any case.
var englishWords = []string{
	"live", "replay", "replayed", "duplicate", "verified", "rejected", "pending", "paid", "failed",
	"cancelled", "queued", "sent", "withdrawn", "none", "by", "disabled", "enabled", "role", "reset",
	"recorded", "unavailable", "failures", "addresses", "refused", "left", "code", "on", "off",
	"login", "sessions", "notifications", "mode", "xlsx", "shop",
}

// goDuration is a duration as Go prints it (48h0m0s): pages say "2 días".
var goDuration = regexp.MustCompile(`\b\d+h\d+m\d+s\b|\b\d+m\d+s\b`)

// dataInText is what the test itself typed or the system made up (emails,
// URLs, order ids): data, not words of the page.
var dataInText = regexp.MustCompile(`[\w.+-]+@[\w.-]+|https?://\S+|\bOC-[\w-]+`)

// visibleText is what a reader of page sees or hears: text, and the alt,
// title, aria-label and placeholder attributes. Raw values are exempt: an
// element of class "mono" (payment_token, payment_status, session_token,
// a raw audit detail, an email's Message-ID or an SMTP answer, all shown as
// stored), and <pre>, <code>, <script> and <style>.
func visibleText(t *testing.T, page string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if slices.Contains([]string{"script", "style", "pre", "code"}, n.Data) {
				return
			}
			for _, a := range n.Attr {
				if a.Key == "class" && slices.Contains(strings.Fields(a.Val), "mono") {
					return
				}
				if slices.Contains([]string{"alt", "title", "aria-label", "placeholder"}, a.Key) {
					b.WriteString(" " + a.Val + " ")
				}
			}
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode {
			b.WriteString(" ")
		}
	}
	walk(doc)
	return strings.Join(strings.Fields(b.String()), " ")
}

// englishIn lists the English words and Go durations in a visible text.
func englishIn(text string) []string {
	text = dataInText.ReplaceAllString(text, " ")
	var found []string
	for _, w := range englishWords {
		if regexp.MustCompile(`(?i)(^|[^\pL\d_])` + w + `($|[^\pL\d_])`).MatchString(text) {
			found = append(found, w)
		}
	}
	return append(found, goDuration.FindAllString(text, -1)...)
}

// TestSpanishPagesSpeakSpanish renders the main pages in Spanish over data
// of every kind (paid, rejected, cancelled by the customer, failed for a
// reason ETpay did not name, a replay, a check with ETpay, a cancelled link,
// queued emails, user changes, an export, the shop's settings) and fails on
// any English word of englishWords left in their visible text.
func TestSpanishPagesSpeakSpanish(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	h.browser().loginWith("ghost@shop.cl", "not the password")

	paid := linkOf(t, h, admin.createLink("OC-ES-1", "12990"))
	payThroughFunnel(t, h.browser(), admin.payURL(paid), "approve")
	rejected := linkOf(t, h, admin.createLink("OC-ES-2", "5000"))
	payThroughFunnel(t, h.browser(), admin.payURL(rejected), "reject")
	cancelled := linkOf(t, h, admin.createLink("OC-ES-3", "7000"))
	payThroughFunnel(t, h.browser(), admin.payURL(cancelled), "cancel")
	odd, key := h.pendingSession("OC-ES-4")
	if r := h.postNotification(notificationBody(signedNotification(t, odd.SessionToken, "OC-ES-4", "expired_by_bank", key))); r.status != http.StatusOK {
		t.Fatalf("notification with an unknown status: %d", r.status)
	}
	waiting, _ := h.pendingSession("OC-ES-5")
	admin.submit("/admin/sessions/"+itoa(waiting.ID), "/admin/sessions/"+itoa(waiting.ID)+"/check", url.Values{})

	paidSession := h.sessionsOf(paid.ID)[0]
	first := h.notifications(paidSession.ID)[0]
	if r := admin.submit("/admin/sessions/"+itoa(paidSession.ID), "/admin/notifications/"+itoa(first.ID)+"/replay", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("replay: %d", r.status)
	}

	r := admin.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {"OC-ES-6"}, "order_amount": {"3000"},
		"customer_email": {"ana@cliente.cl"}, "expires_at": {"2030-12-31T18:00"}})
	closed := r.header.Get("Location")
	admin.submit(closed+"/cancel", closed+"/cancel", url.Values{})

	staff := h.addUser("staff@shop.cl", models.RoleStaff)
	admin.submit(userPath(staff, ""), userPath(staff, "/role"), url.Values{"role": {"viewer"}})
	admin.submit(userPath(staff, "/password"), userPath(staff, "/password"), url.Values{"password": {"a brand new passphrase"}})
	admin.submit(userPath(staff, "/disable"), userPath(staff, "/disable"), url.Values{})
	admin.submit("/admin/users/new", "/admin/users/new", url.Values{"email": {"nuevo@shop.cl"}, "role": {"staff"}, "password": {testPassword}})
	admin.submit("/admin/account", "/admin/account/alerts", url.Values{"alerts": {"on"}})
	admin.get("/admin/sessions.csv?status=failed")
	admin.submit("/admin/shop", "/admin/shop", url.Values{"merchant_name": {"Tienda Ñuñoa"}, "reply_to": {"hola@tienda.cl"}})
	adminUser, _ := h.store.UserByEmail(ctx, "admin@shop.cl")

	pages := []string{
		"/admin/sessions", "/admin/sessions?status=failed",
		"/admin/sessions/" + itoa(paidSession.ID),
		"/admin/sessions/" + itoa(h.sessionsOf(rejected.ID)[0].ID),
		"/admin/sessions/" + itoa(h.sessionsOf(cancelled.ID)[0].ID),
		"/admin/sessions/" + itoa(odd.ID), "/admin/sessions/" + itoa(waiting.ID),
		"/admin/links/" + itoa(paid.ID), "/admin/links/" + itoa(cancelled.ID), "/admin/links/" + itoa(odd.LinkID), closed,
		"/admin/overview", "/admin/overview?mode=all", "/admin/outbox",
		"/admin/users", userPath(staff, ""), userPath(adminUser, ""), "/admin/account", "/admin/audit", "/admin/shop",
		"/admin/links/" + itoa(rejected.ID) + "/cancel", userPath(staff, "/password"),
	}
	for _, path := range pages {
		page := admin.get(path)
		if page.status != http.StatusOK {
			t.Errorf("GET %s: %d", path, page.status)
			continue
		}
		if found := englishIn(visibleText(t, page.body)); len(found) > 0 {
			t.Errorf("%s shows English in Spanish: %q\n%s", path, found, visibleText(t, page.body))
		}
	}
	customer := h.browser()
	for _, l := range []*models.Link{paid, rejected, cancelled} {
		for _, path := range []string{"/pay/" + l.Code, "/pay/" + l.Code + "/success", "/pay/" + l.Code + "/error"} {
			page := customer.get(path)
			if found := englishIn(visibleText(t, page.body)); len(found) > 0 {
				t.Errorf("%s shows English in Spanish: %q\n%s", path, found, visibleText(t, page.body))
			}
		}
	}
}

// TestVisibleTextSkipsRawValues checks the test's own reader: raw values in
// class "mono" are exempt, attributes people hear are not.
func TestVisibleTextSkipsRawValues(t *testing.T) {
	page := `<html><head><title>Sesión</title><script>var paid = 1</script></head><body>
		<p>Estado <span class="badge">pagada</span> <dd class="mono">cancelled</dd></p>
		<img alt="failed"><pre>{"payment_status":"rejected"}</pre><p>hasta 48h0m0s · por ana@shop.cl</p></body></html>`
	got := englishIn(visibleText(t, page))
	if !slices.Equal(got, []string{"failed", "48h0m0s"}) {
		t.Errorf("found %q in %q", got, visibleText(t, page))
	}
}

// payURL is the customer's link of l.
func (b *browser) payURL(l *models.Link) string {
	return b.h.base + "/pay/" + l.Code
}

// TestStatusFilterOptionsAreCapitalised: the sessions filter's statuses read
// as choices ("Pagada"), not as the lower-case badges of the table.
func TestStatusFilterOptionsAreCapitalised(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	page := h.loggedIn("viewer@shop.cl", models.RoleViewer).get("/admin/sessions").body
	start := strings.Index(page, `<select id="status"`)
	if start < 0 {
		t.Fatalf("no status filter:\n%s", page)
	}
	sel := page[start : start+strings.Index(page[start:], "</select>")]
	var got []string
	for _, m := range regexp.MustCompile(`<option value="[a-z]*"[^>]*>([^<]*)</option>`).FindAllStringSubmatch(sel, -1) {
		got = append(got, m[1])
	}
	if want := []string{"Todos", "Pendiente", "Pagada", "Fallida"}; !slices.Equal(got, want) {
		t.Errorf("status options %q, want %q", got, want)
	}
}
