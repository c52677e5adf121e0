package handlers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// awaitCode is the end of a right password when the user has a second
// factor: a login awaiting its code, under a new id (no fixation), and the
// code form. The password's attempt is given back to the throttle, but not
// the failures before it: wrong codes keep counting.
func (a *app) awaitCode(c *fiber.Ctx, user *models.User, ip string) error {
	a.throttle.Passed(ip, user.Email)
	id := rand.Text() + rand.Text()
	if err := a.Store.CreatePendingLogin(c.UserContext(), id, user.ID, pendingLoginTTL); err != nil {
		return err
	}
	session(c).startLogin(id)
	a.Logger.Info("login awaits second factor", "user_id", user.ID, "ip", ip)
	return c.Redirect(loginCodePath, fiber.StatusSeeOther)
}

func (a *app) showLoginCode(c *fiber.Ctx) error {
	if _, err := a.Store.UserAwaitingCode(c.UserContext(), session(c).staffSessionID()); err != nil {
		return a.backToLogin(c, err)
	}
	return a.renderLoginCode(c, fiber.StatusOK, "")
}

func (a *app) renderLoginCode(c *fiber.Ctx, status int, errKey string) error {
	l := a.locale(c)
	data := fiber.Map{"Title": l.T("twofactor.login.title")}
	if errKey != "" {
		data["Error"] = l.T(errKey)
	}
	return a.render(c, status, "auth/login_2fa", data)
}

// backToLogin sends a browser whose login awaits no code on: to the panel
// if it is logged in already (a back button), else to the login form.
func (a *app) backToLogin(c *fiber.Ctx, err error) error {
	if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	_, err = a.Store.UserBySession(c.UserContext(), session(c).staffSessionID())
	if err == nil {
		return c.Redirect("/admin/sessions", fiber.StatusSeeOther)
	}
	if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	session(c).clear()
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// checkLoginCode completes a login with a code from the authenticator app
// (each time step once) or a recovery code (each once). Wrong codes count
// toward the login throttle and go to the audit log.
func (a *app) checkLoginCode(c *fiber.Ctx) error {
	sess := session(c)
	pending := sess.staffSessionID()
	user, err := a.Store.UserAwaitingCode(c.UserContext(), pending)
	if err != nil {
		return a.backToLogin(c, err)
	}
	ip := a.clientIP(c)
	if !a.throttle.Allow(ip, user.Email) {
		return a.renderLoginCode(c, fiber.StatusTooManyRequests, "login.throttled")
	}
	result, err := a.checkSecondFactor(c.UserContext(), user, c.FormValue("code"))
	if err != nil {
		return err
	}
	switch result {
	case codeWrong:
		a.Logger.Warn("second factor failed", "user_id", user.ID, "ip", ip)
		a.auditAs(c, user, "", models.AuditSecondFactorFailed, "login")
		return a.renderLoginCode(c, fiber.StatusUnauthorized, "twofactor.invalid.wrong")
	case codeReused:
		a.Logger.Warn("second factor code reused", "user_id", user.ID, "ip", ip)
		a.auditAs(c, user, "", models.AuditSecondFactorFailed, "login: code already used")
		return a.renderLoginCode(c, fiber.StatusUnauthorized, "twofactor.invalid.reused")
	}
	a.throttle.Succeed(ip, user.Email)
	id := rand.Text() + rand.Text()
	if err := a.Store.CompleteLogin(c.UserContext(), pending, id, sessionTTL*time.Second); err != nil {
		return a.backToLogin(c, err)
	}
	sess.startLogin(id)
	a.Logger.Info("login", "user_id", user.ID, "ip", ip)
	if result == codeTOTP {
		a.auditAs(c, user, "", models.AuditLogin, "2fa")
		return c.Redirect("/admin/sessions", fiber.StatusSeeOther)
	}
	// A recovery code may mean a lost phone: the 2FA page says how many
	// are left and how to set up a new authenticator.
	left, err := a.Store.RecoveryCodesLeft(c.UserContext(), user.ID)
	if err != nil {
		return err
	}
	a.auditAs(c, user, "", models.AuditLogin, fmt.Sprintf("2fa: recovery code, %d left", left))
	return redirectDone(c, enrolPath, "twofactor.done.recovery_used")
}
