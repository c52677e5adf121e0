package handlers

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// pageSize is how many sessions one page of the table shows.
const pageSize = 50

// sessionParams is the sessions list's query string: q, status, mode, from,
// to, sort and after. The strings refill the filter form as typed; filter and
// after are what the Store gets.
type sessionParams struct {
	Q, Status, Mode, From, To, Sort string

	filter models.SessionFilter
	after  *models.SessionCursor
}

// parseSessionParams reads and checks the query string. Every value is either
// from a fixed list, a strict date, a strict cursor or a bounded search text;
// anything else is a field error, never silently dropped.
func parseSessionParams(c *fiber.Ctx) (sessionParams, models.FieldErrors) {
	p := sessionParams{
		Q:      strings.TrimSpace(c.Query("q")),
		Status: c.Query("status"),
		Mode:   c.Query("mode"),
		From:   c.Query("from"),
		To:     c.Query("to"),
		Sort:   c.Query("sort"),
	}
	errs := models.FieldErrors{}
	if len(p.Q) > models.MaxSearchLen || !utf8.ValidString(p.Q) || strings.ContainsFunc(p.Q, isControlRune) {
		errs["q"] = models.FieldError{Key: "sessions.invalid_q", Args: []any{models.MaxSearchLen}}
	}
	if p.Status != "" && !slices.Contains([]string{models.StatusPending, models.StatusPaid, models.StatusFailed}, p.Status) {
		errs["status"] = models.FieldError{Key: "sessions.invalid_status"}
	}
	if p.Mode != "" && !slices.Contains([]string{string(config.ModeLive), string(config.ModeSandbox)}, p.Mode) {
		errs["mode"] = models.FieldError{Key: "sessions.invalid_mode"}
	}
	if p.Sort != "" && !slices.Contains(models.SessionSorts, p.Sort) {
		errs["sort"] = models.FieldError{Key: "sessions.invalid_sort"}
	}
	from, fromOK := parseSessionDay(p.From)
	if !fromOK {
		errs["from"] = models.FieldError{Key: "sessions.invalid_date"}
	}
	to, toOK := parseSessionDay(p.To)
	if !toOK {
		errs["to"] = models.FieldError{Key: "sessions.invalid_date"}
	}
	if fromOK && toOK && !from.IsZero() && !to.IsZero() && from.After(to) {
		errs["from"] = models.FieldError{Key: "sessions.invalid_range"}
	}
	if raw := c.Query("after"); raw != "" {
		cur, err := models.ParseSessionCursor(raw)
		if err != nil {
			errs["after"] = models.FieldError{Key: "sessions.invalid_after"}
		} else {
			p.after = &cur
		}
	}
	p.filter = models.SessionFilter{Q: p.Q, Status: p.Status, Mode: p.Mode, Sort: p.Sort,
		ExactOnly: views.ForViewer(currentUser(c))}
	if !from.IsZero() {
		p.filter.From = models.DayStart(from.Year(), from.Month(), from.Day(), views.Santiago)
	}
	if !to.IsZero() {
		// "to" is inclusive: the bound is the start of the next day.
		next := to.AddDate(0, 0, 1)
		p.filter.Until = models.DayStart(next.Year(), next.Month(), next.Day(), views.Santiago)
	}
	return p, errs
}

func isControlRune(r rune) bool { return r < 0x20 || r == 0x7f }

// parseSessionDay reads a YYYY-MM-DD calendar day; empty is "no bound" (ok, zero).
func parseSessionDay(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || d.Format(time.DateOnly) != s || d.Year() < models.FirstUserYear || d.Year() > models.LastUserYear {
		return time.Time{}, false
	}
	return d, true
}

// values is the query string that reproduces this view (without a page
// cursor), for the export link, the next page and the first page.
func (p sessionParams) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"q", p.Q}, {"status", p.Status}, {"mode", p.Mode}, {"from", p.From}, {"to", p.To}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if p.Sort != "" && p.Sort != models.SortDate {
		v.Set("sort", p.Sort)
	}
	return v
}

// urlWithQuery joins a path and a query string, leaving out an empty "?".
func urlWithQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// sessionOption is one choice of a filter's select.
type sessionOption struct {
	Value, Label string
	Selected     bool
}

func sessionOptions(l views.Locale, current string, pairs ...string) []sessionOption {
	out := make([]sessionOption, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, sessionOption{Value: pairs[i], Label: l.T(pairs[i+1]), Selected: pairs[i] == current})
	}
	return out
}

func (a *app) listSessions(c *fiber.Ctx) error {
	l := a.locale(c)
	p, errs := parseSessionParams(c)
	data := fiber.Map{
		"Title": l.T("sessions.title"),
		"Form":  p,
		"StatusOptions": sessionOptions(l, p.Status, "", "sessions.any",
			models.StatusPending, "sessions.option.pending", models.StatusPaid, "sessions.option.paid", models.StatusFailed, "sessions.option.failed"),
		"ModeOptions": sessionOptions(l, p.Mode, "", "sessions.any",
			string(config.ModeLive), "sessions.mode_live", string(config.ModeSandbox), "sessions.mode_sandbox"),
		"SortOptions": sessionOptions(l, cmp.Or(p.Sort, models.SortDate), models.SortDate, "sessions.sort_date", models.SortDateAsc, "sessions.sort_date_asc",
			models.SortAmount, "sessions.sort_amount", models.SortAmountAsc, "sessions.sort_amount_asc"),
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
	rows, err := a.Store.ListSessions(c.UserContext(), models.SessionPage{SessionFilter: p.filter, After: p.after, Limit: pageSize + 1})
	if err != nil {
		return err
	}
	if len(rows) > pageSize {
		rows = rows[:pageSize]
		next := p.values()
		next.Set("after", p.filter.CursorAfter(&rows[len(rows)-1]).String())
		data["NextURL"] = urlWithQuery("/admin/sessions", next)
	}
	if p.after != nil {
		data["FirstURL"] = urlWithQuery("/admin/sessions", p.values())
	}
	data["Sessions"] = rows
	return a.render(c, fiber.StatusOK, "admin/sessions", data)
}
