package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// listSession makes a link with an email and a session for it, paid, failed
// or pending, straight through the Store as the payment flow would.
func (h *harness) listSession(order, mode, email, status string, amount int64) *models.Session {
	h.t.Helper()
	ctx := context.Background()
	link, err := h.store.CreateLink(ctx, models.LinkInput{MerchantOrderID: order, Amount: amount, Mode: mode, CustomerEmail: email})
	if err != nil {
		h.t.Fatal(err)
	}
	sess := &models.Session{LinkID: link.ID, SessionToken: "ST-" + order, SignatureToken: "sig", Mode: mode}
	if err := h.store.AddSession(ctx, sess); err != nil {
		h.t.Fatal(err)
	}
	if status != models.StatusPending {
		h.recordResult(sess, "PT-"+order, status == models.StatusPaid)
	}
	return sess
}

var (
	rowOrder = regexp.MustCompile(`<td [^>]*data-field="merchant_order_id"[^>]*><a href="/admin/sessions/\d+">([^<]+)</a>`)
	nextLink = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	exportA  = regexp.MustCompile(`<a class="button" href="(/admin/sessions\.csv[^"]*)">`)
)

// tableOrders lists the order ids of the table's rows, top to bottom.
func tableOrders(page string) []string {
	var out []string
	for _, m := range rowOrder.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// csvOrders reads an export and returns its rows' order ids and the records.
func csvOrders(t *testing.T, body string) ([]string, [][]string) {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, body)
	}
	if len(records) == 0 || records[0][len(records[0])-1] != "customer_email" {
		t.Fatalf("header %v does not end with customer_email", records)
	}
	var ids []string
	for _, r := range records[1:] {
		ids = append(ids, strings.TrimPrefix(r[0], "'"))
	}
	return ids, records
}

func santiagoDay(offset int) string {
	return time.Now().In(views.Santiago).AddDate(0, 0, offset).Format(time.DateOnly)
}

