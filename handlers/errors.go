package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"
)

// handleError is the one place errors become pages. It never shows
// err.Error() to a user, and logs only server faults.
func (a *app) handleError(c *fiber.Ctx, err error) error {
	if isAPIPath(c.Path()) {
		return a.handleAPIError(c, err)
	}
	status := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		status = fe.Code
	}
	if status >= 500 {
		a.Logger.Error("request failed", "method", c.Method(), "path", maskPath(c.Path()), "err", err)
	}
	l := a.locale(c)
	message := l.T("error.internal")
	switch {
	case err == errCSRF:
		message = l.T("error.csrf")
	case status == fiber.StatusNotFound:
		message = l.T("error.not_found")
	case status == fiber.StatusForbidden:
		message = l.T("error.forbidden")
	case status == fiber.StatusMethodNotAllowed, status == fiber.StatusRequestEntityTooLarge, status < 500:
		message = fe.Message
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	renderErr := a.render(c, status, "errors/error", fiber.Map{"Title": l.T("error.title"), "Heading": l.T("error.title"), "Message": message})
	if renderErr != nil {
		return c.Status(status).SendString(message)
	}
	return nil
}
