package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// passwordProblem checks a new password against the rules before any bcrypt
// work, so the person choosing it reads which rule it broke.
func passwordProblem(password string) *models.FieldError {
	switch err := models.ValidatePassword(password); {
	case password == "":
		return &models.FieldError{Key: "users.invalid.password_required"}
	case errors.Is(err, models.ErrPasswordTooShort):
		return &models.FieldError{Key: "users.invalid.password_short", Args: []any{models.MinPasswordLength}}
	case errors.Is(err, models.ErrPasswordTooLong):
		return &models.FieldError{Key: "users.invalid.password_long"}
	}
	return nil
}

func (a *app) listUsers(c *fiber.Ctx) error {
	users, err := a.Store.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	withCode, err := a.Store.UsersWithSecondFactor(c.UserContext())
	if err != nil {
		return err
	}
	required, err := a.Store.SecondFactorRequired(c.UserContext())
	if err != nil {
		return err
	}
	l := a.locale(c)
	return a.render(c, fiber.StatusOK, "admin/users", fiber.Map{
		"Title":                l.T("users.title"),
		"Users":                users,
		"SecondFactor":         withCode,
		"SecondFactorRequired": required,
	})
}

// userForm is the new-user form as typed; the password is never sent back.
type userForm struct {
	Email string
	Role  string
}

func (a *app) showNewUser(c *fiber.Ctx) error {
	return a.renderNewUser(c, fiber.StatusOK, userForm{Role: models.RoleStaff}, nil)
}

func (a *app) renderNewUser(c *fiber.Ctx, status int, form userForm, errs map[string]string) error {
	l := a.locale(c)
	if errs == nil {
		errs = map[string]string{}
	}
	return a.render(c, status, "admin/user_new", fiber.Map{
		"Title":  l.T("users.new_title"),
		"Form":   form,
		"Errors": errs,
		"Roles":  models.Roles,
	})
}

// saveUser adds a user and sends the admin back to the list (Post/Redirect/Get).
func (a *app) saveUser(c *fiber.Ctx) error {
	form := userForm{
		Email: strings.ToLower(strings.TrimSpace(c.FormValue("email"))),
		Role:  c.FormValue("role"),
	}
	password := c.FormValue("password")
	errs := models.FieldErrors{}
	if !models.ValidEmail(form.Email) {
		errs["email"] = models.FieldError{Key: "invalid.email"}
	}
	if !models.ValidRole(form.Role) {
		errs["role"] = models.FieldError{Key: "users.invalid.role"}
	}
	if p := passwordProblem(password); p != nil {
		errs["password"] = *p
	}
	if len(errs) > 0 {
		return a.renderNewUser(c, fiber.StatusUnprocessableEntity, form, fieldMessages(a.locale(c), errs))
	}
	hash, err := a.Store.HashPassword(password)
	if err != nil {
		return err
	}
	user, err := a.Store.CreateUser(c.UserContext(), form.Email, hash, form.Role)
	if errors.Is(err, models.ErrEmailTaken) {
		msgs := fieldMessages(a.locale(c), models.FieldErrors{"email": {Key: "users.invalid.email_taken"}})
		return a.renderNewUser(c, fiber.StatusUnprocessableEntity, form, msgs)
	}
	if err != nil {
		return err
	}
	a.Logger.Info("user added", "user_id", user.ID, "by", currentUser(c).ID)
	a.audit(c, models.AuditUserAdded, user.Email+" ("+user.Role+")")
	return redirectDone(c, "/admin/users", "users.done.added")
}

func (a *app) showUser(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	return a.renderUser(c, fiber.StatusOK, target, nil, "")
}

// targetUser is the user named by the :id route parameter.
func (a *app) targetUser(c *fiber.Ctx) (*models.User, error) {
	id, err := idParam(c)
	if err != nil {
		return nil, err
	}
	u, err := a.Store.UserByID(c.UserContext(), id)
	if err != nil {
		return nil, notFoundOr(err)
	}
	return u, nil
}

// renderUser shows one user's page with its forms; alert is a refusal that
// belongs to no single field.
func (a *app) renderUser(c *fiber.Ctx, status int, target *models.User, errs map[string]string, alert string) error {
	l := a.locale(c)
	if errs == nil {
		errs = map[string]string{}
	}
	failures, refused := a.throttle.Failures(target.Email)
	secondFactor, err := a.Store.HasSecondFactor(c.UserContext(), target.ID)
	if err != nil {
		return err
	}
	return a.render(c, status, "admin/user", fiber.Map{
		"SecondFactor":   secondFactor,
		"Title":          l.T("users.user_title", target.Email),
		"Target":         target,
		"Self":           target.ID == currentUser(c).ID,
		"Roles":          models.Roles,
		"Errors":         errs,
		"Alert":          alert,
		"LoginFailures":  failures,
		"LoginRefused":   refused,
		"ThrottleWindow": int(a.throttle.Window().Minutes()),
	})
}

