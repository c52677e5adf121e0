package handlers

import (
	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// audit records a staff action by the logged-in user (or, for logins, the
// email typed), with the client address as TRUSTED_PROXIES allows. A failure
// to record is logged, not shown: the action itself already happened.
func (a *app) audit(c *fiber.Ctx, action, detail string) {
	a.auditAs(c, currentUser(c), "", action, detail)
}

func (a *app) auditAs(c *fiber.Ctx, user *models.User, email, action, detail string) {
	if err := a.Store.RecordAudit(c.UserContext(), user, email, action, detail, a.clientIP(c)); err != nil {
		a.Logger.Error("audit entry not stored", "action", action, "err", err)
	}
}
