package handlers

import (
	"encoding/base64"
	"errors"
	"html/template"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"etpay-dashboard/models"
	"etpay-dashboard/twofactor"
)

func (a *app) showSecondFactor(c *fiber.Ctx) error {
	return a.renderSecondFactor(c, fiber.StatusOK, nil)
}

// renderSecondFactor shows the user's 2FA page in the state their record is
// in: off (a button to start), started (the secret as a QR code and as text,
// and the form for a code from it), or on (codes left, the form to turn it
// off). extra adds errors, an alert or the new recovery codes.
func (a *app) renderSecondFactor(c *fiber.Ctx, status int, extra fiber.Map) error {
	ctx := c.UserContext()
	user := currentUser(c)
	l := a.locale(c)
	data := fiber.Map{"Title": l.T("twofactor.title"), "Errors": map[string]string{}}
	required, err := a.Store.SecondFactorRequired(ctx)
	if err != nil {
		return err
	}
	data["Required"] = required
	f, err := a.Store.SecondFactorOf(ctx, user.ID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	switch {
	case f != nil && f.Secret != "":
		left, err := a.Store.RecoveryCodesLeft(ctx, user.ID)
		if err != nil {
			return err
		}
		data["Enabled"], data["CodesLeft"] = true, left
	case f != nil && f.PendingSecret != "":
		if err := a.showPendingSecret(data, user, f.PendingSecret); err != nil {
			return err
		}
	}
	for k, v := range extra {
		data[k] = v
	}
	return a.render(c, status, "admin/account_2fa", data)
}

// showPendingSecret puts the secret being set up on the page: as a QR code
// (a PNG data URL, which the CSP allows for images) and as text.
func (a *app) showPendingSecret(data fiber.Map, user *models.User, sealed string) error {
	secret, err := a.sealer().Open(user.ID, sealed)
	if err != nil {
		return nil // SESSION_SECRET changed meanwhile: the page offers to start again
	}
	url, err := twofactor.URL(a.issuer(), user.Email, secret)
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(url, qrcode.Medium, qrSize)
	if err != nil {
		return err
	}
	data["Secret"] = twofactor.Grouped(secret)
	// Our own PNG in base64: no user data reaches the URL unencoded.
	data["QR"] = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	return nil
}

// saveSecondFactor is the 2FA page's forms: start (a new secret), confirm
// (a code from it turns 2FA on) and off (with a current code).
func (a *app) saveSecondFactor(c *fiber.Ctx) error {
	switch c.FormValue("action") {
	case "start":
		return a.startSecondFactor(c)
	case "confirm":
		return a.confirmSecondFactor(c)
	case "off":
		return a.turnOffSecondFactor(c)
	}
	return fiber.ErrBadRequest
}

// startSecondFactor keeps a new secret on the server for the user to
// confirm; the page then shows it. A user with 2FA on must turn it off
// first, with a current code.
func (a *app) startSecondFactor(c *fiber.Ctx) error {
	user := currentUser(c)
	has, err := a.Store.HasSecondFactor(c.UserContext(), user.ID)
	if err != nil {
		return err
	}
	if has {
		return a.renderSecondFactor(c, fiber.StatusConflict, fiber.Map{"Alert": a.locale(c).T("twofactor.error.already_on")})
	}
	sealed := a.sealer().Seal(user.ID, twofactor.NewSecret())
	if err := a.Store.StartSecondFactor(c.UserContext(), user.ID, sealed); err != nil {
		return err
	}
	return redirectDone(c, enrolPath, "twofactor.done.started")
}

// confirmSecondFactor turns 2FA on once a code from the pending secret is
// right, and shows the recovery codes: this once, never again (only their
// hashes are kept). Other browsers, logged in without it, are logged out.
func (a *app) confirmSecondFactor(c *fiber.Ctx) error {
	user := currentUser(c)
	l := a.locale(c)
	f, err := a.Store.SecondFactorOf(c.UserContext(), user.ID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if f == nil || f.PendingSecret == "" {
		return a.renderSecondFactor(c, fiber.StatusConflict, fiber.Map{"Alert": l.T("twofactor.error.not_started")})
	}
	secret, err := a.sealer().Open(user.ID, f.PendingSecret)
	if err != nil {
		return a.renderSecondFactor(c, fiber.StatusConflict, fiber.Map{"Alert": l.T("twofactor.error.not_started")})
	}
	step, err := twofactor.Match(secret, c.FormValue("code"), a.now())
	if err != nil {
		errs := map[string]string{"code": l.T("twofactor.invalid.wrong_setup")}
		return a.renderSecondFactor(c, fiber.StatusUnprocessableEntity, fiber.Map{"Errors": errs})
	}
	codes, hashes := twofactor.NewRecoveryCodes()
	err = a.Store.EnableSecondFactor(c.UserContext(), user.ID, f.PendingSecret, step, hashes, session(c).staffSessionID())
	if errors.Is(err, models.ErrNotFound) { // started again in another tab meanwhile
		return a.renderSecondFactor(c, fiber.StatusConflict, fiber.Map{"Alert": l.T("twofactor.error.not_started")})
	}
	if err != nil {
		return err
	}
	a.Logger.Info("second factor on", "user_id", user.ID)
	a.audit(c, models.AuditSecondFactorOn, "")
	return a.renderSecondFactor(c, fiber.StatusOK, fiber.Map{"RecoveryCodes": codes, "Flash": l.T("twofactor.done.on")})
}

// turnOffSecondFactor needs a current code (or a recovery code), so a
// browser left open is not enough to weaken the account. Wrong codes count
// toward the login throttle, as wrong current passwords do.
func (a *app) turnOffSecondFactor(c *fiber.Ctx) error {
	user := currentUser(c)
	l := a.locale(c)
	ip := a.clientIP(c)
	if !a.throttle.Allow(ip, user.Email) {
		return a.renderSecondFactor(c, fiber.StatusTooManyRequests, fiber.Map{"Alert": l.T("login.throttled")})
	}
	result, err := a.checkSecondFactor(c.UserContext(), user, c.FormValue("code"))
	if err != nil {
		return err
	}
	if result == codeWrong || result == codeReused {
		a.Logger.Warn("second factor failed", "user_id", user.ID, "ip", ip)
		a.audit(c, models.AuditSecondFactorFailed, "turn off")
		key := map[codeResult]string{codeWrong: "twofactor.invalid.wrong", codeReused: "twofactor.invalid.reused"}[result]
		return a.renderSecondFactor(c, fiber.StatusUnprocessableEntity, fiber.Map{"Errors": map[string]string{"code": l.T(key)}})
	}
	a.throttle.Passed(ip, user.Email)
	if err := a.Store.RemoveSecondFactor(c.UserContext(), user.ID, session(c).staffSessionID()); err != nil {
		return err
	}
	a.Logger.Info("second factor off", "user_id", user.ID)
	a.audit(c, models.AuditSecondFactorOff, "")
	return redirectDone(c, enrolPath, "twofactor.done.off")
}
