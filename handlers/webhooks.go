package handlers

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/shophooks"
)

// webhookForm is the add-endpoint form as typed.
type webhookForm struct {
	URL    string
	Events []string
}

// listWebhooks shows the shop's endpoints and the form that adds one.
func (a *app) listWebhooks(c *fiber.Ctx) error {
	return a.renderWebhooks(c, fiber.StatusOK, webhookForm{Events: models.EventTypes}, nil, nil)
}

// renderWebhooks renders the endpoints page; added, when set, is the
// endpoint just added, whose secret it shows this once.
func (a *app) renderWebhooks(c *fiber.Ctx, status int, form webhookForm, errs map[string]string, added *models.WebhookEndpoint) error {
	endpoints, err := a.Store.WebhookEndpoints(c.UserContext())
	if err != nil {
		return err
	}
	if errs == nil {
		errs = map[string]string{}
	}
	checked := map[string]bool{}
	for _, t := range form.Events {
		checked[t] = true
	}
	l := a.locale(c)
	return a.render(c, status, "admin/webhooks", fiber.Map{
		"Checked":    checked,
		"Title":      l.T("webhooks.title"),
		"Endpoints":  endpoints,
		"Form":       form,
		"Errors":     errs,
		"EventTypes": models.EventTypes,
		"Added":      added,
		"Private":    shophooks.GuardFor(a.Config).AllowPrivate,
	})
}

// addWebhook adds an endpoint and shows its secret, this once: the answer
// is the page itself, not a redirect, so the secret is never stored
// anywhere but in the endpoint's row.
func (a *app) addWebhook(c *fiber.Ctx) error {
	form := webhookForm{URL: strings.TrimSpace(c.FormValue("url"))}
	for _, v := range c.Context().PostArgs().PeekMulti("events") {
		if t := string(v); slices.Contains(models.EventTypes, t) && !slices.Contains(form.Events, t) {
			form.Events = append(form.Events, t)
		}
	}
	errs := models.FieldErrors{}
	if key := webhookURLProblem(shophooks.GuardFor(a.Config).CheckURL(form.URL), form.URL); key != "" {
		errs["url"] = models.FieldError{Key: key}
	}
	if len(form.Events) == 0 {
		errs["events"] = models.FieldError{Key: "webhooks.invalid.events"}
	}
	if len(errs) > 0 {
		return a.renderWebhooks(c, fiber.StatusUnprocessableEntity, form, fieldMessages(a.locale(c), errs), nil)
	}
	user := currentUser(c)
	e, err := a.Store.CreateWebhookEndpoint(c.UserContext(), models.WebhookEndpointInput{
		URL: form.URL, Events: form.Events, Secret: shophooks.NewSecret(), CreatedByID: &user.ID, Mode: a.mode,
	})
	if err != nil {
		return err
	}
	a.Logger.Info("webhook endpoint added", "endpoint_id", e.ID, "user_id", user.ID)
	a.audit(c, models.AuditWebhookAdded, e.URL+" ("+e.Events+")")
	return a.renderWebhooks(c, fiber.StatusOK, webhookForm{Events: models.EventTypes}, nil, e)
}

// webhookURLProblem is the catalogue key saying what is wrong with a URL.
func webhookURLProblem(err error, url string) string {
	switch {
	case url == "":
		return "webhooks.invalid.url_required"
	case errors.Is(err, shophooks.ErrNeedsHTTPS):
		return "webhooks.invalid.https"
	case errors.Is(err, shophooks.ErrPrivate):
		return "webhooks.invalid.private"
	case errors.Is(err, shophooks.ErrCredentials):
		return "webhooks.invalid.credentials"
	case err != nil:
		return "webhooks.invalid.url"
	}
	return ""
}

// endpointFromID is the endpoint named by the :id route parameter.
func (a *app) endpointFromID(c *fiber.Ctx) (*models.WebhookEndpoint, error) {
	id, err := idParam(c)
	if err != nil {
		return nil, err
	}
	e, err := a.Store.WebhookEndpointByID(c.UserContext(), id)
	if err != nil {
		return nil, notFoundOr(err)
	}
	return e, nil
}

func webhookPath(id uint) string {
	return "/admin/webhooks/" + strconv.FormatUint(uint64(id), 10)
}
