package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
)

var (
	linkRowRe = regexp.MustCompile(`(?s)<tr id="link-\d+"[^>]*>(.*?)</tr>`)
	cellRe    = regexp.MustCompile(`(?s)<td[^>]*data-field="([a-z_]+)"[^>]*>(.*?)</td>`)
	tagRe     = regexp.MustCompile(`<[^>]+>`)
	prevLink  = regexp.MustCompile(`<a href="([^"]+)" rel="prev">`)
	countLine = regexp.MustCompile(`<p class="muted" id="list-count">([^<]*)</p>`)
)

// linkTable reads the links list: its order ids top to bottom, and each
// row's cells as text by field.
func linkTable(page string) ([]string, map[string]map[string]string) {
	var order []string
	rows := map[string]map[string]string{}
	for _, m := range linkRowRe.FindAllStringSubmatch(page, -1) {
		cells := map[string]string{}
		for _, c := range cellRe.FindAllStringSubmatch(m[1], -1) {
			cells[c[1]] = strings.TrimSpace(html.UnescapeString(tagRe.ReplaceAllString(c[2], "")))
		}
		id := strings.TrimSuffix(cells["merchant_order_id"], " sandbox")
		order = append(order, id)
		rows[id] = cells
	}
	return order, rows
}

func linkOrders(page string) []string {
	o, _ := linkTable(page)
	return o
}

