package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"etpay-dashboard/emails"
	"etpay-dashboard/linkimport"
	"etpay-dashboard/models"
)

// sheet is an .xlsx of rows; int64 cells are numbers shown as CLP.
func sheet(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	style, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptrTo(`"$"#,##0`)})
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			f.SetCellValue("Sheet1", cell, v)
			if _, ok := v.(int64); ok {
				f.SetCellStyle("Sheet1", cell, cell, style)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ptrTo[T any](v T) *T { return &v }

func TestImportLinksFromXLSX(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	preview := staff.uploadOK("pedidos.xlsx", sheet(t, [][]any{
		{"description", "customer_email", "order_amount", "merchant_order_id"},
		{"Mesa de roble", "ana@correo.cl", int64(149990), "OC-20"},
		{"", "", "", ""},
		{"Silla", "", int64(0), "OC-21"},
		{"Lámpara", "", "$19.990", "OC-22"},
	}))
	page := staff.get(preview).body
	for _, want := range []string{"Filas correctas: 2 · Filas con problemas: 1", "$149.990", "El monto debe ser mayor que cero", `id="line-5"`} {
		if !strings.Contains(page, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	// Without the checkbox, no email is queued, even for a row with an address.
	if r := staff.submit(preview, preview, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("confirm: %d", r.status)
	}
	if n := linkCount(t, h); n != 2 {
		t.Errorf("links = %d, want 2", n)
	}
	if mails := outboxRows(t, h.store); len(mails) != 0 {
		t.Errorf("emails queued without send_email: %d", len(mails))
	}
}

func TestImportRefusesFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	tests := []struct {
		name   string
		data   []byte
		status int
		text   string
	}{
		{"no file", nil, http.StatusUnprocessableEntity, "Elige una planilla de Excel o un archivo CSV."},
		{"no amount column", []byte("merchant_order_id,monto\nOC-1,100\n"), http.StatusUnprocessableEntity, "Faltan columnas en la primera fila: order_amount."},
	}
	for _, tt := range tests {
		r := staff.upload("pedidos.csv", tt.data)
		if r.status != tt.status || !strings.Contains(r.body, tt.text) {
			t.Errorf("%s: %d, want %d with %q\n%s", tt.name, r.status, tt.status, tt.text, r.body)
		}
	}
	// Just under the limit, the file itself is read (and refused for its content).
	r := staff.upload("pedidos.csv", append([]byte("merchant_order_id,order_amount\n"), bytes.Repeat([]byte("\n"), linkimport.MaxBytes-40)...))
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "no tiene filas") {
		t.Errorf("a 2 MiB file: %d\n%s", r.status, r.body)
	}
	// Over it, the upload is refused before it is read; a viewer's (who may
	// not import) and the confirmation keep the forms' 16 KiB.
	viewer := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	for _, tt := range []struct {
		name string
		b    *browser
		path string
		size int
		text string
	}{
		{"staff, over 2 MiB", staff, "/admin/links/import", linkimport.MaxBytes + 32<<10, "El archivo supera 2 MiB"},
		{"viewer, 100 KiB", viewer, "/admin/links/import", 100 << 10, ""},
		{"a confirmation, 100 KiB", staff, "/admin/links/import/ABCDEFGHIJKLMNOPQRSTUVWXYZ", 100 << 10, ""},
	} {
		body := []byte("csrf=x&padding=" + strings.Repeat("a", tt.size))
		resp, page := h.rawExchange(requestHead("POST", tt.path, formType+tt.b.cookieHeaders(), len(body)), body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, tt.text) {
			t.Errorf("%s: %d, want 413 with %q", tt.name, resp.StatusCode, tt.text)
		}
	}
	if n := linkCount(t, h); n != 0 {
		t.Errorf("links = %d", n)
	}
}

// cookieHeaders are b's cookies as request header lines, for rawExchange.
func (b *browser) cookieHeaders() string {
	var out string
	for _, c := range b.client.Jar.Cookies(mustURL(b.h.base)) {
		out += "Cookie: " + c.Name + "=" + c.Value + "\r\n"
	}
	return out
}

// A thousand rows, with their emails, are previewed and made quickly; the
// times are logged (go test -v), not asserted: see docs/performance.md.
func TestImportThousandRows(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	var b strings.Builder
	b.WriteString("merchant_order_id;order_amount;customer_email;description\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "PED-%05d;$%d.990;cliente%d@correo.cl;Pedido número %d\n", i, 10+i%90, i, i)
	}
	start := time.Now()
	preview := staff.uploadOK("mil.csv", []byte(b.String()))
	page := staff.get(preview)
	uploaded := time.Since(start)
	if !strings.Contains(page.body, "Filas correctas: 1.000 · Filas con problemas: 0") {
		t.Fatalf("preview of 1,000 rows:\n%s", page.body[:2000])
	}
	start = time.Now()
	if r := staff.submit(preview, preview, url.Values{"send_email": {"on"}}); r.status != http.StatusSeeOther {
		t.Fatalf("confirm: %d", r.status)
	}
	confirmed := time.Since(start)
	if n := linkCount(t, h); n != 1000 {
		t.Fatalf("links = %d", n)
	}
	if counts, err := h.store.OutboxCounts(context.Background()); err != nil || counts[models.MailQueued] != 1000 {
		t.Fatalf("emails queued = %d (%v)", counts[models.MailQueued], err)
	}
	t.Logf("1,000 rows: upload and preview %v, confirmation (links and emails, one transaction) %v", uploaded, confirmed)
}

// a11yImports makes two imports of user's for the accessibility check, each
// with a good and a bad row: one waiting for confirmation, one confirmed.
// It returns their pages.
func a11yImports(t *testing.T, h *harness, user *models.User) (preview, result string) {
	t.Helper()
	ctx := context.Background()
	rows := []models.ImportRow{
		{Line: 2, MerchantOrderID: "OC-IMP-1", Amount: "$12.990", CustomerEmail: "ana@correo.cl", Description: "Suscripción"},
		{Line: 3, MerchantOrderID: "OC-IMP-2", Amount: "doce mil"},
	}
	var pages []string
	for _, confirm := range []bool{false, true} {
		imp := &models.LinkImport{UserID: user.ID, FileName: "pedidos.csv", Mode: string(h.cfg.Mode)}
		if err := h.store.SaveLinkImport(ctx, imp, rows, time.Now()); err != nil {
			t.Fatal(err)
		}
		if confirm {
			maker := &linkimport.Maker{Store: h.store, Config: h.cfg, Shop: emails.FixedName("Tienda")}
			if _, err := maker.Confirm(ctx, imp, rows, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		pages = append(pages, "/admin/links/import/"+imp.ID)
	}
	return pages[0], pages[1]
}

// The result .xlsx keeps each cell as typed: its cells are text, which a
// spreadsheet never runs as a formula, so it needs no leading ' (the CSV
// does), and a result corrected and imported again keeps its descriptions.
func TestImportResultXLSXKeepsCellsAsTyped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	preview := staff.uploadOK("pedidos.xlsx", sheet(t, [][]any{
		{"merchant_order_id", "order_amount", "description"},
		{"OC-30", int64(9990), "-2 poleras"},
		{"OC-31", int64(9990), `=HYPERLINK("https://evil.example","x")`},
	}))
	if r := staff.submit(preview, preview, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("confirm: %d", r.status)
	}
	x := staff.get(preview + "/result.xlsx")
	f, err := excelize.OpenReader(strings.NewReader(x.body))
	if err != nil {
		t.Fatalf("result.xlsx: %d %v", x.status, err)
	}
	defer f.Close()
	for cell, want := range map[string]string{"D2": "-2 poleras", "D3": `=HYPERLINK("https://evil.example","x")`} {
		got, _ := f.GetCellValue("Sheet1", cell, excelize.Options{RawCellValue: true})
		formula, _ := f.GetCellFormula("Sheet1", cell)
		if got != want || formula != "" {
			t.Errorf("%s = %q (formula %q), want the text %q", cell, got, formula, want)
		}
	}
}
