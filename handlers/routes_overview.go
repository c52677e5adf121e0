package handlers

import "github.com/gofiber/fiber/v2"

// overviewRoutes registers this area's /admin routes.
func (a *app) overviewRoutes(admin fiber.Router) {
	admin.Get("/overview", canView, a.showOverview)
}