func listCount(page string) string {
	if m := countLine.FindStringSubmatch(page); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// TestLinksListShowsEveryLink: every column of the list, as staff and as a
// viewer, with its filters and sorts.
func TestLinksListShowsEveryLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("vendedora@shop.cl", models.RoleStaff)
	viewer := h.loggedIn("mira@shop.cl", models.RoleViewer)
	ctx := context.Background()

	r := staff.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {"PED-2001"}, "order_amount": {"12.990"},
		"customer_email": {"Cliente.Uno@Gmail.com"}, "description": {"Zapatillas rojas"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("new link: %d", r.status)
	}
	first := r.header.Get("Location")
	payPage := staff.get(first).body
	payURL := regexp.MustCompile(`id="link-url"[^>]*value="([^"]+)"`).FindStringSubmatch(payPage)[1]
	if r := h.browser().get(payURL); r.status != http.StatusSeeOther { // the customer opens it
		t.Fatalf("opening the link: %d", r.status)
	}
	if _, err := h.store.CreateLink(ctx, models.LinkInput{MerchantOrderID: "PED-2002", Amount: 5000, Mode: "live"}); err != nil {
		t.Fatal(err)
	}
	h.paidLink("OC-PAGADO", "live", 20000)
	r = staff.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {"OC-CANCEL"}, "order_amount": {"1000"}, "customer_email": {"b@shop.cl"}})
	cancelled := r.header.Get("Location")
	if r := staff.submit(cancelled, cancelled+"/cancel", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.status)
	}
	past := time.Now().Add(-time.Hour)
	if _, err := h.store.CreateLink(ctx, models.LinkInput{MerchantOrderID: "OC-VENCIDO", Amount: 3000, Mode: "live", ExpiresAt: &past}); err != nil {
		t.Fatal(err)
	}

	page := staff.get("/admin/links")
	if page.status != http.StatusOK {
		t.Fatalf("/admin/links: %d", page.status)
	}
	order, rows := linkTable(page.body)
	if !slices.Equal(order, []string{"OC-VENCIDO", "OC-CANCEL", "OC-PAGADO", "PED-2002", "PED-2001"}) {
		t.Fatalf("rows %v, want newest first", order)
	}
	want := map[string]string{
		"PED-2001":   "$12.990 | Cliente.Uno@Gmail.com | abierto | vendedora@shop.cl | opened | en cola",
		"PED-2002":   "$5.000 | — | abierto | línea de comandos | — | sin correo",
		"OC-PAGADO":  "$20.000 | — | pagado | línea de comandos | — | sin correo",
		"OC-CANCEL":  "$1.000 | b@shop.cl | cancelado | vendedora@shop.cl | — | retirado",
		"OC-VENCIDO": "$3.000 | — | vencido | línea de comandos | — | sin correo",
	}
	for o, w := range want {
		c := rows[o]
		opened := c["last_opened_at"]
		if opened != "—" {
			opened = "opened"
		}
		got := strings.Join([]string{c["amount"], c["customer_email"], c["status"], c["created_by"], opened, c["email_status"]}, " | ")
		if got != w {
			t.Errorf("%s: %s\n want %s", o, got, w)
		}
		if c["created_at"] == "" || c["created_at"] == "—" {
			t.Errorf("%s has no creation time", o)
		}
	}
	if !strings.Contains(page.body, `<a href="`+first+`">PED-2001</a>`) {
		t.Error("the order does not link to its link page")
	}
	if got := listCount(page.body); got != "Links: 5" {
		t.Errorf("count %q, want Links: 5", got)
	}

	// A viewer sees emails masked and cannot search parts of them.
	vpage := viewer.get("/admin/links")
	if _, vrows := linkTable(vpage.body); vrows["PED-2001"]["customer_email"] != "C•••@Gmail.com" || strings.Contains(vpage.body, "Cliente.Uno") {
		t.Errorf("viewer sees %q", vrows["PED-2001"]["customer_email"])
	}
	for q, want := range map[string][]string{"gmail.com": nil, "cliente": nil, "cl": nil, "PED-2001": {"PED-2001"}, "ped-2001": nil} {
		if got := linkOrders(viewer.get("/admin/links?q=" + url.QueryEscape(q)).body); !slices.Equal(got, want) {
			t.Errorf("viewer q=%s: %v, want %v", q, got, want)
		}
	}

	for _, tt := range []struct{ query, want string }{
		{"status=open", "PED-2002 PED-2001"},
		{"status=expired", "OC-VENCIDO"},
		{"status=paid", "OC-PAGADO"},
		{"status=cancelled", "OC-CANCEL"},
		{"q=ped-20", "PED-2002 PED-2001"},
		{"q=GMAIL", "PED-2001"},
		{"q=rojas", "PED-2001"},
		{"q=%2412.990", "PED-2001"},
		{"q=PT-OC-PAGADO", "OC-PAGADO"},
		{"mode=sandbox", ""},
		{"sort=amount", "OC-PAGADO PED-2001 PED-2002 OC-VENCIDO OC-CANCEL"},
		{"sort=amount_asc&status=open", "PED-2002 PED-2001"},
		{"sort=date_asc", "PED-2001 PED-2002 OC-PAGADO OC-CANCEL OC-VENCIDO"},
		{"from=" + santiagoDay(0) + "&to=" + santiagoDay(0), "OC-VENCIDO OC-CANCEL OC-PAGADO PED-2002 PED-2001"},
		{"to=" + santiagoDay(-1), ""},
	} {
		r := staff.get("/admin/links?" + tt.query)
		if got := strings.Join(linkOrders(r.body), " "); r.status != http.StatusOK || got != tt.want {
			t.Errorf("%s: %d %q, want %q", tt.query, r.status, got, tt.want)
		}
		if n := len(strings.Fields(tt.want)); listCount(r.body) != fmt.Sprintf("Links: %d", n) {
			t.Errorf("%s: count %q, want %d", tt.query, listCount(r.body), n)
		}
		if tt.want == "" && !strings.Contains(r.body, `id="links-no-match"`) {
			t.Errorf("%s: no 'nothing matches' state", tt.query)
		}
	}
	for _, bad := range []string{"status=pending", "after=abc", "before=1_0", "after=1_1&before=1_1", "sort=price"} {
		if r := staff.get("/admin/links?" + bad); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Revisa los filtros marcados") {
			t.Errorf("%s: %d, want 400 with a message", bad, r.status)
		}
	}
}

