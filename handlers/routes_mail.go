package handlers

import "github.com/gofiber/fiber/v2"

// mailRoutes registers this area's /admin routes: the outbox, a link's
// email preview and "send again", and the alert opt-in.
func (a *app) mailRoutes(admin fiber.Router) {
	admin.Get("/outbox", canView, a.showOutbox)
	admin.Get("/outbox/:id/html", canView, a.showOutboxHTML)
	admin.Get("/links/:id/email/preview", canEdit, a.previewLinkEmail)
	admin.Post("/links/:id/email", canEdit, a.sendLinkEmail)
	admin.Post("/account/alerts", canView, a.saveMailAlerts)
}
