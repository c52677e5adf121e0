package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// linkRow is one row of the links list, as the page shows it.
type linkRow struct {
	models.LinkRow
	// Status is the link's status as the list shows it (expired included).
	Status string
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
	shown := make([]linkRow, len(rows))
	for i := range rows {
		shown[i] = linkRow{LinkRow: rows[i], Status: rows[i].ListStatus(now)}
	}
	data["Links"] = shown
	data["Pager"] = pg
	data["Count"] = l.T("lists.count_links", n.Count)
	if n.More { // a broad search, counted up to models.BroadSearch
		data["Count"] = l.T("lists.count_links_more", n.Count)
	}
	return a.render(c, fiber.StatusOK, "admin/links", data)
}
