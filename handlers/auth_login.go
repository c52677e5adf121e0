package handlers

import (
	"crypto/rand"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

func (a *app) showLogin(c *fiber.Ctx) error {
	l := a.locale(c)
	return a.render(c, fiber.StatusOK, "auth/login", fiber.Map{"Title": l.T("login.title")})
}

// login checks the password. Unknown users, disabled users and wrong
// passwords get the same answer after the same bcrypt work.
func (a *app) login(c *fiber.Ctx) error {
	l := a.locale(c)
	email := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
	password := c.FormValue("password")
	ip := a.clientIP(c)
	failed := func(status int, key string) error {
		return a.render(c, status, "auth/login", fiber.Map{"Title": l.T("login.title"), "Error": l.T(key), "Email": email})
	}
	if !a.throttle.Allow(ip, email) {
		return failed(fiber.StatusTooManyRequests, "login.throttled")
	}
	user, err := a.Store.UserByEmail(c.UserContext(), email)
	if err != nil && err != models.ErrNotFound {
		return err
	}
	ok := false
	if user != nil {
		ok = models.PasswordMatches(user.PasswordHash, password) && !user.Disabled
	} else {
		models.PasswordMatches(a.dummyHash(), password)
	}
	if !ok {
		a.Logger.Warn("login failed", "ip", ip)
		a.auditAs(c, nil, email, models.AuditLoginFailed, "")
		return failed(fiber.StatusUnauthorized, "login.failed")
	}
	has2FA, err := a.Store.HasSecondFactor(c.UserContext(), user.ID)
	if err != nil {
		return err
	}
	if has2FA {
		return a.awaitCode(c, user, ip)
	}
	a.throttle.Succeed(ip, email)
	sid := rand.Text() + rand.Text()
	if err := a.Store.CreateStaffSession(c.UserContext(), sid, user.ID, sessionTTL*time.Second); err != nil {
		return err
	}
	session(c).startLogin(sid)
	a.Logger.Info("login", "user_id", user.ID, "ip", ip)
	a.auditAs(c, user, "", models.AuditLogin, "")
	return c.Redirect("/admin/sessions", fiber.StatusSeeOther)
}

func (a *app) logout(c *fiber.Ctx) error {
	sess := session(c)
	if id := sess.staffSessionID(); id != "" {
		user, _ := a.Store.UserBySession(c.UserContext(), id)
		if err := a.Store.DeleteStaffSession(c.UserContext(), id); err != nil {
			return err
		}
		if user != nil {
			a.auditAs(c, user, "", models.AuditLogout, "")
		}
	}
	sess.clear()
	return c.Redirect("/login", fiber.StatusSeeOther)
}
