package handlers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// A staff member presses "Exportar Excel" in a real browser, at a phone's
// and a laptop's width, on both lists: the file Chromium saves opens as a
// spreadsheet of the 200 rows, amounts typed as numbers shown as CLP and
// times as dates in Chile.
func TestBrowserExportExcel(t *testing.T) {
	chrome := newChrome(t)
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	for i := range 200 {
		h.listSession(fmt.Sprintf("PED-%04d", 3000+i), "live", fmt.Sprintf("c%d@gmail.com", i), models.StatusPaid, int64(12990+i))
	}
	for _, w := range []struct {
		name, list    string
		width, height int64
		mobile        bool
	}{{"360px", "/admin/sessions", 360, 740, true}, {"1366px", "/admin/links", 1366, 768, false}} {
		t.Run(w.name+w.list, func(t *testing.T) {
			// A tab in the browser's default context, where downloads are allowed.
			tab, cancel := chromedp.NewContext(chrome)
			t.Cleanup(cancel)
			emulate(t, tab, w.width, w.height, w.mobile)
			run(t, tab, loginSteps(h.base, "staff@shop.cl")...)
			file := download(t, tab, h.base+w.list)
			checkExportedSheet(t, file)
		})
	}
}

// download opens the list, clicks its "Exportar Excel" link and returns the
// path of the file Chromium saved.
func download(t *testing.T, tab context.Context, listURL string) string {
	t.Helper()
	dir := t.TempDir()
	progress := chromedp.Events(tab, cdpbrowser.DownloadProgress)
	events := true
	run(t, tab,
		chromedp.Navigate(listURL),
		chromedp.WaitVisible(chromedp.ID("export-xlsx")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
			})
			return err
		}),
		chromedp.Click(chromedp.ID("export-xlsx")),
	)
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		switch ev.State {
		case cdpbrowser.DownloadProgressStateCompleted:
			return filepath.Join(dir, ev.GUID)
		case cdpbrowser.DownloadProgressStateCanceled:
			t.Fatal("Chromium cancelled the download")
		}
	}
	t.Fatal("the download never completed")
	return ""
}

// checkExportedSheet reads the saved file back as a spreadsheet.
func checkExportedSheet(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("the downloaded file is not a spreadsheet: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows("Sheet1")
	if err != nil || len(rows) != 201 {
		t.Fatalf("%d rows (%v), want a header and 200", len(rows), err)
	}
	if rows[0][0] != "Orden" || rows[0][1] != "Monto" {
		t.Errorf("header %v", rows[0])
	}
	// excelize shows "#,##0" with English separators; Excel in es-CL shows
	// the same format as $13.189, so either separator is the CLP format.
	typ, _ := f.GetCellType("Sheet1", "B2")
	raw, _ := f.GetCellValue("Sheet1", "B2", excelize.Options{RawCellValue: true})
	shown, _ := f.GetCellValue("Sheet1", "B2")
	if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber || !regexp.MustCompile(`^13\d{3}$`).MatchString(raw) || !regexp.MustCompile(`^\$13[.,]\d{3}$`).MatchString(shown) {
		t.Errorf("amount cell: type %v, raw %q, shown %q; want a number shown as CLP", typ, raw, shown)
	}
	today := time.Now().In(views.Santiago).Format("02-01-2006")
	created := slices.Index(rows[0], "Creada")
	if created < 0 {
		t.Fatalf("no creation date column (Creada) in %v", rows[0])
	}
	col, _ := excelize.ColumnNumberToName(created + 1)
	serial, _ := f.GetCellValue("Sheet1", col+"2", excelize.Options{RawCellValue: true})
	shownAt, _ := f.GetCellValue("Sheet1", col+"2")
	if !regexp.MustCompile(`^4\d{4}(\.\d+)?$`).MatchString(serial) || !strings.HasPrefix(shownAt, today) {
		t.Errorf("created cell raw %q shown %q; want a date serial shown as Chile's date %s", serial, shownAt, today)
	}
	if panes, err := f.GetPanes("Sheet1"); err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v, %v; want the header row frozen", panes, err)
	}
}
