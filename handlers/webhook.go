package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/emails"
	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// keyLookupTimeout bounds finding a notification's signing key.
const keyLookupTimeout = 5 * time.Second

// Where a notification came from, as stored.
const (
	sourceWebhook     = "webhook"
	sourceReplay      = "replay"
	sourceStatusQuery = "status_query"
)

// receiveNotification is POST /webhooks/etpay. Every notification is stored
// with its verdict; a 2xx goes out only once it is stored and applied.
func (a *app) receiveNotification(c *fiber.Ctx) error {
	out, err := a.processNotification(c.UserContext(), c.Body(), a.clientIP(c), sourceWebhook)
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
		ReceivedAt: time.Now(), RemoteAddr: a.clientIP(c), Source: sourceWebhook,
		Body: body, Reason: etpay.RejectReason(etpay.ErrTooLarge),
	}
	if _, err := a.recordNotification(c.UserContext(), in); err != nil {
		return a.storageFailed(c, err)
	}
	return c.Status(fiber.StatusRequestEntityTooLarge).SendString("notification too large")
}

// notificationOutcome is what processNotification stored, and why.
type notificationOutcome struct {
	Stored *models.Notification
	// Rejection is why verification failed; nil when it passed.
	Rejection error
}

// processNotification verifies a raw notification body, stores it with its
// verdict and applies it, then tells the live tables. It serves the webhook
// and staff's replays alike, so both follow exactly the same rules. Its error
// is a storage error, and then nothing was stored; a notification that failed
// verification is no error (it is stored as rejected, see Rejection).
func (a *app) processNotification(ctx context.Context, body []byte, remote, source string) (notificationOutcome, error) {
	in := models.NotificationInput{ReceivedAt: time.Now(), RemoteAddr: remote, Source: source, Body: body}
	token, verifyErr := etpay.ParseNotificationBody(body)
	if verifyErr == nil {
		var claims *etpay.NotificationClaims
		claims, verifyErr = etpay.VerifyNotification(token, func(sessionToken string) (string, error) {
			// Bounded, so a starved database answers 503 (ETpay retries)
			// instead of keeping ETpay waiting.
			lookup, cancel := context.WithTimeout(ctx, keyLookupTimeout)
			defer cancel()
			return a.Store.NotificationKey(lookup, sessionToken)
		})
		if verifyErr == nil {
			fillVerified(&in, claims)
		} else {
			in.SessionToken, _ = etpay.UnverifiedSessionToken(token)
		}
	}
	if verifyErr != nil {
		// A busy database while looking up the key is not the sender's fault.
		if isBusy(verifyErr) {
			return notificationOutcome{}, verifyErr
		}
		// The store keeps what staff need of it (see models.RejectedBodyKeep).
		in.Reason = etpay.RejectReason(verifyErr)
	}
	stored, err := a.recordNotification(ctx, in)
	if err != nil {
		return notificationOutcome{}, err
	}
	return notificationOutcome{Stored: stored, Rejection: verifyErr}, nil
}

// recordNotification stores and applies a notification (verified or not)
// with the emails it calls for, in one transaction, then tells the live
// tables. Webhook, replays and reconciliation all come through here.
func (a *app) recordNotification(ctx context.Context, in models.NotificationInput) (*models.Notification, error) {
	in.Mail = emails.ForNotification(a.Config)
	res, err := a.Store.ApplyNotification(ctx, in)
	if err != nil {
		return nil, err
	}
	stored := res.Notification
	a.Logger.Info("notification recorded", "notification_id", stored.ID, "source", in.Source,
		"verdict", stored.Verdict, "reason", stored.Reason, "effect", stored.Effect)
	a.afterNotification(res)
	return stored, nil
}

// fillVerified copies verified claims into the record to store.
func fillVerified(in *models.NotificationInput, claims *etpay.NotificationClaims) {
	in.Verified = true
	in.SessionToken = claims.SessionToken
	in.MerchantOrderID = claims.MerchantOrderID
	in.PaymentToken = claims.PaymentToken
	in.PaymentStatus = claims.PaymentStatus
	in.Paid = claims.PaymentStatus == etpay.StatusSuccess
	if b, err := json.Marshal(claims); err == nil {
		in.Claims = string(b)
	}
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
	out, err := a.processNotification(c.UserContext(), []byte(original.Body), "replay by "+currentUser(c).Email, sourceReplay)
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

// afterNotification follows up a stored notification: its session, as the
// writer left it, goes to the live tables, and an email problem (the emails
// were queued, or not, with the notification) is logged; it never undoes a
// payment.
func (a *app) afterNotification(res *models.NotificationResult) {
	if len(res.Unreadable) > 0 {
		a.Logger.Warn("notification applied, but stored values could not be read; the link is flagged for review",
			"notification_id", res.Notification.ID, "unreadable", res.Unreadable)
	}
	if res.MailErr != nil {
		a.Logger.Error("notification emails not queued", "notification_id", res.Notification.ID, "err", res.MailErr)
	}
	if res.Session != nil {
		a.events.PublishSession(*res.Session)
	}
}
