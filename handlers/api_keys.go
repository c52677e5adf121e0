package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// apiKeysPath is the admins' page of API keys.
const apiKeysPath = "/admin/api-keys"

// apiKeyForm is the new-key form as typed.
type apiKeyForm struct {
	Name  string
	Scope string
}

// apiKeysPage is what the API keys page shows besides the list: the form,
// its problems, and once, right after it was made, a new key.
type apiKeysPage struct {
	status  int
	form    apiKeyForm
	errs    map[string]string
	newKey  string
	created *models.APIKey
}

// listAPIKeys is GET /admin/api-keys: every key and the form that makes one.
func (a *app) listAPIKeys(c *fiber.Ctx) error {
	return a.renderAPIKeys(c, apiKeysPage{status: fiber.StatusOK, form: apiKeyForm{Scope: models.APIScopeRead}})
}

func (a *app) renderAPIKeys(c *fiber.Ctx, p apiKeysPage) error {
	keys, err := a.Store.ListAPIKeys(c.UserContext())
	if err != nil {
		return err
	}
	if p.errs == nil {
		p.errs = map[string]string{}
	}
	return a.render(c, p.status, "admin/api_keys", fiber.Map{
		"Title":      a.locale(c).T("api_keys.title"),
		"Keys":       keys,
		"Form":       p.form,
		"Errors":     p.errs,
		"Scopes":     models.APIScopes,
		"NewKey":     p.newKey,
		"Created":    p.created,
		"DocURL":     a.Config.URL("/api/v1/openapi.json"),
		"AppMode":    a.mode,
		"RateLimit":  a.Config.APIRateLimit,
		"WriteScope": models.APIScopeWrite,
	})
}

// saveAPIKey is POST /admin/api-keys: it makes a key and shows it on this
// answer only (no redirect: the key is never stored, so no later page can
// show it).
func (a *app) saveAPIKey(c *fiber.Ctx) error {
	form := apiKeyForm{Name: strings.TrimSpace(c.FormValue("name")), Scope: c.FormValue("scope")}
	if errs := models.ValidateAPIKey(form.Name, form.Scope); len(errs) > 0 {
		return a.renderAPIKeys(c, apiKeysPage{status: fiber.StatusUnprocessableEntity, form: form, errs: fieldMessages(a.locale(c), errs)})
	}
	user := currentUser(c)
	key, secret, err := a.Store.CreateAPIKey(c.UserContext(), form.Name, form.Scope, a.mode, &user.ID)
	if err != nil {
		return err
	}
	a.Logger.Info("api key created", "api_key_id", key.ID, "user_id", user.ID)
	a.audit(c, models.AuditAPIKeyCreated, key.Name+" ("+key.Prefix+")")
	return a.renderAPIKeys(c, apiKeysPage{status: fiber.StatusOK, form: apiKeyForm{Scope: models.APIScopeRead}, newKey: secret, created: key})
}

// apiKeyFromID is the key named by :id.
func (a *app) apiKeyFromID(c *fiber.Ctx) (*models.APIKey, error) {
	id, err := idParam(c)
	if err != nil {
		return nil, err
	}
	key, err := a.Store.APIKeyByID(c.UserContext(), id)
	return key, notFoundOr(err)
}

// confirmRevokeAPIKey is GET /admin/api-keys/{id}/revoke: it asks first.
// A key already revoked has nothing to ask about.
func (a *app) confirmRevokeAPIKey(c *fiber.Ctx) error {
	key, err := a.apiKeyFromID(c)
	if err != nil {
		return err
	}
	if key.Revoked() {
		return c.Redirect(apiKeysPath, fiber.StatusSeeOther)
	}
	l := a.locale(c)
	return a.renderConfirm(c, fiber.StatusOK, confirmation{
		Title:  l.T("api_keys.revoke_confirm", key.Name),
		Lines:  []string{l.T("api_keys.revoke_what", key.Prefix), l.T("api_keys.revoke_final")},
		Action: apiKeyRevokePath(key.ID),
		Submit: l.T("api_keys.revoke_submit"),
		Back:   apiKeysPath,
	})
}

// revokeAPIKey is POST /admin/api-keys/{id}/revoke. The next request with
// the key is refused: every request looks its key up afresh.
func (a *app) revokeAPIKey(c *fiber.Ctx) error {
	key, err := a.apiKeyFromID(c)
	if err != nil {
		return err
	}
	user := currentUser(c)
	err = a.Store.RevokeAPIKey(c.UserContext(), key.ID, user.ID)
	switch {
	case errors.Is(err, models.ErrAlreadyRevoked):
		// Nothing changed: a second click, or two admins at once.
	case err != nil:
		return notFoundOr(err)
	default:
		a.Logger.Info("api key revoked", "api_key_id", key.ID, "user_id", user.ID)
		a.audit(c, models.AuditAPIKeyRevoked, key.Name+" ("+key.Prefix+")")
	}
	return redirectDone(c, apiKeysPath, "api_keys.done.revoked")
}

func apiKeyRevokePath(id uint) string {
	return apiKeysPath + "/" + itoa(id) + "/revoke"
}