func TestSessionsListSearchFilterSort(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)

	// Nothing at all yet: the "make a link" empty state, not "nothing matches".
	r := b.get("/admin/sessions")
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="sessions-empty"`) || strings.Contains(r.body, "sessions-no-match") {
		t.Fatalf("empty list: %d\n%s", r.status, r.body)
	}

	h.listSession("OC-A", "live", "Ana@Shop.cl", models.StatusPaid, 3000)
	h.listSession("OC-B", "live", "bruno@shop.cl", models.StatusPending, 1000)
	c := h.listSession("OC-C", "sandbox", "ana_b@shop.cl", models.StatusFailed, 2000)
	h.listSession("OC-D", "live", "anab@shop.cl", models.StatusPending, 2000)

	today, yesterday := santiagoDay(0), santiagoDay(-1)
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"newest first by default", "", []string{"OC-D", "OC-C", "OC-B", "OC-A"}},
		{"exact order id", "q=OC-B", []string{"OC-B"}},
		{"order id with spaces around", "q=+OC-B+", []string{"OC-B"}},
		{"payment_token", "q=PT-OC-A", []string{"OC-A"}},
		{"session_token", "q=" + c.SessionToken, []string{"OC-C"}},
		{"email prefix", "q=ana", []string{"OC-D", "OC-C", "OC-A"}},
		{"email prefix in other case", "q=ANA%40shop", []string{"OC-A"}},
		{"underscore in an email is literal", "q=ana_", []string{"OC-C"}},
		{"status", "status=pending", []string{"OC-D", "OC-B"}},
		{"mode", "mode=sandbox", []string{"OC-C"}},
		{"search and status", "q=ana&status=paid", []string{"OC-A"}},
		{"oldest first", "sort=date_asc", []string{"OC-A", "OC-B", "OC-C", "OC-D"}},
		{"largest amount first, ties newest id first", "sort=amount", []string{"OC-A", "OC-D", "OC-C", "OC-B"}},
		{"smallest amount first, ties oldest id first", "sort=amount_asc", []string{"OC-B", "OC-C", "OC-D", "OC-A"}},
		{"today, both bounds inclusive", "from=" + today + "&to=" + today, []string{"OC-D", "OC-C", "OC-B", "OC-A"}},
		{"until yesterday", "to=" + yesterday, nil},
		{"from tomorrow", "from=" + santiagoDay(1), nil},
		{"empty form submitted", "q=&status=&mode=&from=&to=&sort=date", []string{"OC-D", "OC-C", "OC-B", "OC-A"}},
		{"quotes are data, not SQL", "q=" + url.QueryEscape("' OR 1=1 --"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.get("/admin/sessions?" + tt.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d\n%s", r.status, r.body)
			}
			if got := tableOrders(r.body); !slices.Equal(got, tt.want) {
				t.Fatalf("rows %v, want %v", got, tt.want)
			}
			if len(tt.want) == 0 {
				if !strings.Contains(r.body, `id="sessions-no-match"`) || !strings.Contains(r.body, "Ninguna sesión coincide") ||
					!strings.Contains(r.body, `<a class="button" href="/admin/sessions">Limpiar filtros</a>`) {
					t.Fatalf("no 'nothing matches' state with a way to clear filters:\n%s", r.body)
				}
				if strings.Contains(r.body, `id="sessions-empty"`) {
					t.Fatal("a filtered empty result shows the no-data state")
				}
			}
		})
	}

	t.Run("rows are the live-table partial", func(t *testing.T) {
		page := b.get("/admin/sessions").body
		if !strings.Contains(page, `<tbody id="sessions-body"`) || !strings.Contains(page, "data-live-sessions") {
			t.Fatal("no sessions-body tbody or live container")
		}
		rows := regexp.MustCompile(`(?s)<tr id="session-(\d+)" data-id="(\d+)".*?</tr>`).FindAllStringSubmatch(page, -1)
		if len(rows) != 4 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, row := range rows {
			if row[1] != row[2] {
				t.Errorf("row id %s has data-id %s", row[1], row[2])
			}
			for _, field := range []string{"merchant_order_id", "amount", "status", "payment_token", "created_at", "paid_at", "last_notification"} {
				if !strings.Contains(row[0], `data-field="`+field+`"`) {
					t.Errorf("row %s has no %s cell", row[1], field)
				}
			}
		}
		if !regexp.MustCompile(`<td class="num[^"]*" data-field="amount"[^>]*>\$3\.000</td>`).MatchString(page) {
			t.Error("amount is not shown as CLP")
		}
	})

	t.Run("form keeps what was asked and links the same export", func(t *testing.T) {
		page := b.get("/admin/sessions?q=ana&status=paid&mode=live&from=" + today + "&sort=amount").body
		for _, want := range []string{
			`method="get"`, `<label for="q">`, `name="q" type="search" value="ana"`,
			`<option value="paid" selected>`, `<option value="live" selected>`, `<option value="amount" selected>`,
			`name="from" type="date" value="` + today + `"`, `href="/admin/sessions">Limpiar</a>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		m := exportA.FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no export link")
		}
		got, _ := url.Parse(html.UnescapeString(m[1]))
		want := url.Values{"q": {"ana"}, "status": {"paid"}, "mode": {"live"}, "from": {today}, "sort": {"amount"}}
		if got.Path != "/admin/sessions.csv" || got.RawQuery != want.Encode() {
			t.Errorf("export link %s, want the same filters", m[1])
		}
		if m := exportA.FindStringSubmatch(b.get("/admin/sessions").body); m == nil || m[1] != "/admin/sessions.csv" {
			t.Errorf("unfiltered export link %v", m)
		}
	})
}

func TestSessionsKeysetPagesOverHTTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	const n = 53 // more than one page of 50
	amounts := map[string]int64{}
	for i := range n {
		order := fmt.Sprintf("OC-%02d", i)
		amounts[order] = int64(1000 * (i%4 + 1)) // many equal amounts
		h.listSession(order, "live", "", models.StatusPending, amounts[order])
	}
	h.listSession("SB-1", "sandbox", "", models.StatusPending, 1000) // filtered out by mode=live

	tests := []struct {
		name, query string
		less        func(a, b string) bool // the promised order
	}{
		{"newest first", "mode=live", func(a, b string) bool { return a > b }},
		{"largest amount first", "mode=live&sort=amount", func(a, b string) bool {
			return amounts[a] > amounts[b] || amounts[a] == amounts[b] && a > b
		}},
		{"smallest amount first", "mode=live&sort=amount_asc", func(a, b string) bool {
			return amounts[a] < amounts[b] || amounts[a] == amounts[b] && a < b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			path := "/admin/sessions?" + tt.query
			pages := 0
			for path != "" {
				pages++
				r := b.get(path)
				if r.status != http.StatusOK {
					t.Fatalf("%s: %d", path, r.status)
				}
				got = append(got, tableOrders(r.body)...)
				path = ""
				if m := nextLink.FindStringSubmatch(r.body); m != nil {
					path = html.UnescapeString(m[1])
					u, _ := url.Parse(path)
					if u.Query().Get("mode") != "live" || !regexp.MustCompile(`^\d+_\d+$`).MatchString(u.Query().Get("after")) {
						t.Fatalf("next link %s loses the filter or has no cursor", path)
					}
				}
				if pages > 3 {
					t.Fatal("pages never end")
				}
			}
			if pages != 2 || len(got) != n {
				t.Fatalf("%d pages, %d rows; want 2 pages, %d rows", pages, len(got), n)
			}
			want := slices.Clone(got)
			slices.SortFunc(want, func(a, b string) int {
				if tt.less(a, b) {
					return -1
				}
				return 1
			})
			if !slices.Equal(got, want) {
				t.Fatalf("rows out of order:\n got %v\nwant %v", got, want)
			}
			seen := map[string]bool{}
			for _, o := range got {
				if seen[o] {
					t.Fatalf("%s on two pages", o)
				}
				seen[o] = true
			}
		})
	}
}

func TestSessionsBadParameters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	h.listSession("OC-1", "live", "ana@shop.cl", models.StatusPaid, 1000)
	tests := []struct {
		name, query, field, message string
	}{
		{"unknown status", "status=refunded", "status", "Elige un estado de la lista"},
		{"unknown mode", "mode=prod", "mode", "Elige un modo de la lista"},
		{"unknown sort", "sort=price", "sort", "Elige un orden de la lista"},
		{"day-month-year date", "from=31-03-2026", "from", "AAAA-MM-DD"},
		{"impossible date", "to=2026-02-30", "to", "AAAA-MM-DD"},
		{"date with time", "from=2026-03-01T00:00", "from", "AAAA-MM-DD"},
		{"from after to", "from=2026-03-02&to=2026-03-01", "from", "posterior"},
		{"cursor that is not key_id", "after=abc", "after", "enlace de página no es válido"},
		{"cursor with a zero id", "after=1_0", "after", "enlace de página no es válido"},
		{"cursor with SQL", "after=" + url.QueryEscape("1_1 OR 1=1"), "after", "enlace de página no es válido"},
		{"backward cursor that is not key_id", "before=12", "before", "enlace de página no es válido"},
		{"both cursors", "after=1_1&before=1_1", "before", "no ambos"},
		{"search too long", "q=" + strings.Repeat("a", 255), "q", "hasta 254 caracteres"},
		{"search with a line break", "q=" + url.QueryEscape("a\nb"), "q", "sin saltos de línea"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.get("/admin/sessions?" + tt.query)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.status)
			}
			if !strings.Contains(r.body, tt.message) || !strings.Contains(r.body, "Revisa los filtros marcados") {
				t.Fatalf("page does not say %q:\n%s", tt.message, r.body)
			}
			if tt.field != "after" && tt.field != "before" && !strings.Contains(r.body, `id="`+tt.field+`-error"`) {
				t.Errorf("no message next to the %s field", tt.field)
			}
			if len(tableOrders(r.body)) != 0 {
				t.Error("a rejected query still listed rows")
			}
			if exportA.MatchString(r.body) {
				t.Error("a rejected query still offers an export")
			}
			csvResp := b.get("/admin/sessions.csv?" + tt.query)
			if csvResp.status != http.StatusBadRequest || strings.HasPrefix(csvResp.header.Get("Content-Type"), "text/csv") {
				t.Fatalf("csv: %d %s, want a 400 page", csvResp.status, csvResp.header.Get("Content-Type"))
			}
			if !strings.Contains(csvResp.body, tt.message) {
				t.Errorf("csv error does not say %q", tt.message)
			}
		})
	}
	// Parameters it does not know are ignored, as any web page does.
	if r := b.get("/admin/sessions?page=12&utm_source=mail"); r.status != http.StatusOK || len(tableOrders(r.body)) != 1 {
		t.Fatalf("unknown parameters: %d", r.status)
	}
}

func TestSessionsCSVOfAFilteredView(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	staff := h.browser()
	staff.login("staff@shop.cl")
	viewer := h.browser()
	viewer.login("viewer@shop.cl")

	h.listSession("OC-A", "live", "Ana@Shop.cl", models.StatusPaid, 3000)
	h.listSession("OC-B", "live", "bruno@shop.cl", models.StatusPending, 1000)
	h.listSession("OC-C", "sandbox", "=ana@evil.cl", models.StatusFailed, 2000)
	h.listSession("-OC-D", "live", "", models.StatusPaid, 5000)

	tests := []struct {
		name, query string
		want        []string
	}{
		{"no query string: everything, oldest first", "", []string{"OC-A", "OC-B", "OC-C", "-OC-D"}},
		{"status", "?status=paid", []string{"-OC-D", "OC-A"}},
		{"mode", "?mode=sandbox", []string{"OC-C"}},
		{"search (any part of an email), newest first by default", "?q=ana", []string{"OC-C", "OC-A"}},
		{"search: part of an order id, any case", "?q=c-a", []string{"OC-A"}},
		{"search: an amount as people write it", "?q=%242.000", []string{"OC-C"}},
		{"search in the chosen order", "?q=PT-OC-A", []string{"OC-A"}},
		{"amount order", "?sort=amount_asc", []string{"OC-B", "OC-C", "OC-A", "-OC-D"}},
		{"nothing matches: header only", "?q=nobody", nil},
		{"a page cursor does not cut the export", "?status=paid&after=1_1", []string{"-OC-D", "OC-A"}},
		{"dates", "?from=" + santiagoDay(0) + "&to=" + santiagoDay(0) + "&sort=date_asc", []string{"OC-A", "OC-B", "OC-C", "-OC-D"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := staff.get("/admin/sessions.csv" + tt.query)
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
			}
			got, _ := csvOrders(t, r.body)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("rows %v, want %v", got, tt.want)
			}
		})
	}
	// The "after=1_1" case passes only if the cursor is ignored: with it, ids
	// below 1 would leave nothing. Check the table does honour it, by contrast.
	if rows := tableOrders(staff.get("/admin/sessions?status=paid&after=1_1").body); len(rows) != 0 {
		t.Fatalf("the table ignored its cursor: %v", rows)
	}

	emails := func(b *browser) map[string]string {
		_, records := csvOrders(t, b.get("/admin/sessions.csv").body)
		out := map[string]string{}
		for _, r := range records[1:] {
			out[r[0]] = r[len(r)-1]
		}
		return out
	}
	if got, want := emails(staff), map[string]string{"OC-A": "Ana@Shop.cl", "OC-B": "bruno@shop.cl", "OC-C": "'=ana@evil.cl", "'-OC-D": ""}; !maps.Equal(got, want) {
		t.Errorf("staff emails %v, want %v", got, want)
	}
	if got, want := emails(viewer), map[string]string{"OC-A": "A•••@Shop.cl", "OC-B": "b•••@shop.cl", "OC-C": "'=•••@evil.cl", "'-OC-D": ""}; !maps.Equal(got, want) {
		t.Errorf("viewer emails %v, want %v", got, want)
	}
	// A viewer's q is exact ids only, in the export as on the page.
	for q, want := range map[string][]string{"ana": nil, "OC-B": {"OC-B"}, "oc-b": nil, "1000": nil} {
		if got, _ := csvOrders(t, viewer.get("/admin/sessions.csv?q="+q).body); !slices.Equal(got, want) {
			t.Errorf("viewer export of q=%s: %v, want %v", q, got, want)
		}
	}
}
