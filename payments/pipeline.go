// Package payments is the notification pipeline shared by ETpay's webhook,
// staff's replays and reconciliation: it verifies a notification, records and
// applies it in one transaction with the emails it calls for, and tells the
// live tables. Everything that can mark a session paid comes through here,
// so there is one set of rules. It knows nothing of HTTP.
package payments

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/etpay"
	"etpay-dashboard/live"
	"etpay-dashboard/models"
)

// Where a notification came from, as stored.
const (
	SourceWebhook     = "webhook"
	SourceReplay      = "replay"
	SourceStatusQuery = "status_query"
)

// keyLookupTimeout bounds finding a notification's signing key, so a starved
// database answers "busy" (ETpay retries) instead of keeping ETpay waiting.
const keyLookupTimeout = 5 * time.Second

// Pipeline records notifications; see Process, Record and Reconcile.
type Pipeline struct {
	Config *config.Config
	Store  *models.Store
	ETpay  *etpay.Client
	Events *live.Broker
	Logger *slog.Logger
	// Shop names the shop in receipts (*shop.Shop); nil: MERCHANT_NAME, or
	// BASE_URL's host.
	Shop emails.Shop
	// Now is the reconciler's clock (nil: time.Now); tests move it.
	Now func() time.Time
}

// Outcome is what Process stored, and why.
type Outcome struct {
	Stored *models.Notification
	// Rejection is why verification failed; nil when it passed.
	Rejection error
}

// Process verifies a raw notification body, stores it with its verdict and
// applies it. It serves the webhook and staff's replays alike, so both follow
// exactly the same rules. Its error is a storage error (errors.Is
// models.ErrBusy when the database stayed busy), and then nothing was stored;
// a notification that failed verification is no error: it is stored as
// rejected, and Outcome.Rejection says why.
func (p *Pipeline) Process(ctx context.Context, body []byte, remote, source string) (Outcome, error) {
	in := models.NotificationInput{ReceivedAt: time.Now(), RemoteAddr: remote, Source: source, Body: body}
	token, verifyErr := etpay.ParseNotificationBody(body)
	if verifyErr == nil {
		var claims *etpay.NotificationClaims
		claims, verifyErr = etpay.VerifyNotification(token, func(sessionToken string) (string, error) {
			lookup, cancel := context.WithTimeout(ctx, keyLookupTimeout)
			defer cancel()
			return p.Store.NotificationKey(lookup, sessionToken)
		})
		if verifyErr == nil {
			fillVerified(&in, claims)
		} else {
			in.SessionToken, _ = etpay.UnverifiedSessionToken(token)
		}
	}
	if verifyErr != nil {
		// A busy database while looking up the key is not the sender's fault.
		if errors.Is(verifyErr, models.ErrBusy) {
			return Outcome{}, verifyErr
		}
		// The store keeps what staff need of it (see models.RejectedBodyKeep).
		in.Reason = etpay.RejectReason(verifyErr)
	}
	stored, err := p.Record(ctx, in)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Stored: stored, Rejection: verifyErr}, nil
}

// Record stores and applies a notification (verified or not) with the
// emails it calls for, in one transaction, then tells the live tables.
func (p *Pipeline) Record(ctx context.Context, in models.NotificationInput) (*models.Notification, error) {
	shop := p.Shop
	if shop == nil {
		shop = emails.FixedName(p.Config.MerchantName)
	}
	in.Mail = emails.ForNotification(p.Config, shop)
	res, err := p.Store.ApplyNotification(ctx, in)
	if err != nil {
		return nil, err
	}
	stored := res.Notification
	p.Logger.Info("notification recorded", "notification_id", stored.ID, "source", in.Source,
		"verdict", stored.Verdict, "reason", stored.Reason, "effect", stored.Effect)
	p.after(res)
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

// after follows up a stored notification: its session, as the writer left
// it, goes to the live tables, and an email problem (the emails were queued,
// or not, with the notification) is logged; it never undoes a payment.
func (p *Pipeline) after(res *models.NotificationResult) {
	if len(res.Unreadable) > 0 {
		p.Logger.Warn("notification applied, but stored values could not be read; the link is flagged for review",
			"notification_id", res.Notification.ID, "unreadable", res.Unreadable)
	}
	if res.MailErr != nil {
		p.Logger.Error("notification emails not queued", "notification_id", res.Notification.ID, "err", res.MailErr)
	}
	if res.Session != nil && p.Events != nil {
		p.Events.PublishSession(*res.Session)
	}
}