func userPath(id uint) string {
	return "/admin/users/" + strconv.FormatUint(uint64(id), 10)
}

// refuseChange re-renders the user page with a refusal: 409, since the
// request is well formed but the product's state forbids it.
func (a *app) refuseChange(c *fiber.Ctx, target *models.User, key string) error {
	return a.renderUser(c, fiber.StatusConflict, target, nil, a.locale(c).T(key))
}

// changeRole gives a user another role. An admin cannot demote themselves,
// and nobody can demote the last enabled admin.
func (a *app) changeRole(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	role := c.FormValue("role")
	if !models.ValidRole(role) {
		msgs := fieldMessages(a.locale(c), models.FieldErrors{"role": {Key: "users.invalid.role"}})
		return a.renderUser(c, fiber.StatusUnprocessableEntity, target, msgs, "")
	}
	if target.ID == currentUser(c).ID && role != models.RoleAdmin {
		return a.refuseChange(c, target, "users.error.self_demote")
	}
	err = a.Store.SetRole(c.UserContext(), target.ID, role)
	if errors.Is(err, models.ErrLastAdmin) {
		return a.refuseChange(c, target, "users.error.last_admin")
	}
	if err != nil {
		return notFoundOr(err)
	}
	a.audit(c, models.AuditUserChanged, target.Email+": role "+role)
	return redirectDone(c, userPath(target.ID), "users.done.role")
}

// disableUser stops a user from logging in and logs them out everywhere at once.
func (a *app) disableUser(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	if target.ID == currentUser(c).ID {
		return a.refuseChange(c, target, "users.error.self_disable")
	}
	err = a.Store.DisableUser(c.UserContext(), target.ID)
	if errors.Is(err, models.ErrLastAdmin) {
		return a.refuseChange(c, target, "users.error.last_admin")
	}
	if err != nil {
		return notFoundOr(err)
	}
	a.Logger.Info("user disabled", "user_id", target.ID, "by", currentUser(c).ID)
	a.audit(c, models.AuditUserChanged, target.Email+": disabled")
	return redirectDone(c, userPath(target.ID), "users.done.disabled")
}

func (a *app) enableUser(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	if err := a.Store.EnableUser(c.UserContext(), target.ID); err != nil {
		return notFoundOr(err)
	}
	a.audit(c, models.AuditUserChanged, target.Email+": enabled")
	return redirectDone(c, userPath(target.ID), "users.done.enabled")
}

// unlockLogin forgets the failed logins counted against a user's account from
// every address, for when the owner is refused at an address that was
// failing (a mistyped password, an office shared with a guesser). The audit
// log keeps the failures themselves.
func (a *app) unlockLogin(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	failures, refused := a.throttle.Failures(target.Email)
	a.throttle.Unlock(target.Email)
	a.Logger.Info("login unlocked", "user_id", target.ID, "by", currentUser(c).ID, "failures", failures, "refused_addresses", refused)
	a.audit(c, models.AuditUnlock, fmt.Sprintf("%s: %d failures, %d addresses refused", target.Email, failures, refused))
	return redirectDone(c, userPath(target.ID), "users.done.unlocked")
}

// resetPassword sets a user's password for them and ends their sessions. An
// admin resetting their own keeps the browser they did it from.
func (a *app) resetPassword(c *fiber.Ctx) error {
	target, err := a.targetUser(c)
	if err != nil {
		return err
	}
	password := c.FormValue("password")
	if p := passwordProblem(password); p != nil {
		msgs := fieldMessages(a.locale(c), models.FieldErrors{"password": *p})
		return a.renderResetPassword(c, fiber.StatusUnprocessableEntity, target.ID, target.Email, msgs["password"])
	}
	hash, err := a.Store.HashPassword(password)
	if err != nil {
		return err
	}
	keep := ""
	if target.ID == currentUser(c).ID {
		keep = session(c).staffSessionID()
	}
	if err := a.Store.SetPassword(c.UserContext(), target.ID, hash, keep); err != nil {
		return notFoundOr(err)
	}
	a.Logger.Info("password reset", "user_id", target.ID, "by", currentUser(c).ID)
	a.audit(c, models.AuditUserChanged, target.Email+": password reset")
	return redirectDone(c, userPath(target.ID), "users.done.password")
}
