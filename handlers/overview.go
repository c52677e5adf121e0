package handlers

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/backups"
	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// What the overview page covers.
const (
	chartDays         = 30
	stalePendingAfter = 15 * time.Minute
	rejectedWindow    = 24 * time.Hour
	attentionLimit    = 20
)

// Modes the overview can show: ?mode=live, ?mode=sandbox or ?mode=all.
const (
	overviewLive    = "live"
	overviewSandbox = "sandbox"
	overviewAll     = "all"
)

// modeChoice is one button of the mode toggle.
type modeChoice struct {
	Value, Label string
	Current      bool
}

// showOverview is GET /admin/overview: money collected, counts, conversion,
// a 30-day chart and what needs a person, for one mode (?mode=).
func (a *app) showOverview(c *fiber.Ctx) error {
	mode := a.overviewMode(c.Query("mode"))
	storeMode := mode
	if mode == overviewAll {
		storeMode = ""
	}
	ctx := c.UserContext()
	now := time.Now()
	o, err := a.Store.Overview(ctx, models.OverviewQuery{Mode: storeMode, Now: now, Loc: views.Santiago, Days: chartDays})
	if err != nil {
		return err
	}
	att, err := a.Store.NeedsAttention(ctx, models.AttentionQuery{
		Mode:          storeMode,
		RejectedSince: now.Add(-rejectedWindow),
		PendingBefore: now.Add(-stalePendingAfter),
		Limit:         attentionLimit,
	})
	if err != nil {
		return err
	}

	l := a.locale(c)
	conversion := "—"
	if pct, ok := o.Conversion(); ok {
		conversion = l.T("overview.percent", pct)
	}
	var modes []modeChoice
	for _, m := range []string{overviewLive, overviewSandbox, overviewAll} {
		modes = append(modes, modeChoice{Value: m, Label: l.T("overview.mode." + m), Current: m == mode})
	}
	linkStatuses := []string{models.LinkOpen, models.LinkExpired, models.LinkPaid, models.LinkCancelled}
	sessionStatuses := []string{models.StatusPending, models.StatusPaid, models.StatusFailed}
	return a.render(c, fiber.StatusOK, "admin/overview", fiber.Map{
		"Title":      l.T("overview.title"),
		"Mode":       mode,
		"Modes":      modes,
		"Overview":   o,
		"Conversion": conversion,
		"Chart":      buildChart(l, o.Days),
		"Attention":  att,
		"BackupLate": a.backupLate(l, now),
		"PendingURL": listURL("/admin/sessions", models.StatusPending, storeMode),
		// Every count links to the list it counts.
		"SessionListURLs": listURLs("/admin/sessions", sessionStatuses, storeMode),
		"LinkListURLs":    listURLs("/admin/links", linkStatuses, storeMode),
		"LinksURL":        listURL("/admin/links", "", storeMode),
		// Written as staff read sizes: "4 MiB".
		"RejectedBodyBudget": strconv.Itoa(models.RejectedBodyBudget>>20) + " MiB",
		"CanEdit":            currentUser(c).Role != models.RoleViewer,
		// The order rows are listed in.
		"SessionStatuses": sessionStatuses,
		"LinkStatuses":    linkStatuses,
	})
}

// listURL is the list at path filtered by status and mode (either may be empty).
func listURL(path, status, mode string) string {
	v := url.Values{}
	if status != "" {
		v.Set("status", status)
	}
	if mode != "" {
		v.Set("mode", mode)
	}
	return urlWithQuery(path, v)
}

// listURLs is listURL for each status.
func listURLs(path string, statuses []string, mode string) map[string]string {
	out := make(map[string]string, len(statuses))
	for _, s := range statuses {
		out[s] = listURL(path, s, mode)
	}
	return out
}

// overviewMode picks the mode to show: the one asked for, or by default live
// figures, except in a sandbox app, which has no live payments to show.
func (a *app) overviewMode(asked string) string {
	switch asked {
	case overviewLive, overviewSandbox, overviewAll:
		return asked
	}
	if a.Config.Mode == config.ModeSandbox {
		return overviewSandbox
	}
	return overviewLive
}

