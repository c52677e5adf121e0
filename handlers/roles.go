package handlers

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// Role checks for /admin routes, enforced on the server whatever the page shows:
// viewers look and export, staff also make and cancel links, admins do everything.
var (
	canView  = allow(models.RoleAdmin, models.RoleStaff, models.RoleViewer)
	canEdit  = allow(models.RoleAdmin, models.RoleStaff)
	canAdmin = allow(models.RoleAdmin)
)

// allow lets a request through only when the logged-in user has one of roles.
func allow(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if u := currentUser(c); u == nil || !slices.Contains(roles, u.Role) {
			return fiber.ErrForbidden
		}
		return c.Next()
	}
}
