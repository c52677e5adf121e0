package handlers

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/config"
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
	data["Sessions"] = sessionRowsHTML(sessionLines(l, rows, a.Config.Mode == config.ModeSandbox))
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

// sessionLine is one row of the sessions table, formatted once in Go and
// written as markup by sessionRowsHTML. Row is the live table's row
// (newSessionRow), so both say the same; the rest only the page shows.
type sessionLine struct {
	Row sessionRow
	// LinkURL and LinkLabel lead to the session's payment link.
	LinkURL, LinkLabel string
	// ModeTag: the row's mode is not the app's, so the row says it.
	ModeTag bool
	// Cols names the columns, for each cell's data-label: a phone shows
	// each row as a card.
	Cols map[string]string
}

// sessionLines formats rows for the sessions table; sandbox is the app's mode.
func sessionLines(l views.Locale, rows []models.Session, sandbox bool) []sessionLine {
	cols := map[string]string{"order": l.T("col.order"), "amount": l.T("col.amount"), "status": l.T("col.status"),
		"payment_token": l.T("col.payment_token"), "created": l.T("col.created"), "paid": l.T("col.paid"),
		"last_notification": l.T("col.last_notification"), "link": l.T("links_list.order_link")}
	lines := make([]sessionLine, len(rows))
	for i := range rows {
		s := &rows[i]
		lines[i] = sessionLine{
			Row:       newSessionRow(*s, l),
			LinkURL:   "/admin/links/" + strconv.FormatUint(uint64(s.LinkID), 10),
			LinkLabel: l.T("links_list.order_link_label", s.MerchantOrderID),
			ModeTag:   (s.Mode == "sandbox") != sandbox,
			Cols:      cols,
		}
	}
	return lines
}
