package handlers_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// The "Exportar Excel" link downloads a real spreadsheet of the list's rows:
// read back, amounts are numbers formatted as CLP, times are dates in Chile,
// the header row is frozen, and the list's filter applies.
func TestSessionsXLSX(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	for i := range 200 {
		status := models.StatusPending
		if i%2 == 0 {
			status = models.StatusPaid
		}
		h.listSession(fmt.Sprintf("OC-%03d", i), "live", fmt.Sprintf("c%d@cliente.cl", i), status, int64(1000+i))
	}
	page := staff.get("/admin/sessions?status=paid").body
	m := regexp.MustCompile(`id="export-xlsx" href="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no Exportar Excel link:\n%s", page)
	}
	r := staff.get(html.UnescapeString(m[1]))
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Disposition"), "sesiones-"+time.Now().In(views.Santiago).Format("2006-01")) {
		t.Fatalf("download: %d %q", r.status, r.header.Get("Content-Disposition"))
	}
	f, err := excelize.OpenReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Sheet1")
	if err != nil || len(rows) != 101 {
		t.Fatalf("%d rows (%v), want a header and the 100 paid sessions", len(rows), err)
	}
	if rows[0][0] != "Orden" || rows[0][1] != "Monto" {
		t.Errorf("header %v", rows[0])
	}
	typ, _ := f.GetCellType("Sheet1", "B2")
	raw, _ := f.GetCellValue("Sheet1", "B2", excelize.Options{RawCellValue: true})
	shown, _ := f.GetCellValue("Sheet1", "B2")
	if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber || !regexp.MustCompile(`^1\d{3}$`).MatchString(raw) || !strings.HasPrefix(shown, "$") {
		t.Errorf("amount cell: type %v, raw %q, shown %q; want a number shown as CLP", typ, raw, shown)
	}
	style, _ := f.GetCellStyle("Sheet1", "H2")
	created, _ := f.GetCellValue("Sheet1", "H2", excelize.Options{RawCellValue: true})
	if style == 0 || !regexp.MustCompile(`^4\d{4}(\.\d+)?$`).MatchString(created) {
		t.Errorf("created cell: style %d, raw %q; want a date serial with a date format", style, created)
	}
	// Made a moment ago: shown as today's date and hour in Chile.
	if shownAt, _ := f.GetCellValue("Sheet1", "H2"); !strings.HasPrefix(shownAt, time.Now().In(views.Santiago).Format("02-01-2006 15")) {
		t.Errorf("created shown as %q, want Chile's date and hour now", shownAt)
	}
	// Unfiltered: all 200 rows.
	all, err := excelize.OpenReader(strings.NewReader(staff.get("/admin/sessions.xlsx").body))
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	if rows, err := all.GetRows("Sheet1"); err != nil || len(rows) != 201 {
		t.Fatalf("unfiltered: %d rows (%v), want a header and 200 sessions", len(rows), err)
	}
	panes, err := f.GetPanes("Sheet1")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v, %v; want the header row frozen", panes, err)
	}
}