// chart is a bar chart of daily amounts, laid out here so the template only
// copies numbers into SVG attributes. Across, positions are percentages of
// the chart's width, so it fills any screen while its text keeps its size;
// down, they are pixels.
type chart struct {
	Height      int
	Top, Bottom int // the plot area's top and baseline
	LabelY      int // baseline of the date labels
	MaxLabel    string
	Summary     string // the aria-label: what the chart says, in words
	Bars        []chartBar
	Labels      []chartLabel
}

// chartBar is one day: Slot spans the day's whole column (so hovering a
// zero-height bar still shows its title), Bar is the drawn bar.
type chartBar struct {
	Slot, Bar rect
	Title     string
	Date      string
	Amount    int64
}

// rect is X and W in percent of the width, Y and H in pixels.
type rect struct {
	X, W float64
	Y, H int
}

// chartLabel is a date under the bars at X percent; Anchor is the SVG text-anchor.
type chartLabel struct {
	X      float64
	Text   string
	Anchor string
}

// Chart geometry, in pixels down the chart.
const (
	chartHeight = 200
	chartTop    = 24
	chartBottom = 176
	chartLabelY = 194
)

func buildChart(l views.Locale, days []models.DayTotal) chart {
	ch := chart{Height: chartHeight, Top: chartTop, Bottom: chartBottom, LabelY: chartLabelY}
	if len(days) == 0 {
		return ch
	}
	var peak, total int64
	peakDay := days[0].Day
	for _, d := range days {
		total += d.Amount
		if d.Amount > peak {
			peak, peakDay = d.Amount, d.Day
		}
	}
	slot := 100 / float64(len(days))
	barW := slot * 0.7
	plotH := int64(chartBottom - chartTop)
	for i, d := range days {
		h := 0
		if peak > 0 && d.Amount > 0 {
			h = max(int(d.Amount*plotH/peak), 1) // a small payment still shows
		}
		x := float64(i) * slot
		date := d.Day.In(views.Santiago).Format("02-01-2006")
		ch.Bars = append(ch.Bars, chartBar{
			Slot:   rect{X: round2(x), W: round2(slot), Y: chartTop, H: int(plotH)},
			Bar:    rect{X: round2(x + (slot-barW)/2), W: round2(barW), Y: chartBottom - h, H: h},
			Title:  l.T("overview.chart.bar", date, l.CLP(d.Amount)),
			Date:   date,
			Amount: d.Amount,
		})
	}
	// A few dates under the bars: the first, two in between and today.
	last := len(days) - 1
	for _, i := range []int{0, last / 3, 2 * last / 3, last} {
		lb := chartLabel{X: round2((float64(i) + 0.5) * slot), Text: days[i].Day.In(views.Santiago).Format("02-01"), Anchor: "middle"}
		switch i {
		case 0:
			lb.X, lb.Anchor = 0, "start"
		case last:
			lb.X, lb.Anchor = 100, "end"
		}
		ch.Labels = append(ch.Labels, lb)
	}
	ch.MaxLabel = l.T("overview.chart.max", l.CLP(peak))
	if peak == 0 {
		ch.Summary = l.T("overview.chart.summary_empty", len(days))
	} else {
		ch.Summary = l.T("overview.chart.summary", len(days), l.CLP(total), peakDay.In(views.Santiago).Format("02-01-2006"), l.CLP(peak))
	}
	return ch
}

// round2 keeps two decimals, enough for a percentage of a chart's width.
func round2(f float64) float64 { return math.Round(f*100) / 100 }

// backupLate is the overview's warning when scheduled backups are on and the
// newest good one is older than twice their interval (or there is none);
// empty otherwise.
func (a *app) backupLate(l views.Locale, now time.Time) string {
	if a.Config.BackupDir == "" {
		return ""
	}
	every := l.Duration(a.Config.BackupEvery)
	last, err := backups.Newest(a.Config.BackupDir)
	switch {
	case errors.Is(err, backups.ErrNone):
		if now.Sub(a.started) < 2*a.Config.BackupEvery {
			return "" // the first one is on its way
		}
		return l.T("overview.backup.none", every)
	case err != nil:
		return l.T("overview.backup.unreadable", a.Config.BackupDir)
	case backups.Late(last, a.Config.BackupEvery, now):
		return l.T("overview.backup.late", l.Time(last), every)
	}
	return ""
}
