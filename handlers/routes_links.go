package handlers

import "github.com/gofiber/fiber/v2"

// linkRoutes registers this area's /admin routes: a link's QR code, and the
// actions staff take on an open link.
func (a *app) linkRoutes(admin fiber.Router) {
	admin.Get("/links/:id/qr.png", canView, a.showLinkQR)
	admin.Post("/links/:id/cancel", canEdit, a.cancelLink)
	admin.Post("/links/:id/expiry", canEdit, a.setLinkExpiry)
}