// pagesBothWays walks a list of more than one page forward with "Siguiente",
// then back with "Anterior", and checks the pages agree and cover the list.
func pagesBothWays(t *testing.T, b *browser, path string, read func(string) []string) []string {
	t.Helper()
	first := b.get(path)
	page1 := read(first.body)
	if len(page1) != 50 || prevLink.MatchString(first.body) {
		t.Fatalf("%s: first page has %d rows (want 50) or a previous link", path, len(page1))
	}
	m := nextLink.FindStringSubmatch(first.body)
	if m == nil {
		t.Fatalf("%s: no next link", path)
	}
	second := b.get(html.UnescapeString(m[1]))
	page2 := read(second.body)
	if len(page2) == 0 || nextLink.MatchString(second.body) {
		t.Fatalf("%s: second page %v, or a next link past the end", path, page2)
	}
	m = prevLink.FindStringSubmatch(second.body)
	if m == nil {
		t.Fatalf("%s: the second page has no previous link", path)
	}
	prev := html.UnescapeString(m[1])
	if u, _ := url.Parse(prev); !regexp.MustCompile(`^\d+_\d+$`).MatchString(u.Query().Get("before")) || u.Query().Get("after") != "" {
		t.Fatalf("previous link %s has no before= cursor", prev)
	}
	back := b.get(prev)
	if got := read(back.body); !slices.Equal(got, page1) {
		t.Fatalf("%s: back from page 2 shows %v, want page 1 %v", path, got, page1)
	}
	if prevLink.MatchString(back.body) || !nextLink.MatchString(back.body) {
		t.Errorf("%s: back on page 1, previous and next links are wrong", path)
	}
	all := append(slices.Clone(page1), page2...)
	seen := map[string]bool{}
	for _, o := range all {
		if seen[o] {
			t.Fatalf("%s: %s on two pages", path, o)
		}
		seen[o] = true
	}
	return all
}

func TestListsPageBothWays(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	const n = 53
	for i := range n {
		h.listSession(fmt.Sprintf("OC-%02d", i), "live", "", models.StatusPending, int64(1000*(i%4+1)))
	}
	for _, path := range []string{"/admin/links", "/admin/links?sort=amount", "/admin/links?sort=amount_asc&q=oc-"} {
		if got := pagesBothWays(t, b, path, linkOrders); len(got) != n {
			t.Errorf("%s: %d links over two pages, want %d", path, len(got), n)
		}
	}
	for _, path := range []string{"/admin/sessions", "/admin/sessions?sort=amount_asc&q=oc-", "/admin/sessions?sort=date_asc&mode=live"} {
		if got := pagesBothWays(t, b, path, tableOrders); len(got) != n {
			t.Errorf("%s: %d sessions over two pages, want %d", path, len(got), n)
		}
	}
}

// searchSession makes a link with a description and its session, paid,
// failed or pending, with payment token PT-<order> once it has a result.
func (h *harness) searchSession(order, email, description, status string, amount int64) *models.Session {
	h.t.Helper()
	ctx := context.Background()
	link, err := h.store.CreateLink(ctx, models.LinkInput{MerchantOrderID: order, Amount: amount, Mode: "live", CustomerEmail: email, Description: description})
	if err != nil {
		h.t.Fatal(err)
	}
	sess := &models.Session{LinkID: link.ID, SessionToken: "ST-" + order, SignatureToken: "sig", Mode: "live"}
	if err := h.store.AddSession(ctx, sess); err != nil {
		h.t.Fatal(err)
	}
	if status != models.StatusPending {
		h.recordResult(sess, "PT-"+order, status == models.StatusPaid)
	}
	return sess
}

