package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// storedBodyLimit is how much of an oversized body is kept as evidence.
const storedBodyLimit = 4 << 10

// receiveNotification is POST /webhooks/etpay. Every notification is stored
// with its verdict; a 2xx goes out only once it is stored and applied.
func (a *app) receiveNotification(c *fiber.Ctx) error {
	body := c.Body()
	in := models.NotificationInput{ReceivedAt: time.Now(), RemoteAddr: a.clientIP(c), Source: "webhook", Body: body}

	token, err := etpay.ParseNotificationBody(body)
	if err == nil {
		var claims *etpay.NotificationClaims
		claims, err = etpay.VerifyNotification(token, func(sessionToken string) (string, error) {
			return a.Store.SigningKey(c.UserContext(), sessionToken)
		})
		if err == nil {
			fillVerified(&in, claims)
		} else {
			in.SessionToken, _ = etpay.UnverifiedSessionToken(token)
		}
	}
	if err != nil {
		in.Reason = etpay.RejectReason(err)
		if errors.Is(err, etpay.ErrTooLarge) && len(in.Body) > storedBodyLimit {
			in.Body = in.Body[:storedBodyLimit]
		}
	}

	stored, storeErr := a.Store.RecordNotification(c.UserContext(), in)
	if storeErr != nil {
		return a.storageFailed(c, storeErr)
	}
	a.Logger.Info("notification received", "notification_id", stored.ID, "verdict", stored.Verdict, "reason", stored.Reason, "effect", stored.Effect)

	switch {
	case stored.Verdict != models.VerdictRejected:
		return c.SendString("ok")
	case errors.Is(err, etpay.ErrTooLarge):
		return c.Status(fiber.StatusRequestEntityTooLarge).SendString("notification too large")
	case errors.Is(err, etpay.ErrMalformed):
		return c.Status(fiber.StatusBadRequest).SendString("malformed notification")
	case stored.Reason == models.ReasonOrderMismatch:
		return c.Status(fiber.StatusUnprocessableEntity).SendString("notification does not match its session")
	default:
		return c.Status(fiber.StatusUnauthorized).SendString("notification not verified")
	}
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

func isBusy(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}
