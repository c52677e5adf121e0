package handlers

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/config"
	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// linkCodePattern is the shape of a link code (crypto/rand.Text): checked
// before any query so junk never reaches the database.
var linkCodePattern = regexp.MustCompile(`^[A-Z2-7]{26}$`)

// openLink is GET /pay/{code}, the link in the customer's email. It is the one
// GET with an effect, so it must be safe to open many times: it reuses a
// recent pending session and starts at most one ETpay session at a time.
func (a *app) openLink(c *fiber.Ctx) error {
	link, err := a.linkFromPath(c)
	if err != nil {
		return err
	}
	switch err := link.Startable(time.Now()); {
	case errors.Is(err, models.ErrLinkPaid):
		return a.renderPayMessage(c, fiber.StatusOK, link, "paid", "pay.paid_heading", "pay.paid_message", "")
	case err != nil:
		return a.renderPayMessage(c, fiber.StatusGone, link, "closed", "pay.closed_heading", "pay.closed_message", "")
	}
	if err := a.Store.MarkLinkOpened(c.UserContext(), link.ID); err != nil {
		return err
	}
	token, err := a.sessionFor(c.UserContext(), link)
	if errors.Is(err, models.ErrLinkClosed) {
		return a.renderPayMessage(c, fiber.StatusGone, link, "closed", "pay.closed_heading", "pay.closed_message", "")
	}
	if err != nil {
		a.Logger.Warn("etpay session not started", "link_id", link.ID, "err", err)
		return a.renderPayMessage(c, fiber.StatusBadGateway, link, "error", "pay.unavailable_heading", "pay.unavailable_message", a.payURL(link.Code))
	}
	return c.Redirect(a.ETpay.FunnelURL(token), fiber.StatusSeeOther)
}

// sessionFor returns the session token to send the customer to: the link's
// pending session while it is younger than LINK_SESSION_REUSE, or a new one.
func (a *app) sessionFor(ctx context.Context, link *models.Link) (string, error) {
	token, err, _ := a.starting.Do(link.Code, func() (any, error) {
		since := a.reuseSince()
		existing, err := a.Store.ReusableSession(ctx, link.ID, since)
		if err == nil {
			return existing.SessionToken, nil
		}
		if !errors.Is(err, models.ErrNotFound) {
			return "", err
		}
		// ETpay is called outside any transaction; only its answer is stored.
		started, err := a.ETpay.InitializeSession(ctx, a.sessionRequest(link))
		if err != nil {
			return "", err
		}
		sess := &models.Session{
			LinkID:         link.ID,
			SessionToken:   started.Token,
			SignatureToken: started.SignatureToken,
			Mode:           a.mode,
		}
		if err := a.Store.AddSession(ctx, sess); err != nil {
			return "", err
		}
		a.Logger.Info("etpay session started", "link_id", link.ID, "session_id", sess.ID)
		a.events.PublishSession(*sess)
		return sess.SessionToken, nil
	})
	if err != nil {
		return "", err
	}
	return token.(string), nil
}

// reuseSince is the creation time from which a pending session may be reused.
// The built-in sandbox forgets its sessions when the process restarts, so in
// sandbox mode only this process's sessions can be reused.
func (a *app) reuseSince() time.Time {
	since := time.Now().Add(-a.Config.LinkSessionReuse)
	if a.Config.Mode == config.ModeSandbox && since.Before(a.started) {
		return a.started
	}
	return since
}

// sessionRequest always names our own return and webhook URLs, built from
// BASE_URL and never from the request's Host header.
func (a *app) sessionRequest(link *models.Link) etpay.SessionRequest {
	metadata := []etpay.MetadataItem{{Name: "Orden", Value: link.MerchantOrderID, Show: true}}
	if link.Description != "" {
		metadata = append(metadata, etpay.MetadataItem{Name: "Detalle", Value: link.Description, Show: true})
	}
	return etpay.SessionRequest{
		MerchantOrderID:        link.MerchantOrderID,
		OrderAmount:            link.Amount,
		CustomerEmail:          link.CustomerEmail,
		Metadata:               metadata,
		PaymentCompletedURL:    a.Config.URL("/pay/" + link.Code + "/success"),
		PaymentCancellationURL: a.Config.URL("/pay/" + link.Code + "/error"),
		PaymentWebhookURL:      a.Config.URL("/webhooks/etpay"),
	}
}

