package handlers

import (
	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// setSecondFactorRequired is the users page's switch: on, every user
// without a second factor is sent to set one up before anything else.
func (a *app) setSecondFactorRequired(c *fiber.Ctx) error {
	on := c.FormValue("required") == "on"
	if err := a.Store.SetSecondFactorRequired(c.UserContext(), on); err != nil {
		return err
	}
	state, done := "off", "twofactor.done.optional"
	if on {
		state, done = "on", "twofactor.done.required"
	}
	a.Logger.Info("second factor requirement", "on", on, "by", currentUser(c).ID)
	a.audit(c, models.AuditSecondFactorRequired, state)
	return redirectDone(c, "/admin/users", done)
}

// resetSecondFactor removes a user's second factor (a lost phone and no
// recovery codes left) and logs them out everywhere; they log in again with
// their password alone and set up a new one. Admins turn their own off on
// their 2FA page, with a code: this route must not skip that.
func (a *app) resetSecondFactor(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	refusal, err := a.secondFactorRefusal(c, target.ID)
	if err != nil {
		return err
	}
	if refusal != "" {
		return a.refuseChange(c, target, refusal)
	}
	if err := a.Store.RemoveSecondFactor(c.UserContext(), target.ID, ""); err != nil {
		return err
	}
	a.Logger.Info("second factor reset", "user_id", target.ID, "by", currentUser(c).ID)
	a.audit(c, models.AuditSecondFactorReset, target.Email)
	return redirectDone(c, userPath(target.ID), "twofactor.done.reset")
}

// secondFactorRefusal is why a user's second factor cannot be reset here
// (a text key), or "": an admin's own is turned off on their 2FA page, and
// a user without one has nothing to reset.
func (a *app) secondFactorRefusal(c *fiber.Ctx, userID uint) (string, error) {
	if userID == currentUser(c).ID {
		return "twofactor.error.self_reset", nil
	}
	has, err := a.Store.HasSecondFactor(c.UserContext(), userID)
	if err != nil || has {
		return "", err
	}
	return "twofactor.error.none", nil
}
