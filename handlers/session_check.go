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
	result, said := "recorded "+itoa(uint(n)), "check.recorded"
	switch {
	case errors.Is(err, etpay.ErrUnavailable):
		result, said = "unavailable", "check.unavailable"
	case err != nil:
		result, said = "failed", "check.failed"
	case n == 0:
		said = "check.no_news"
	}
	if err != nil {
		a.Logger.Warn("status check failed", "session_id", s.ID, "err", err)
	}
	a.audit(c, models.AuditCheck, s.MerchantOrderID+": "+result)
	return redirectDone(c, "/admin/sessions/"+itoa(s.ID), said)
}
