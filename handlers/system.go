package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/doctor"
	"etpay-dashboard/views"
)

// systemRow is one check as the page shows it.
type systemRow struct {
	Level         string // ok, warn or fail: a stable hook for tests and styles
	Label, Badge  string
	Check, Advice string
}

// showSystem is "Estado del sistema": the `doctor` command's checks, run
// now, read-only, for merchants without a shell. Each load asks ETpay and
// the mail server once (nothing is sent or changed), so it is for admins.
func (a *app) showSystem(c *fiber.Ctx) error {
	results := doctor.Run(c.UserContext(), doctor.Env{Config: a.Config, Store: a.Store})
	l := a.locale(c)
	rows := make([]systemRow, len(results))
	for i, r := range results {
		rows[i] = levelRow(l, r.Level)
		rows[i].Check = l.T(r.Check.Key, r.Check.Args...)
		rows[i].Advice = l.T(r.Advice.Key, r.Advice.Args...)
	}
	verdict := levelRow(l, doctor.Verdict(results))
	fails, warns := doctor.Count(results, doctor.Fail), doctor.Count(results, doctor.Warn)
	switch {
	case fails > 0:
		verdict.Advice = l.T("system.verdict.fail", fails, warns)
	case warns > 0:
		verdict.Advice = l.T("system.verdict.warn", warns)
	default:
		verdict.Advice = l.T("system.verdict.ok")
	}
	return a.render(c, fiber.StatusOK, "admin/system", fiber.Map{
		"Title":   l.T("system.title"),
		"Styles":  []string{"/static/css/system.css"},
		"Checked": l.Time(time.Now()),
		"Verdict": verdict,
		"Rows":    rows,
	})
}

// levelRow is a row with level's label and badge colour.
func levelRow(l views.Locale, level doctor.Level) systemRow {
	switch level {
	case doctor.OK:
		return systemRow{Level: "ok", Label: l.T("system.level.ok"), Badge: "badge-paid"}
	case doctor.Warn:
		return systemRow{Level: "warn", Label: l.T("system.level.warn"), Badge: "badge-pending"}
	}
	return systemRow{Level: "fail", Label: l.T("system.level.fail"), Badge: "badge-failed"}
}
