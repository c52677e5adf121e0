package handlers

import "github.com/gofiber/fiber/v2"

// linkRoutes registers this area's /admin routes.
func (a *app) linkRoutes(admin fiber.Router) {}
