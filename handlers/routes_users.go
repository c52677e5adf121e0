package handlers

import "github.com/gofiber/fiber/v2"

// userRoutes registers this area's /admin routes: user administration and the
// audit log for admins, and everyone's own account page.
func (a *app) userRoutes(admin fiber.Router) {
	admin.Get("/users", canAdmin, a.listUsers)
	admin.Get("/users/new", canAdmin, a.showNewUser)
	admin.Post("/users/new", canAdmin, a.saveUser)
	admin.Get("/users/:id", canAdmin, a.showUser)
	admin.Post("/users/:id/role", canAdmin, a.changeRole)
	admin.Post("/users/:id/disable", canAdmin, a.disableUser)
	admin.Post("/users/:id/enable", canAdmin, a.enableUser)
	admin.Post("/users/:id/password", canAdmin, a.resetPassword)
	admin.Get("/audit", canAdmin, a.showAudit)

	admin.Get("/account", canView, a.showAccount)
	admin.Post("/account", canView, a.changeOwnPassword)
	admin.Post("/account/lang", canView, a.changeLang)
}