// showPaymentResult serves the pages ETpay's funnel returns the customer to.
// They only display what our database says; the ?jwt= ETpay appends is
// decoded without trust, just to pick the session the customer was in.
func (a *app) showPaymentResult(completed bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		link, err := a.linkFromPath(c)
		if err != nil {
			return err
		}
		status, paymentStatus := a.returnedSessionStatus(c, link)
		switch {
		case link.Status == models.LinkPaid || status == models.StatusPaid:
			return a.renderPayMessage(c, fiber.StatusOK, link, "paid", "pay.confirmed_heading", "pay.confirmed_message", "")
		case status == models.StatusFailed:
			heading, message := failedTexts(paymentStatus)
			return a.renderPayMessage(c, fiber.StatusOK, link, "failed", heading, message, a.retryURL(link))
		case !completed:
			return a.renderPayMessage(c, fiber.StatusOK, link, "cancelled", "pay.cancelled_heading", "pay.cancelled_message", a.retryURL(link))
		}
		return a.renderPayMessage(c, fiber.StatusOK, link, "pending", "pay.confirming_heading", "pay.confirming_message", "")
	}
}

// returnedSessionStatus is the stored status and payment_status of the
// session named by the return URL's jwt, or of the link's newest session
// when there is none.
func (a *app) returnedSessionStatus(c *fiber.Ctx, link *models.Link) (status, paymentStatus string) {
	sessions, err := a.Store.SessionsForLink(c.UserContext(), link.ID)
	if err != nil || len(sessions) == 0 {
		return models.StatusPending, ""
	}
	if jwt := c.Query("jwt"); jwt != "" && len(jwt) <= etpay.MaxTokenLength {
		if token, err := etpay.UnverifiedSessionToken(jwt); err == nil {
			for _, s := range sessions {
				if s.SessionToken == token {
					return s.Status, s.PaymentStatus
				}
			}
		}
	}
	last := sessions[len(sessions)-1]
	return last.Status, last.PaymentStatus
}

// failedTexts tell the customer why a payment failed when ETpay's answer
// says so (they cancelled, or the bank refused), else only that it did.
func failedTexts(paymentStatus string) (heading, message string) {
	switch etpay.Outcome(paymentStatus) {
	case etpay.OutcomeCancelled:
		return "pay.cancelled_by_you_heading", "pay.cancelled_by_you_message"
	case etpay.OutcomeRejected:
		return "pay.rejected_heading", "pay.rejected_message"
	}
	return "pay.failed_heading", "pay.failed_message"
}

func (a *app) retryURL(link *models.Link) string {
	if link.Status != models.LinkOpen {
		return ""
	}
	return a.payURL(link.Code)
}

func (a *app) linkFromPath(c *fiber.Ctx) (*models.Link, error) {
	code := c.Params("code")
	if !linkCodePattern.MatchString(code) {
		return nil, fiber.ErrNotFound
	}
	link, err := a.Store.LinkByCode(c.UserContext(), code)
	if err != nil {
		return nil, notFoundOr(err)
	}
	return link, nil
}

func (a *app) renderPayMessage(c *fiber.Ctx, status int, link *models.Link, state, heading, message, retry string) error {
	l := a.locale(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	data := fiber.Map{
		"Title":    l.T(heading),
		"Heading":  l.T(heading),
		"Message":  l.T(message),
		"Link":     link,
		"State":    state,
		"RetryURL": retry,
		"Merchant": a.Shop.Name(),
	}
	if state == "pending" {
		// No <meta refresh>, which reloads the page under the customer
		// (WCAG 2.2.1): a button to check again, and pay.js checks by
		// itself and shows the outcome in place.
		data["CheckURL"] = c.OriginalURL() // this same page, its ?jwt= kept
		data["Scripts"] = []string{"/static/js/pay.js"}
	}
	return a.render(c, status, "pay/message", data)
}
