package handlers

import (
	"bufio"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// linksExportPage is how many links one query of the export reads: keyset
// pages, so a slow download holds no connection for long. It must be a size
// the list query takes, or the loop below stops after a default page.
const linksExportPage = models.MaxPageLimit

// exportLinksXLSX is GET /admin/links.xlsx: the links the list's query
// selects, every page of them, as a spreadsheet for people.
func (a *app) exportLinksXLSX(c *fiber.Ctx) error {
	p, errs := parseListParams(c, models.LinkStatuses, "links_list.invalid_status")
	l := a.locale(c)
	if len(errs) > 0 {
		return fiber.NewError(fiber.StatusBadRequest, l.T("sessions.invalid_filters", ""))
	}
	mask := views.ForViewer(currentUser(c))
	now := time.Now()
	f := models.LinkFilter{SessionFilter: p.filter, Now: now}
	header := []string{l.T("col.order"), l.T("col.amount"), l.T("xlsx.col.email"), l.T("col.status"), l.T("xlsx.col.mode"),
		l.T("xlsx.col.created_by"), l.T("col.created"), l.T("xlsx.col.last_opened"), l.T("xlsx.col.link_email"), l.T("xlsx.col.expires_at")}
	w, err := newSheetWriter(header)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	setDownload(c, "links", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	a.audit(c, models.AuditExport, "links xlsx "+string(c.Request().URI().QueryString()))
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		// A search is looked up once, and every page read from what it found.
		var found *models.Found
		if f.Q != "" {
			n, err := a.Store.CountLinks(ctx, f)
			if err != nil {
				a.Logger.Error("xlsx export failed", "err", err)
				return
			}
			found = &n
		}
		var after *models.SessionCursor
		for {
			rows, err := a.Store.ListLinks(ctx, models.LinkPage{LinkFilter: f, After: after, Limit: linksExportPage, Found: found})
			if err == nil {
				err = a.addLinkRows(w, l, rows, mask, now)
			}
			if err != nil {
				a.Logger.Error("xlsx export failed", "err", err)
				return
			}
			if len(rows) < linksExportPage {
				break
			}
			cur := f.CursorAfter(&rows[len(rows)-1].Link)
			after = &cur
		}
		if err := w.finish(bw); err != nil {
			a.Logger.Error("xlsx export failed", "err", err)
		}
	})
	return nil
}

func (a *app) addLinkRows(w *sheetWriter, l views.Locale, rows []models.LinkRow, mask bool, now time.Time) error {
	for _, r := range rows {
		email := r.CustomerEmail
		if mask {
			email = views.MaskEmail(email)
		}
		mailStatus := l.T("links_list.email_none")
		if r.EmailStatus != "" {
			mailStatus = l.T("mail.status." + r.EmailStatus)
		}
		status := r.ListStatus(now)
		if err := w.add([]any{r.MerchantOrderID, w.amount(r.Amount), email, l.T("link_status." + status), r.Mode, r.CreatedByEmail,
			w.when(&r.CreatedAt), w.when(r.LastOpenedAt), mailStatus, w.when(r.ExpiresAt)}); err != nil {
			return err
		}
	}
	return nil
}
