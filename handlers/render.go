package handlers

import (
	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// render fills in what every page needs (language, user, CSRF token, the
// SANDBOX banner) and renders name inside the main layout.
func (a *app) render(c *fiber.Ctx, status int, name string, data fiber.Map) error {
	if data == nil {
		data = fiber.Map{}
	}
	l := a.locale(c)
	data["L"] = l
	data["User"] = currentUser(c)
	data["Sandbox"] = a.Config.Mode == config.ModeSandbox
	if s := session(c); s != nil {
		data["CSRF"] = s.csrfToken()
		// The flash waits for a page that shows normally: not for an
		// error page nor a form sent back with its problems.
		if _, set := data["Flash"]; !set && status == fiber.StatusOK {
			if key := s.takeFlash(); key != "" {
				data["Flash"] = l.T(key)
			}
		}
	}
	if a.shopPrompt(c) {
		data["ShopPrompt"] = c.OriginalURL() // where "Ahora no" comes back to
	}
	if _, ok := data["Title"]; !ok {
		data["Title"] = "etpay-dashboard"
	}
	return c.Status(status).Render(name, data, "layouts/main")
}

// redirectDone sends the browser to path (Post/Redirect/Get), where the
// layout says once what happened: the text of key, kept in the session.
func redirectDone(c *fiber.Ctx, path, key string) error {
	session(c).flash(key)
	return c.Redirect(path, fiber.StatusSeeOther)
}

// locale is the user's language; customers and logged-out staff get Spanish.
func (a *app) locale(c *fiber.Ctx) views.Locale {
	if u := currentUser(c); u != nil {
		return views.NewLocale(u.Lang)
	}
	return views.NewLocale("")
}

// fieldMessages turns field errors into text in the user's language.
func fieldMessages(l views.Locale, errs models.FieldErrors) map[string]string {
	return views.FieldMessages(l, errs)
}
