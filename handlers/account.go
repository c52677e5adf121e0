package handlers

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

func (a *app) showAccount(c *fiber.Ctx) error {
	return a.renderAccount(c, fiber.StatusOK, nil, "")
}

func (a *app) renderAccount(c *fiber.Ctx, status int, errs map[string]string, alert string) error {
	l := a.locale(c)
	if errs == nil {
		errs = map[string]string{}
	}
	mailAlerts, err := a.Store.MailAlertsOn(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	secondFactor, err := a.Store.HasSecondFactor(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return a.render(c, status, "admin/account", fiber.Map{
		"MailAlerts": mailAlerts,
		"Title":      l.T("account.title"),
		"Languages":  views.Languages,
		"Errors":     errs,
		"Alert":      alert,
		"TOTP":       secondFactor,
	})
}

// changeOwnPassword needs the current password, so a browser left open is not
// enough to take the account over. It ends the user's other sessions and
// keeps this one. Wrong guesses count against the login throttle.
func (a *app) changeOwnPassword(c *fiber.Ctx) error {
	user := currentUser(c)
	l := a.locale(c)
	current := c.FormValue("current_password")
	next := c.FormValue("new_password")
	ip := a.clientIP(c)
	if !a.throttle.Allow(ip, user.Email) {
		return a.renderAccount(c, fiber.StatusTooManyRequests, nil, l.T("login.throttled"))
	}
	errs := models.FieldErrors{}
	switch {
	case current == "":
		errs["current_password"] = models.FieldError{Key: "account.invalid.current_required"}
	case !models.PasswordMatches(user.PasswordHash, current):
		errs["current_password"] = models.FieldError{Key: "account.invalid.current_wrong"}
	}
	if p := passwordProblem(next); p != nil {
		errs["new_password"] = *p
	}
	if len(errs) > 0 {
		return a.renderAccount(c, fiber.StatusUnprocessableEntity, fieldMessages(l, errs), "")
	}
	hash, err := a.Store.HashPassword(next)
	if err != nil {
		return err
	}
	if err := a.Store.SetPassword(c.UserContext(), user.ID, hash, session(c).staffSessionID()); err != nil {
		return err
	}
	a.Logger.Info("password changed", "user_id", user.ID)
	a.audit(c, models.AuditPassword, "")
	return redirectDone(c, "/admin/account", "account.done.password")
}

// changeLang stores the user's language; every page renders in it from the next request.
func (a *app) changeLang(c *fiber.Ctx) error {
	lang := c.FormValue("lang")
	if !slices.Contains(views.Languages, lang) {
		msgs := fieldMessages(a.locale(c), models.FieldErrors{"lang": {Key: "account.invalid.lang"}})
		return a.renderAccount(c, fiber.StatusUnprocessableEntity, msgs, "")
	}
	if err := a.Store.SetLang(c.UserContext(), currentUser(c).ID, lang); err != nil {
		return err
	}
	return redirectDone(c, "/admin/account", "account.done.lang")
}
