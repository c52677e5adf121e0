package handlers

import "github.com/gofiber/fiber/v2"

// eventRoutes registers the live table's event stream.
func (a *app) eventRoutes(admin fiber.Router) {
	admin.Get("/events", canView, a.streamEvents)
}