// TestSearchLikeAPersonOnBothLists types what people type into both lists'
// search, and checks the rows and the counts.
func TestSearchLikeAPersonOnBothLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	viewer := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	h.searchSession("PED-2001", "Camila.Rojas@gmail.com", "Zapatillas rojas", models.StatusPaid, 12990)
	h.searchSession("PED-2002", "bruno@empresa.cl", "Suscripción mensual", models.StatusPending, 5000)
	h.searchSession("ped-20021", "ana@GMAIL.COM", "Polera", models.StatusFailed, 12990)
	h.searchSession("OC-777", "dani@hotmail.com", "Zapatos", models.StatusPending, 2002)

	for _, tt := range []struct {
		name, q string
		b       *browser
		want    []string // newest first
		paid    string
	}{
		{"order id start", "PED-20", staff, []string{"ped-20021", "PED-2002", "PED-2001"}, "$12.990"},
		{"order id in lower case", "ped-2002", staff, []string{"ped-20021", "PED-2002"}, "$0"},
		{"digits of order ids, and an amount", "2002", staff, []string{"OC-777", "ped-20021", "PED-2002"}, "$0"},
		{"part of emails", "gmail.com", staff, []string{"ped-20021", "PED-2001"}, "$12.990"},
		{"in capitals", "GMAIL.COM", staff, []string{"ped-20021", "PED-2001"}, "$12.990"},
		{"amount with dot", "12.990", staff, []string{"ped-20021", "PED-2001"}, "$12.990"},
		{"amount with $", "$12.990", staff, []string{"ped-20021", "PED-2001"}, "$12.990"},
		{"amount in digits", "12990", staff, []string{"ped-20021", "PED-2001"}, "$12.990"},
		{"a description word", "zapatillas", staff, []string{"PED-2001"}, "$12.990"},
		{"accented, in capitals", "SUSCRIPCIÓN", staff, []string{"PED-2002"}, "$0"},
		{"two letters: the start of order ids", "pe", staff, []string{"ped-20021", "PED-2002", "PED-2001"}, "$12.990"},
		{"two letters: not inside", "ai", staff, nil, "$0"},
		{"two letters: the start of an email", "DA", staff, []string{"OC-777"}, "$0"},
		{"payment_token", "PT-PED-2001", staff, []string{"PED-2001"}, "$12.990"},
		{"session_token", "ST-OC-777", staff, []string{"OC-777"}, "$0"},
		{"viewer: exact order id", "PED-2001", viewer, []string{"PED-2001"}, "$12.990"},
		{"viewer: no part of an email", "gmail.com", viewer, nil, "$0"},
		{"viewer: no email start", "da", viewer, nil, "$0"},
		{"viewer: no amounts", "12990", viewer, nil, "$0"},
		{"viewer: exact payment_token", "PT-PED-2001", viewer, []string{"PED-2001"}, "$12.990"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := "?q=" + url.QueryEscape(tt.q)
			sessions := tt.b.get("/admin/sessions" + q)
			if got := tableOrders(sessions.body); sessions.status != http.StatusOK || !slices.Equal(got, tt.want) {
				t.Errorf("sessions: %d %v, want %v", sessions.status, got, tt.want)
			}
			if got, want := listCount(sessions.body), fmt.Sprintf("Sesiones: %d · Pagado: %s", len(tt.want), tt.paid); got != want {
				t.Errorf("sessions count %q, want %q", got, want)
			}
			links := tt.b.get("/admin/links" + q)
			if got := linkOrders(links.body); links.status != http.StatusOK || !slices.Equal(got, tt.want) {
				t.Errorf("links: %d %v, want %v", links.status, got, tt.want)
			}
			if got, want := listCount(links.body), fmt.Sprintf("Links: %d", len(tt.want)); got != want {
				t.Errorf("links count %q, want %q", got, want)
			}
		})
	}
}

func TestSessionsCountsAndTotals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	if got := listCount(b.get("/admin/sessions").body); got != "Sesiones: 0" {
		t.Errorf("empty: %q", got)
	}
	h.listSession("OC-1", "live", "", models.StatusPaid, 12990)
	h.listSession("OC-2", "live", "", models.StatusPaid, 1_000_000)
	h.listSession("OC-3", "live", "", models.StatusFailed, 5000)
	h.listSession("OC-4", "sandbox", "", models.StatusPaid, 700)
	for query, want := range map[string]string{
		"":                         "Sesiones: 4", // the whole list: counted, not summed
		"?sort=amount":             "Sesiones: 4",
		"?status=paid":             "Sesiones: 3 · Pagado: $1.013.690",
		"?status=paid&mode=live":   "Sesiones: 2 · Pagado: $1.012.990",
		"?status=failed":           "Sesiones: 1 · Pagado: $0",
		"?mode=sandbox":            "Sesiones: 1 · Pagado: $700",
		"?q=oc-":                   "Sesiones: 4 · Pagado: $1.013.690",
		"?from=" + santiagoDay(1):  "Sesiones: 0 · Pagado: $0",
		"?q=OC-1&after=1_1":        "Sesiones: 1 · Pagado: $12.990", // the whole filter, whatever the page
		"?status=paid&sort=amount": "Sesiones: 3 · Pagado: $1.013.690",
	} {
		if got := listCount(b.get("/admin/sessions" + query).body); got != want {
			t.Errorf("%s: %q, want %q", query, got, want)
		}
	}
	// English counts too, with English thousands.
	b.submit("/admin/account", "/admin/account/lang", url.Values{"lang": {"en"}})
	if got := listCount(b.get("/admin/sessions?status=paid").body); got != "Sessions: 3 · Paid: $1.013.690" {
		t.Errorf("in English: %q", got)
	}
}

