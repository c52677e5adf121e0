package handlers

import (
	"archive/zip"
	"bufio"
	"io"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// Number formats of the spreadsheets. Excel writes the thousands separator
// of the reader's locale, so a Chilean Excel shows $12.990.
const (
	xlsxCLPFormat  = `"$"#,##0`
	xlsxDateFormat = "dd-mm-yyyy hh:mm:ss"
)

// xlsxSheet is the one sheet of an export.
const xlsxSheet = "Sheet1"

// sheetWriter writes an export's rows into a spreadsheet as it goes: text as
// text, amounts as numbers formatted as CLP, times as dates in Chile.
type sheetWriter struct {
	f           *excelize.File
	sw          *excelize.StreamWriter
	row         int
	clp, date   int
	headerStyle int
}

func newSheetWriter(header []string) (*sheetWriter, error) {
	f := excelize.NewFile()
	w := &sheetWriter{f: f, row: 1}
	var err error
	if w.clp, err = f.NewStyle(&excelize.Style{CustomNumFmt: ptr(xlsxCLPFormat)}); err != nil {
		return nil, err
	}
	if w.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: ptr(xlsxDateFormat)}); err != nil {
		return nil, err
	}
	if w.headerStyle, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return nil, err
	}
	if w.sw, err = f.NewStreamWriter(xlsxSheet); err != nil {
		return nil, err
	}
	// The header row stays in view while scrolling.
	if err := w.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	if err := w.sw.SetColWidth(1, len(header), 20); err != nil {
		return nil, err
	}
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{StyleID: w.headerStyle, Value: h}
	}
	return w, w.add(cells)
}

func ptr[T any](v T) *T { return &v }

func (w *sheetWriter) add(cells []any) error {
	cell, err := excelize.CoordinatesToCellName(1, w.row)
	if err != nil {
		return err
	}
	w.row++
	return w.sw.SetRow(cell, cells)
}

// amount is a CLP cell.
func (w *sheetWriter) amount(n int64) any { return excelize.Cell{StyleID: w.clp, Value: n} }

// when is a date cell in Chile's wall-clock time (a spreadsheet's dates have
// no zone), or an empty cell.
func (w *sheetWriter) when(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	local := t.In(views.Santiago)
	wall := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, time.UTC)
	return excelize.Cell{StyleID: w.date, Value: wall}
}

// finish writes the spreadsheet to out. excelize's Write gathers the whole
// zip in a buffer before writing it (WriteToBuffer); its zip writer is
// pointed at out instead, so the file goes out as it is zipped and the
// buffer stays empty.
func (w *sheetWriter) finish(out *bufio.Writer) error {
	if err := w.sw.Flush(); err != nil {
		return err
	}
	defer w.f.Close()
	w.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(out) })
	return w.f.Write(io.Discard)
}

// exportSessionsXLSX is GET /admin/sessions.xlsx: the same rows as the CSV
// (and the list), as a real spreadsheet for people.
func (a *app) exportSessionsXLSX(c *fiber.Ctx) error {
	p, errs := parseSessionParams(c)
	if len(errs) > 0 {
		return fiber.NewError(fiber.StatusBadRequest, a.locale(c).T("sessions.invalid_filters", ""))
	}
	l := a.locale(c)
	mask := views.ForViewer(currentUser(c))
	ctx := c.UserContext()
	header := []string{l.T("col.order"), l.T("col.amount"), l.T("col.status"), "payment_status", "payment_token",
		"session_token", l.T("xlsx.col.mode"), l.T("col.created"), l.T("xlsx.col.paid_at"), l.T("xlsx.col.failed_at"),
		l.T("xlsx.col.last_notification"), l.T("xlsx.col.email")}
	w, err := newSheetWriter(header)
	if err != nil {
		return err
	}
	setDownload(c, "sesiones", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	a.audit(c, models.AuditExport, "xlsx "+string(c.Request().URI().QueryString()))
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		err := a.Store.EachSession(ctx, p.filter, func(s *models.SessionExport) error {
			email := s.CustomerEmail
			if mask {
				email = views.MaskEmail(email)
			}
			return w.add([]any{s.MerchantOrderID, w.amount(s.Amount), l.T("status." + s.Status), s.PaymentStatus, s.PaymentToken,
				s.SessionToken, s.Mode, w.when(&s.CreatedAt), w.when(s.PaidAt), w.when(s.FailedAt), w.when(s.LastNotificationAt), email})
		})
		if err == nil {
			err = w.finish(bw)
		}
		if err != nil {
			a.Logger.Error("xlsx export failed", "err", err)
		}
	})
	return nil
}

// setDownload names a download after what it holds and today's date in
// Chile: sesiones-2026-11-30.xlsx.
func setDownload(c *fiber.Ctx, what, ext, contentType string) {
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+what+"-"+time.Now().In(views.Santiago).Format("2006-01-02")+"."+ext+`"`)
}
