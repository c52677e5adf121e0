package handlers

import (
	"bufio"
	"bytes"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/linkimport"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// importResult is a confirmed import's rows with what became of each; an
// import still waiting for confirmation has no result yet (404).
func (a *app) importResult(c *fiber.Ctx) ([]linkimport.Row, error) {
	imp, stored, err := a.loadImport(c)
	if err != nil {
		return nil, err
	}
	if imp.Status != models.ImportDone {
		return nil, fiber.ErrNotFound
	}
	return linkimport.Check(stored, a.importRules()), nil
}

// exportImportCSV is GET /admin/links/import/{id}/result.csv: the result
// separated by semicolons with a UTF-8 BOM, as a Chilean Excel opens it.
func (a *app) exportImportCSV(c *fiber.Ctx) error {
	rows, err := a.importResult(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := linkimport.WriteCSV(&buf, a.locale(c), rows, a.payURL, ';', true); err != nil {
		return err
	}
	setDownload(c, "links-importados", "csv", "text/csv; charset=utf-8")
	return c.Send(buf.Bytes())
}

// exportImportXLSX is GET /admin/links/import/{id}/result.xlsx: the result
// as a spreadsheet, amounts as numbers in CLP, with the same columns.
func (a *app) exportImportXLSX(c *fiber.Ctx) error {
	rows, err := a.importResult(c)
	if err != nil {
		return err
	}
	w, err := newSheetWriter(linkimport.ResultColumns)
	if err != nil {
		return err
	}
	l := a.locale(c)
	for i := range rows {
		if err := w.add(importCells(w, l, &rows[i], a.payURL)); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	out := bufio.NewWriter(&buf)
	if err := w.finish(out); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	setDownload(c, "links-importados", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	return c.Send(buf.Bytes())
}

// importCells is a result row for the spreadsheet: the CSV's cells as typed
// (text cells, no leading '), with the amount as a number when it was read.
func importCells(w *sheetWriter, l views.Locale, r *linkimport.Row, url func(string) string) []any {
	rec := linkimport.Cells(l, r, url)
	cells := make([]any, len(rec))
	for i, v := range rec {
		cells[i] = v
	}
	if _, bad := r.Problems[linkimport.ColAmount]; !bad && r.Input.Amount > 0 {
		cells[1] = w.amount(r.Input.Amount)
	}
	return cells
}
