package handlers

import "github.com/gofiber/fiber/v2"

// userRoutes registers this area's /admin routes.
func (a *app) userRoutes(admin fiber.Router) {}
