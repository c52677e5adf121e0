package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/shophooks"
)

// webhookLogRows is how many attempts an endpoint's page shows, newest first.
const webhookLogRows = 100

// showWebhook shows an endpoint: its settings, what waits to go, its
// delivery log and its actions.
func (a *app) showWebhook(c *fiber.Ctx) error {
	e, err := a.endpointFromID(c)
	if err != nil {
		return err
	}
	return a.renderWebhook(c, e, "")
}

// renderWebhook renders an endpoint's page; secret, when set, is the one a
// rotation just made, shown this once.
func (a *app) renderWebhook(c *fiber.Ctx, e *models.WebhookEndpoint, secret string) error {
	ctx := c.UserContext()
	log, err := a.Store.WebhookLog(ctx, e.ID, webhookLogRows)
	if err != nil {
		return err
	}
	waiting, err := a.Store.WebhookWaitingList(ctx, e.ID, webhookLogRows)
	if err != nil {
		return err
	}
	counts, err := a.Store.WebhookDeliveryCounts(ctx, e.ID)
	if err != nil {
		return err
	}
	l := a.locale(c)
	now := time.Now()
	return a.render(c, fiber.StatusOK, "admin/webhook", fiber.Map{
		"Title":    l.T("webhooks.endpoint_title", e.URL),
		"Endpoint": e,
		"Log":      log,
		"Waiting":  waiting,
		"Counts":   counts,
		"Secret":   secret,
		"Rotating": len(e.Secrets(now)) > 1,
		"Statuses": []string{models.WebhookPending, models.WebhookDelivered, models.WebhookFailed},
	})
}

// rotateWebhookSecret gives the endpoint a new secret and shows it, this
// once; the old one keeps signing for models.WebhookRotationOverlap.
func (a *app) rotateWebhookSecret(c *fiber.Ctx) error {
	e, err := a.endpointFromID(c)
	if err != nil {
		return err
	}
	secret := shophooks.NewSecret()
	if err := a.Store.RotateWebhookSecret(c.UserContext(), e.ID, secret, time.Now()); err != nil {
		return notFoundOr(err)
	}
	a.Logger.Info("webhook secret rotated", "endpoint_id", e.ID, "user_id", currentUser(c).ID)
	a.audit(c, models.AuditWebhookRotated, e.URL)
	if e, err = a.Store.WebhookEndpointByID(c.UserContext(), e.ID); err != nil {
		return notFoundOr(err)
	}
	return a.renderWebhook(c, e, secret)
}

// sendTestWebhook queues a test event (models.EventTest) for the endpoint.
func (a *app) sendTestWebhook(c *fiber.Ctx) error {
	e, err := a.endpointFromID(c)
	if err != nil {
		return err
	}
	id, err := a.Store.QueueWebhookTest(c.UserContext(), e.ID)
	if err != nil {
		return notFoundOr(err)
	}
	a.audit(c, models.AuditWebhookTest, e.URL+" "+id)
	return redirectDone(c, webhookPath(e.ID), "webhooks.done.test")
}
