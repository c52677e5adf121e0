package handlers

import "github.com/gofiber/fiber/v2"

// eventRoutes registers this area's /admin routes.
func (a *app) eventRoutes(admin fiber.Router) {}
