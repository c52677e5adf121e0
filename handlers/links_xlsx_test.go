package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"etpay-dashboard/models"
)

// The links list's Exportar Excel link downloads its rows, every page of
// them, with typed cells and the list's filter applied.
func TestLinksXLSX(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	for i := range 30 {
		h.listSession(fmt.Sprintf("PED-%04d", 2000+i), "live", fmt.Sprintf("c%d@gmail.com", i), models.StatusPending, int64(12990+i))
	}
	page := staff.get("/admin/links?q=ped-200").body
	m := regexp.MustCompile(`id="export-xlsx" href="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no Exportar Excel link on the links list:\n%s", page)
	}
	r := staff.get(html.UnescapeString(m[1]))
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Disposition"), "links-") {
		t.Fatalf("download: %d %q", r.status, r.header.Get("Content-Disposition"))
	}
	f, err := excelize.OpenReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Sheet1")
	if err != nil || len(rows) != 11 {
		t.Fatalf("%d rows (%v), want a header and the 10 links PED-2000..PED-2009", len(rows), err)
	}
	raw, _ := f.GetCellValue("Sheet1", "B2", excelize.Options{RawCellValue: true})
	shown, _ := f.GetCellValue("Sheet1", "B2")
	if !regexp.MustCompile(`^1299\d$`).MatchString(raw) || !strings.HasPrefix(shown, "$") {
		t.Errorf("amount cell raw %q shown %q; want a number shown as CLP", raw, shown)
	}
	if rows[1][3] != "abierto" {
		t.Errorf("status cell %q, want the status in Spanish", rows[1][3])
	}
}

// An export holds every link, not one page of the list: more links than one
// query of the export reads (models.MaxPageLimit) all come out, once each
// (the export once asked for a size the list query refused, got one default
// page back and stopped there).
func TestLinksXLSXHoldsEveryPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	const links = models.MaxPageLimit + 10
	for i := range links {
		if _, err := h.store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: fmt.Sprintf("PED-%04d", i), Amount: 1000, Mode: "live"}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := excelize.OpenReader(strings.NewReader(staff.get("/admin/links.xlsx").body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Sheet1")
	if err != nil || len(rows) != links+1 {
		t.Fatalf("%d rows (%v), want a header and the %d links", len(rows), err, links)
	}
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		if seen[row[0]] {
			t.Fatalf("%s exported twice", row[0])
		}
		seen[row[0]] = true
	}
}
