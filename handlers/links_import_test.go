package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"etpay-dashboard/linkimport"
	"etpay-dashboard/models"
)

// upload sends data as the import form's file, with the form's CSRF token.
func (b *browser) upload(name string, data []byte) response {
	b.h.t.Helper()
	token := csrfToken(b.h.t, b.get("/admin/links/import").body)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", token)
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, b.url("/admin/links/import"), &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

var importPage = regexp.MustCompile(`^/admin/links/import/[A-Z2-7]{26}$`)

// uploadOK uploads a file that must be read, and returns its preview's path.
func (b *browser) uploadOK(name string, data []byte) string {
	b.h.t.Helper()
	r := b.upload(name, data)
	if r.status != http.StatusSeeOther || !importPage.MatchString(r.header.Get("Location")) {
		b.h.t.Fatalf("upload %s: %d %s\n%s", name, r.status, r.header.Get("Location"), r.body)
	}
	return r.header.Get("Location")
}

// chileanCSV is text as a Chilean Excel saves "CSV": Windows-1252, semicolons, CRLF.
func chileanCSV(t *testing.T, lines ...string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(strings.Join(lines, "\r\n") + "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func linkCount(t *testing.T, h *harness) int64 {
	t.Helper()
	n, err := h.store.CountLinks(context.Background(), models.LinkFilter{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return n.Count
}

func TestImportLinksFromChileanCSV(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	existing := linkAt(t, h, createLinkWithEmail(t, staff, "OC-EXIST", "1000", "", ""))
	preview := staff.uploadOK("pedidos.csv", chileanCSV(t,
		"merchant_order_id;order_amount;customer_email;description",
		"OC-10;$12.990;ana@correo.cl;Suscripción año",
		"OC-11;doce mil;;",
		"OC-12;5000;no-es-correo;",
		"OC-10;7.000;;",
		"OC-EXIST;1000;;",
		"OC-13;25.000;;Reserva Ñuñoa",
	))
	page := staff.get(preview)
	for _, want := range []string{"Filas correctas: 2 · Filas con problemas: 4", "Suscripción año", "Reserva Ñuñoa", "$12.990",
		"Escribe el monto en pesos", "Escribe un correo válido", "Esta orden ya está en la línea 2 del archivo",
		"Esta orden ya tiene un link abierto o pagado", fmt.Sprintf(`href="/admin/links/%d"`, existing.ID), "Crear los links (2)"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if n := linkCount(t, h); n != 1 {
		t.Fatalf("the preview made links: %d", n)
	}
	// Only its uploader may see or confirm it; viewers not at all.
	if r := h.loggedIn("otra@shop.cl", models.RoleStaff).get(preview); r.status != http.StatusNotFound {
		t.Errorf("another staff member's view: %d, want 404", r.status)
	}
	if r := h.loggedIn("viewer@shop.cl", models.RoleViewer).get(preview); r.status != http.StatusForbidden {
		t.Errorf("a viewer's view: %d, want 403", r.status)
	}

	done := staff.submit(preview, preview, url.Values{"send_email": {"on"}, "email_lang": {"es"}})
	if done.status != http.StatusSeeOther || done.header.Get("Location") != preview {
		t.Fatalf("confirm: %d %s", done.status, done.header.Get("Location"))
	}
	result := staff.get(preview)
	if !strings.Contains(result.body, "Links creados: 2 · Filas rechazadas: 4") || flashOf(result.body) != "Importación terminada." {
		t.Fatalf("result page:\n%s", result.body)
	}
	if n := linkCount(t, h); n != 3 {
		t.Errorf("links = %d, want 3", n)
	}
	mails := outboxRows(t, h.store)
	if len(mails) != 1 || mails[0].To != "ana@correo.cl" || mails[0].Kind != models.MailLink || mails[0].CreatedByID == nil {
		t.Fatalf("emails queued: %+v", mails)
	}
	// Confirming again makes nothing more.
	if r := staff.submit(preview, preview, url.Values{"send_email": {"on"}}); r.status != http.StatusSeeOther || linkCount(t, h) != 3 {
		t.Errorf("second confirmation: %d, links %d", r.status, linkCount(t, h))
	}
	checkImportResults(t, h, staff, preview)
	entries, _ := h.store.AuditEntries(context.Background(), models.AuditPage{})
	if entries[0].Action != models.AuditLinksImported || !strings.Contains(entries[0].Detail, `"created":2,"refused":4,"emails":true`) {
		t.Errorf("audit: %+v", entries[0])
	}
}

// checkImportResults reads both result downloads back.
func checkImportResults(t *testing.T, h *harness, b *browser, preview string) {
	t.Helper()
	oc10, _ := h.store.ListLinks(context.Background(), models.LinkPage{LinkFilter: models.LinkFilter{SessionFilter: models.SessionFilter{Q: "OC-10", ExactOnly: true}, Now: time.Now()}, Limit: 5})
	if len(oc10) != 1 {
		t.Fatalf("OC-10: %d links", len(oc10))
	}
	url10 := h.base + "/pay/" + oc10[0].Code

	x := b.get(preview + "/result.xlsx")
	f, err := excelize.OpenReader(strings.NewReader(x.body))
	if x.status != http.StatusOK || err != nil {
		t.Fatalf("result.xlsx: %d %v", x.status, err)
	}
	rows, _ := f.GetRows("Sheet1", excelize.Options{RawCellValue: true})
	if len(rows) != 7 || strings.Join(rows[0], ",") != strings.Join(linkimport.ResultColumns, ",") {
		t.Fatalf("xlsx rows: %q", rows)
	}
	if got := strings.Join(rows[1], "|"); got != "OC-10|12990|ana@correo.cl|Suscripción año|created|"+url10 {
		t.Errorf("xlsx OC-10: %q", got)
	}
	if rows[2][4] != "error" || !strings.Contains(rows[2][6], "Monto (CLP): Escribe el monto en pesos") {
		t.Errorf("xlsx OC-11: %q", rows[2])
	}

	c := b.get(preview + "/result.csv")
	if c.status != http.StatusOK || !strings.HasPrefix(c.body, "\uFEFF") {
		t.Fatalf("result.csv: %d %q", c.status, c.body[:min(20, len(c.body))])
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.body, "\uFEFF")))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil || len(recs) != 7 || recs[1][5] != url10 || recs[5][4] != "error" || !strings.Contains(recs[5][6], "abierto o pagado") {
		t.Fatalf("csv: %q (%v)", recs, err)
	}
}
