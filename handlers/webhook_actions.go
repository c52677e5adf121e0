package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// setWebhookEnabled returns the handler that turns an endpoint on or off.
// Turned on, its failures are forgotten and what waits goes now.
func (a *app) setWebhookEnabled(on bool) fiber.Handler {
	action, done := models.AuditWebhookDisabled, "webhooks.done.disabled"
	if on {
		action, done = models.AuditWebhookEnabled, "webhooks.done.enabled"
	}
	return func(c *fiber.Ctx) error {
		e, err := a.endpointFromID(c)
		if err != nil {
			return err
		}
		if err := a.Store.SetWebhookEndpointEnabled(c.UserContext(), e.ID, on); err != nil {
			return notFoundOr(err)
		}
		a.audit(c, action, e.URL)
		return redirectDone(c, webhookPath(e.ID), done)
	}
}

// confirmDeleteWebhook asks before deleting: the endpoint page's
// "Eliminar" leads here, and the page's form POSTs to deleteWebhook.
func (a *app) confirmDeleteWebhook(c *fiber.Ctx) error {
	e, err := a.endpointFromID(c)
	if err != nil {
		return err
	}
	l := a.locale(c)
	return a.renderConfirm(c, fiber.StatusOK, confirmation{
		Title:  l.T("webhooks.delete_confirm", e.URL),
		Lines:  []string{l.T("webhooks.delete_what"), l.T("webhooks.delete_undo")},
		Action: webhookPath(e.ID) + "/delete",
		Submit: l.T("webhooks.delete_yes"),
		Back:   webhookPath(e.ID),
	})
}

// deleteWebhook deletes an endpoint with its deliveries and log.
func (a *app) deleteWebhook(c *fiber.Ctx) error {
	e, err := a.endpointFromID(c)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteWebhookEndpoint(c.UserContext(), e.ID); err != nil {
		return notFoundOr(err)
	}
	a.Logger.Info("webhook endpoint deleted", "endpoint_id", e.ID, "user_id", currentUser(c).ID)
	a.audit(c, models.AuditWebhookDeleted, e.URL)
	return redirectDone(c, "/admin/webhooks", "webhooks.done.deleted")
}

// resendWebhook ("Reenviar") queues a new attempt of one delivery now,
// with the same webhook-id and body.
func (a *app) resendWebhook(c *fiber.Ctx) error {
	e, err := a.endpointFromID(c)
	if err != nil {
		return err
	}
	delivery, err := strconv.ParseUint(c.Params("delivery"), 10, 32)
	if err != nil || delivery == 0 {
		return fiber.ErrNotFound
	}
	if err := a.Store.ResendWebhookDelivery(c.UserContext(), e.ID, uint(delivery)); err != nil {
		return notFoundOr(err)
	}
	a.audit(c, models.AuditWebhookResent, e.URL+" delivery "+strconv.FormatUint(delivery, 10))
	return redirectDone(c, webhookPath(e.ID), "webhooks.done.resent")
}
