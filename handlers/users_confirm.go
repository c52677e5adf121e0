package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// The pages that ask before an admin changes another user's access (see
// confirmation): each is the GET of the action's own path.

// confirmDisableUser asks before disableUser logs a user out everywhere.
func (a *app) confirmDisableUser(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	if target.ID == currentUser(c).ID {
		return a.refuseChange(c, target, "users.error.self_disable")
	}
	if target.Disabled {
		return c.Redirect(userPath(target.ID), fiber.StatusSeeOther)
	}
	l := a.locale(c)
	return a.renderConfirm(c, fiber.StatusOK, confirmation{
		Title:  l.T("users.disable_confirm", target.Email),
		Lines:  []string{l.T("users.disable_note"), l.T("users.disable_undo")},
		Action: userPath(target.ID) + "/disable",
		Submit: l.T("users.disable"),
		Back:   userPath(target.ID),
	})
}

// showResetPassword is the reset's confirmation and its form at once: the
// new password has to be typed anyway, and the page says what follows.
func (a *app) showResetPassword(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	return a.renderResetPassword(c, fiber.StatusOK, target.ID, target.Email, "")
}

// renderResetPassword shows the reset form; problem is the password's field
// error after a refused attempt.
func (a *app) renderResetPassword(c *fiber.Ctx, status int, id uint, email, problem string) error {
	l := a.locale(c)
	note := "users.reset_note"
	if id == currentUser(c).ID {
		note = "users.reset_self_note"
	}
	return a.renderConfirm(c, status, confirmation{
		Title:  l.T("users.password_confirm", email),
		Lines:  []string{l.T(note)},
		Action: userPath(id) + "/password",
		Submit: l.T("users.reset_submit"),
		Back:   userPath(id),
		Fields: []confirmField{{Name: "password", Type: "password", Hint: l.T("users.password_hint"), Error: problem}},
	})
}

// confirmResetSecondFactor asks before resetSecondFactor removes another
// user's second factor and ends their sessions.
func (a *app) confirmResetSecondFactor(c *fiber.Ctx) error {
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
	l := a.locale(c)
	return a.renderConfirm(c, fiber.StatusOK, confirmation{
		Title:  l.T("twofactor.reset_confirm", target.Email),
		Lines:  []string{l.T("twofactor.reset_note")},
		Action: userPath(target.ID) + "/2fa/reset",
		Submit: l.T("twofactor.reset_submit"),
		Back:   userPath(target.ID),
	})
}