// The quick date ranges keep the other filters and set from and to.
func TestQuickDateRangesOnThePage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	h.listSession("OC-1", "live", "", models.StatusPaid, 1000)
	today := santiagoDay(0)
	for _, path := range []string{"/admin/sessions", "/admin/links"} {
		page := b.get(path + "?q=oc&status=paid&sort=amount").body
		m := regexp.MustCompile(`<a class="button" href="([^"]+)">Hoy</a>`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s: no Hoy link", path)
		}
		u, _ := url.Parse(html.UnescapeString(m[1]))
		want := url.Values{"q": {"oc"}, "status": {"paid"}, "sort": {"amount"}, "from": {today}, "to": {today}}
		if u.Path != path || u.RawQuery != want.Encode() {
			t.Errorf("%s: Hoy links to %s, want %s?%s", path, m[1], path, want.Encode())
		}
		for _, label := range []string{"7 días", "Este mes", "Mes pasado"} {
			if !strings.Contains(page, ">"+label+"</a>") {
				t.Errorf("%s: no %s link", path, label)
			}
		}
		current := b.get(u.String()).body
		if !strings.Contains(current, `aria-current="true">Hoy</a>`) || len(tableOrders(current))+len(linkOrders(current)) != 1 {
			t.Errorf("%s: today's range is not marked current, or lost the row", path)
		}
	}
}

// A second link for an order in use says so, and links to the link that
// holds the order.
func TestDuplicateOrderLinksToTheExistingLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	r := b.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {"TAKEN"}, "order_amount": {"1000"}})
	existing := r.header.Get("Location")
	h.openLink("OTHER", "live", 1000)
	r = b.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {"TAKEN"}, "order_amount": {"2000"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "ya tiene un link") {
		t.Fatalf("second link: %d", r.status)
	}
	m := regexp.MustCompile(`<p id="existing-link"><a href="([^"]+)">Ver el link que ya tiene esta orden</a></p>`).FindStringSubmatch(r.body)
	if m == nil || m[1] != existing {
		t.Fatalf("no link to %s on the form: %v\n%s", existing, m, r.body)
	}
	if page := b.get(m[1]); page.status != http.StatusOK || !strings.Contains(page.body, "TAKEN") {
		t.Fatalf("the existing link's page: %d", page.status)
	}
	// Other errors show no such link.
	r = b.submit("/admin/links/new", "/admin/links/new", url.Values{"merchant_order_id": {"NEW"}, "order_amount": {"0"}})
	if strings.Contains(r.body, "existing-link") {
		t.Error("an invalid amount links to an existing link")
	}
}

// Every place that names an order leads to its link: the sessions table, a
// session's page, the overview's conflicts; and the overview's counts lead
// to the lists they count.
func TestOrdersAndCountsLinkOnwards(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	link, sess := h.paidLink("OC-1", "live", 1000)
	linkPage := "/admin/links/" + itoa(link.ID)
	h.recordResult(sess, "PT-other", false) // ETpay contradicts it: a conflict
	past := time.Now().Add(-time.Hour)
	if _, err := h.store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: "OC-2", Amount: 1, Mode: "live", ExpiresAt: &past}); err != nil {
		t.Fatal(err)
	}

	if page := b.get("/admin/sessions").body; !strings.Contains(page, `<a class="muted" href="`+linkPage+`" aria-label="Link de pago de la orden OC-1">link</a>`) {
		t.Error("the sessions table's order does not lead to its link")
	}
	if page := b.get("/admin/sessions/" + itoa(sess.ID)).body; !strings.Contains(page, `<dd><a href="`+linkPage+`">OC-1</a></dd>`) {
		t.Error("the session page's order does not lead to its link")
	}
	overview := b.get("/admin/overview?mode=live").body
	for _, want := range []string{
		`id="attention-conflicts"`,
		`href="` + linkPage + `" aria-label="Link de pago de la orden OC-1">link</a>`,
		`id="sessions-paid"><a href="/admin/sessions?mode=live&amp;status=paid">1</a>`,
		`id="links-expired"><a href="/admin/links?mode=live&amp;status=expired">1</a>`,
		`id="links-open"><a href="/admin/links?mode=live&amp;status=open">0</a>`,
		`<a href="/admin/links?mode=live">2</a>`,
	} {
		if !strings.Contains(overview, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	// The counts agree with the lists they lead to.
	if got := linkOrders(b.get("/admin/links?mode=live&status=expired").body); !slices.Equal(got, []string{"OC-2"}) {
		t.Errorf("expired links: %v", got)
	}
}
