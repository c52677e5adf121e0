package handlers

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
	"etpay-dashboard/payments"
)

// receiveNotification is POST /webhooks/etpay. Every notification is stored
// with its verdict; a 2xx goes out only once it is stored and applied.
func (a *app) receiveNotification(c *fiber.Ctx) error {
	out, err := a.payments.Process(c.UserContext(), c.Body(), a.clientIP(c), payments.SourceWebhook)
	if err != nil {
		return a.storageFailed(c, err)
	}
	switch {
	case out.Stored.Verdict != models.VerdictRejected:
		return c.SendString("ok")
	case errors.Is(out.Rejection, etpay.ErrTooLarge):
		return c.Status(fiber.StatusRequestEntityTooLarge).SendString("notification too large")
	case errors.Is(out.Rejection, etpay.ErrMalformed):
		return c.Status(fiber.StatusBadRequest).SendString("malformed notification")
	case out.Stored.Reason == models.ReasonOrderMismatch:
		return c.Status(fiber.StatusUnprocessableEntity).SendString("notification does not match its session")
	default:
		return c.Status(fiber.StatusUnauthorized).SendString("notification not verified")
	}
}

// refuseOversizedNotification answers a webhook body over
// etpay.MaxNotificationBody, which limitBody did not read whole: it is stored
// as rejected (too_large) with its first bytes, like any rejected
// notification, and answered 413.
func (a *app) refuseOversizedNotification(c *fiber.Ctx) error {
	// The store keeps its first bytes (models.RejectedBodyKeep).
	body := c.Request().Body()
	in := models.NotificationInput{
		ReceivedAt: time.Now(), RemoteAddr: a.clientIP(c), Source: payments.SourceWebhook,
		Body: body, Reason: etpay.RejectReason(etpay.ErrTooLarge),
	}
	if _, err := a.payments.Record(c.UserContext(), in); err != nil {
		return a.storageFailed(c, err)
	}
	return c.Status(fiber.StatusRequestEntityTooLarge).SendString("notification too large")
}

// storageFailed answers 503 with Retry-After when the database stayed busy, so
// ETpay tries again; nothing was written, since the transaction rolled back.
func (a *app) storageFailed(c *fiber.Ctx, err error) error {
	if isBusy(err) {
		a.Logger.Warn("notification not stored: database busy", "err", err)
		c.Set(fiber.HeaderRetryAfter, "5")
		return c.Status(fiber.StatusServiceUnavailable).SendString("busy, retry later")
	}
	return err
}

// isBusy says the store stayed busy (or its deadline passed): the store
// decides that from the driver's result code, never from the text.
func isBusy(err error) bool {
	return errors.Is(err, models.ErrBusy)
}

// replayPrefix starts the remote address stored for a replay, before the
// email of who asked for it. Pages say it in words (notificationOrigins).
const replayPrefix = "replay by "

// replayNotification re-runs a stored notification through the same path as
// the webhook, e.g. after fixing a configuration. Replaying one that was
// already applied stores a duplicate and changes nothing.
func (a *app) replayNotification(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	original, err := a.Store.NotificationByID(c.UserContext(), id)
	if err != nil {
		return notFoundOr(err)
	}
	out, err := a.payments.Process(c.UserContext(), []byte(original.Body), replayPrefix+currentUser(c).Email, payments.SourceReplay)
	if err != nil {
		return err
	}
	replayed := out.Stored
	a.audit(c, models.AuditReplay, itoa(original.ID)+" -> "+replayed.Verdict)
	if replayed.SessionID != nil {
		return c.Redirect("/admin/sessions/"+itoa(*replayed.SessionID)+"#notification-"+itoa(replayed.ID), fiber.StatusSeeOther)
	}
	return c.Redirect("/admin/sessions", fiber.StatusSeeOther)
}

func itoa(id uint) string { return strconv.FormatUint(uint64(id), 10) }
