package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// checkWithETpay is the "check with ETpay" button on a session's page.
func (a *app) checkWithETpay(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	s, err := a.Store.SessionByID(c.UserContext(), id)
	if err != nil {
		return notFoundOr(err)
	}
	n, err := a.payments.Reconcile(c.UserContext(), s)
	result := "recorded " + itoa(uint(n))
	if err != nil {
		a.Logger.Warn("status check failed", "session_id", s.ID, "err", err)
		result = "failed"
		if errors.Is(err, etpay.ErrUnavailable) {
			result = "unavailable"
		}
	}
	a.audit(c, models.AuditCheck, s.MerchantOrderID+": "+result)
	return c.Redirect("/admin/sessions/"+itoa(s.ID)+"?checked="+result, fiber.StatusSeeOther)
}
