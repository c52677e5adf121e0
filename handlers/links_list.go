package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// linkRow is one row of the links list, formatted once in Go (as
// sessionLine is, for the same reasons: no methods called from the
// template, no embedded structs searched for each field).
type linkRow struct {
	ID                    uint
	MerchantOrderID, Mode string
	// Status is the link's status as the list shows it (expired included).
	Status string
	// The cells' texts: the amount, the email (masked for viewers), the
	// status, who made the link, when it was made and last opened.
	Amount, Email, StatusLabel, CreatedBy, Created, LastOpened string
	// MailStatus is the status of its email; MailText says when none went.
	MailStatus, MailText string
	// ModeTag: the link's mode is not the app's, so the row says it.
	ModeTag bool
	// Cols names the columns, for each cell's data-label.
	Cols map[string]string
}

// linkRows formats rows for the links list.
func linkRows(l views.Locale, rows []models.LinkRow, mask, sandbox bool, now time.Time) []linkRow {
	cols := map[string]string{"order": l.T("col.order"), "amount": l.T("col.amount"), "email": l.T("field.customer_email"),
		"status": l.T("col.status"), "created_by": l.T("col.created_by"), "created": l.T("links_list.col.created"),
		"last_opened": l.T("links_list.col.last_opened"), "link_email": l.T("links_list.col.email")}
	shown := make([]linkRow, len(rows))
	for i := range rows {
		r := &rows[i]
		row := linkRow{ID: r.ID, MerchantOrderID: r.MerchantOrderID, Mode: r.Mode, Status: r.ListStatus(now), Amount: l.CLP(r.Amount),
			Email: "—", CreatedBy: r.CreatedByEmail, Created: l.Time(r.CreatedAt), LastOpened: l.Time(r.LastOpenedAt),
			MailStatus: r.EmailStatus, ModeTag: (r.Mode == "sandbox") != sandbox, Cols: cols}
		row.StatusLabel = l.T("link_status." + row.Status)
		if r.CustomerEmail != "" {
			row.Email = r.CustomerEmail
			if mask {
				row.Email = views.MaskEmail(r.CustomerEmail)
			}
		}
		if row.CreatedBy == "" {
			row.CreatedBy = l.T("link.created_by_cli")
		}
		if r.EmailStatus == "" {
			row.MailText = l.T("links_list.email_none")
		}
		shown[i] = row
	}
	return shown
}

// listLinks is GET /admin/links: every payment link, with the sessions
// list's search, filters, sorts and pages; status takes the link words
// open, expired, paid and cancelled.
func (a *app) listLinks(c *fiber.Ctx) error {
	l := a.locale(c)
	p, errs := parseListParams(c, models.LinkStatuses, "links_list.invalid_status")
	now := time.Now()
	modes, sorts := modeAndSortOptions(l, p)
	statuses := []string{"", "sessions.any"}
	for _, s := range models.LinkStatuses {
		statuses = append(statuses, s, "link_status."+s)
	}
	data := fiber.Map{
		"Title":         l.T("links_list.title"),
		"Form":          p,
		"StatusOptions": listOptions(l, p.Status, statuses...),
		"ModeOptions":   modes,
		"SortOptions":   sorts,
		"Ranges":        quickRanges(l, "/admin/links", p, now),
		"ExportXLSXURL": urlWithQuery("/admin/links.xlsx", p.values()),
		"ListPath":      "/admin/links",
		"FiltersLabel":  "links_list.filters",
		"QHint":         l.T(searchHint(c)),
		"Filtered":      p.filter.Active(),
		"Errors":        map[string]string{},
		"CanEdit":       currentUser(c).Role != models.RoleViewer,
	}
	if len(errs) > 0 {
		data["Errors"] = fieldMessages(l, errs)
		return a.render(c, fiber.StatusBadRequest, "admin/links", data)
	}
	ctx := c.UserContext()
	f := models.LinkFilter{SessionFilter: p.filter, Now: now}
	n, err := a.Store.CountLinks(ctx, f)
	if err != nil {
		return err
	}
	rows, err := a.Store.ListLinks(ctx, models.LinkPage{LinkFilter: f, After: p.after, Before: p.before, Limit: pageSize + 1, Found: &n})
	if err != nil {
		return err
	}
	rows, pg := paged("/admin/links", p, rows, func(r *models.LinkRow) models.SessionCursor { return f.CursorAfter(&r.Link) })
	data["Links"] = linkRows(l, rows, views.ForViewer(currentUser(c)), a.Config.Mode == config.ModeSandbox, now)
	data["Pager"] = pg
	data["Count"] = l.T("lists.count_links", n.Count)
	if n.More { // a broad search, counted up to models.BroadSearch
		data["Count"] = l.T("lists.count_links_more", n.Count)
	}
	return a.render(c, fiber.StatusOK, "admin/links", data)
}
