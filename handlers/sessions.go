package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// sessionStatuses are the words the sessions list's status filter takes.
var sessionStatuses = []string{models.StatusPending, models.StatusPaid, models.StatusFailed}

// parseSessionParams reads the sessions list's query string (see listParams).
func parseSessionParams(c *fiber.Ctx) (listParams, models.FieldErrors) {
	return parseListParams(c, sessionStatuses, "sessions.invalid_status")
}

// listSessions is GET /admin/sessions: one page of the live table, how many
// sessions the filter matches and what they paid, and its page links.
func (a *app) listSessions(c *fiber.Ctx) error {
	l := a.locale(c)
	p, errs := parseSessionParams(c)
	modes, sorts := modeAndSortOptions(l, p)
	data := fiber.Map{
		"Title": l.T("sessions.title"),
		"Form":  p,
		"StatusOptions": listOptions(l, p.Status, "", "sessions.any",
			models.StatusPending, "sessions.option.pending", models.StatusPaid, "sessions.option.paid", models.StatusFailed, "sessions.option.failed"),
		"ModeOptions":   modes,
		"SortOptions":   sorts,
		"Ranges":        quickRanges(l, "/admin/sessions", p, time.Now()),
		"ListPath":      "/admin/sessions",
		"FiltersLabel":  "sessions.filters",
		"QHint":         l.T(searchHint(c)),
		"ExportURL":     urlWithQuery("/admin/sessions.csv", p.values()),
		"ExportXLSXURL": urlWithQuery("/admin/sessions.xlsx", p.values()),
		"Filtered":      p.filter.Active(),
		"Errors":        map[string]string{},
		"Scripts":       []string{"/static/js/live.js"},
	}
	if len(errs) > 0 {
		data["Errors"] = fieldMessages(l, errs)
		return a.render(c, fiber.StatusBadRequest, "admin/sessions", data)
	}
	ctx := c.UserContext()
	totals, err := a.Store.CountSessions(ctx, p.filter)
	if err != nil {
		return err
	}
	rows, err := a.Store.ListSessions(ctx, models.SessionPage{SessionFilter: p.filter, After: p.after, Before: p.before,
		Limit: pageSize + 1, Found: &totals.Found})
	if err != nil {
		return err
	}
	rows, pg := paged("/admin/sessions", p, rows, func(s *models.Session) models.SessionCursor { return p.filter.CursorAfter(s) })
	data["Sessions"] = rows
	data["Pager"] = pg
	data["Count"] = sessionsCount(l, totals)
	return a.render(c, fiber.StatusOK, "admin/sessions", data)
}

// sessionsCount says how many sessions the list holds and, when they were
// summed, what they paid. A broad search is counted only up to
// models.BroadSearch, and then not summed: the page says so.
func sessionsCount(l views.Locale, t models.SessionTotals) string {
	switch {
	case t.More:
		return l.T("lists.count_sessions_more", t.Count)
	case !t.Summed:
		return l.T("lists.count_sessions_all", t.Count)
	}
	return l.T("lists.count_sessions", t.Count, l.CLP(t.Paid))
}

// searchHint says what the search box finds for this user: viewers search
// exact ids only.
func searchHint(c *fiber.Ctx) string {
	if views.ForViewer(currentUser(c)) {
		return "lists.q_hint_exact"
	}
	return "lists.q_hint"
}
