package handlers

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/twofactor"
)

// Where the second factor is asked for and set up.
const (
	loginCodePath = "/login/2fa"
	enrolPath     = "/admin/account/2fa"
)

// pendingLoginTTL is how long a right password waits for its code.
const pendingLoginTTL = 10 * time.Minute

// now is the time codes are checked against (Deps.Clock in tests).
func (a *app) now() time.Time {
	if a.Clock != nil {
		return a.Clock()
	}
	return time.Now()
}

// sealer encrypts authenticator secrets under a key derived from the
// session secret.
func (a *app) sealer() *twofactor.Sealer {
	return twofactor.NewSealer(a.SessionSecret)
}

// issuer is the name authenticator apps show beside this panel's codes.
func (a *app) issuer() string {
	if name := a.Shop.Name(); name != "" {
		return name
	}
	return "etpay-dashboard"
}

// codeResult is what a typed second-factor code turned out to be.
type codeResult int

const (
	codeWrong    codeResult = iota
	codeReused              // a right code of a time step already accepted
	codeTOTP                // a right code from the authenticator app
	codeRecovery            // an unspent recovery code, now spent
)

// checkSecondFactor checks a code typed by user: a code of the current time
// step or one either side, never one of a step already accepted, or one of
// their recovery codes, spent by this check.
func (a *app) checkSecondFactor(ctx context.Context, user *models.User, typed string) (codeResult, error) {
	if hash, ok := twofactor.RecoveryHash(typed); ok {
		err := a.Store.UseRecoveryCode(ctx, user.ID, hash)
		if errors.Is(err, models.ErrCodeUsed) {
			return codeWrong, nil
		}
		return codeRecovery, err
	}
	f, err := a.Store.SecondFactorOf(ctx, user.ID)
	if errors.Is(err, models.ErrNotFound) || (err == nil && f.Secret == "") {
		return codeWrong, nil
	}
	if err != nil {
		return codeWrong, err
	}
	secret, err := a.sealer().Open(user.ID, f.Secret)
	if err != nil {
		// SESSION_SECRET changed since enrolment: only recovery codes work.
		a.Logger.Error("second factor secret unreadable", "user_id", user.ID, "err", err)
		return codeWrong, nil
	}
	step, err := twofactor.Match(secret, typed, a.now())
	if err != nil {
		return codeWrong, nil
	}
	err = a.Store.UseSecondFactorStep(ctx, user.ID, step)
	if errors.Is(err, models.ErrCodeUsed) {
		return codeReused, nil
	}
	return codeTOTP, err
}

// awaitsCode reports whether the cookie's login is a right password still
// waiting for its second factor.
func (a *app) awaitsCode(c *fiber.Ctx, id string) (bool, error) {
	_, err := a.Store.UserAwaitingCode(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// requireSecondFactor sends a user without a second factor to set one up
// before anything else, once an admin requires it of everyone. The
// enrolment page itself (and /logout, outside /admin) stays open.
func (a *app) requireSecondFactor(c *fiber.Ctx, user *models.User) error {
	if strings.TrimSuffix(c.Path(), "/") == enrolPath {
		return c.Next()
	}
	required, err := a.Store.SecondFactorRequired(c.UserContext())
	if err != nil {
		return err
	}
	if !required {
		return c.Next()
	}
	has, err := a.Store.HasSecondFactor(c.UserContext(), user.ID)
	if err != nil {
		return err
	}
	if !has {
		return c.Redirect(enrolPath, fiber.StatusSeeOther)
	}
	return c.Next()
}
