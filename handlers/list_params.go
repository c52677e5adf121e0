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

// What the sessions and links lists share: their query string, its page
// links both ways, and the quick date ranges.

// pageSize is how many rows one page of a list shows.
const pageSize = 50

// listParams is a list's query string: q, status, mode, from, to, sort, after
// and before. The strings refill the filter form as typed; filter and the
// cursors are what the Store gets.
type listParams struct {
	Q, Status, Mode, From, To, Sort string

	filter        models.SessionFilter
	after, before *models.SessionCursor
}

// parseListParams reads and checks the query string; statuses are the words
// the list's status filter takes, and statusErr the message for any other.
// Every value is either from a fixed list, a strict date, a strict cursor or
// a bounded search text; anything else is a field error, never dropped.
func parseListParams(c *fiber.Ctx, statuses []string, statusErr string) (listParams, models.FieldErrors) {
	p, errs := parseListFilter(c, statuses, statusErr)
	p.after = parseCursor(c.Query("after"), "after", errs)
	p.before = parseCursor(c.Query("before"), "before", errs)
	if p.after != nil && p.before != nil {
		errs["before"] = models.FieldError{Key: "lists.invalid_both_cursors"}
	}
	return p, errs
}

// parseListFilter reads and checks the filter of a list's query string, its
// page cursors aside (the panel's and the API's differ).
func parseListFilter(c *fiber.Ctx, statuses []string, statusErr string) (listParams, models.FieldErrors) {
	p := listParams{
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
	if p.Status != "" && !slices.Contains(statuses, p.Status) {
		errs["status"] = models.FieldError{Key: statusErr}
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

// parseCursor reads the page cursor of field; a bad one is a field error.
func parseCursor(raw, field string, errs models.FieldErrors) *models.SessionCursor {
	if raw == "" {
		return nil
	}
	cur, err := models.ParseSessionCursor(raw)
	if err != nil {
		errs[field] = models.FieldError{Key: "sessions.invalid_after"}
		return nil
	}
	return &cur
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
// cursor), for the export link, the page links and the first page.
func (p listParams) values() url.Values {
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

// pager is where a list page's links lead: the page before it, the one after
// it, and the first page.
type pager struct {
	PrevURL, NextURL, FirstURL string
}

// paged trims rows, read with pageSize+1 as the limit, to one page and says
// where its page links lead. The extra row only tells that there is more
// on its side: after the page going forward, before it going back. at is
// the cursor of a row.
func paged[T any](path string, p listParams, rows []T, at func(*T) models.SessionCursor) ([]T, pager) {
	var pg pager
	more := len(rows) > pageSize
	back := p.before != nil
	if more && back {
		rows = rows[1:]
	} else if more {
		rows = rows[:pageSize]
	}
	link := func(name string, row *T) string {
		v := p.values()
		v.Set(name, at(row).String())
		return urlWithQuery(path, v)
	}
	if len(rows) > 0 {
		// Going back, the rows after the page are the ones just left; going
		// forward from a cursor, so are the ones before it.
		if more || back {
			pg.NextURL = link("after", &rows[len(rows)-1])
		}
		if (more && back) || p.after != nil {
			pg.PrevURL = link("before", &rows[0])
		}
	}
	if p.after != nil || p.before != nil {
		pg.FirstURL = urlWithQuery(path, p.values())
	}
	return rows, pg
}

// listOption is one choice of a filter's select.
type listOption struct {
	Value, Label string
	Selected     bool
}

func listOptions(l views.Locale, current string, pairs ...string) []listOption {
	out := make([]listOption, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, listOption{Value: pairs[i], Label: l.T(pairs[i+1]), Selected: pairs[i] == current})
	}
	return out
}

// modeAndSortOptions are the mode and sort selects both lists have.
func modeAndSortOptions(l views.Locale, p listParams) (modes, sorts []listOption) {
	modes = listOptions(l, p.Mode, "", "sessions.any",
		string(config.ModeLive), "sessions.mode_live", string(config.ModeSandbox), "sessions.mode_sandbox")
	sorts = listOptions(l, cmp.Or(p.Sort, models.SortDate), models.SortDate, "sessions.sort_date", models.SortDateAsc, "sessions.sort_date_asc",
		models.SortAmount, "sessions.sort_amount", models.SortAmountAsc, "sessions.sort_amount_asc")
	return modes, sorts
}

// dayRange is a quick date range: the days it sets as from and to.
type dayRange struct {
	Key      string // its text's key
	From, To string // YYYY-MM-DD, Santiago days, both inclusive
}

// dayRanges are the quick date ranges on the Santiago day of now: today, the
// last 7 days (today included), this month so far, and last month.
func dayRanges(now time.Time) []dayRange {
	y, m, d := now.In(views.Santiago).Date()
	// Calendar arithmetic on a date alone: noon UTC never crosses a day.
	day := func(y int, m time.Month, d int) string {
		return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	today := day(y, m, d)
	return []dayRange{
		{"lists.range.today", today, today},
		{"lists.range.week", day(y, m, d-6), today},
		{"lists.range.month", day(y, m, 1), today},
		{"lists.range.last_month", day(y, m-1, 1), day(y, m, 0)},
	}
}

// quickRange is a quick date range as the page links it.
type quickRange struct {
	Label, URL string
	Current    bool
}

// quickRanges link the list at path, with p's other filters, to each of the
// day ranges of now.
func quickRanges(l views.Locale, path string, p listParams, now time.Time) []quickRange {
	var out []quickRange
	for _, r := range dayRanges(now) {
		v := p.values()
		v.Set("from", r.From)
		v.Set("to", r.To)
		out = append(out, quickRange{Label: l.T(r.Key), URL: urlWithQuery(path, v), Current: p.From == r.From && p.To == r.To})
	}
	return out
}
