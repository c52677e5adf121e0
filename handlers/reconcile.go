package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// reconcileEvery is how often the background job looks for sessions that
// have waited too long for their notification (more often when
// RECONCILE_AFTER is shorter).
const reconcileEvery = time.Minute

// reconcileLoop asks ETpay about sessions pending longer than RECONCILE_AFTER,
// so a lost notification still ends up recorded. It runs until ctx ends.
func (a *app) reconcileLoop(ctx context.Context) {
	ticker := time.NewTicker(min(reconcileEvery, a.Config.ReconcileAfter))
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			a.reconcileOnce(ctx)
		}
	}
}

// reconcileOnce checks one batch of overdue sessions, oldest first.
func (a *app) reconcileOnce(ctx context.Context) {
	overdue, err := a.Store.OverdueSessions(ctx, a.mode, time.Now().Add(-a.Config.ReconcileAfter), 50)
	if err != nil {
		a.Logger.Error("reconciliation: listing overdue sessions failed", "err", err)
		return
	}
	for _, s := range overdue {
		if _, err := a.reconcileSession(ctx, &s); err != nil {
			a.Logger.Warn("reconciliation: status query failed", "session_id", s.ID, "err", err)
		}
	}
}

// reconcileSession asks ETpay for the session's payments and records each
// answer like a verified notification (source status_query). ETpay's answer
// comes over our authenticated API call, so it counts as verified. An empty
// answer means "no news", never "failed". It returns how many answers were
// recorded.
func (a *app) reconcileSession(ctx context.Context, s *models.Session) (int, error) {
	if err := a.Store.MarkChecked(ctx, s.ID); err != nil {
		return 0, err
	}
	answers, err := a.ETpay.CheckPaymentStatus(ctx, etpay.StatusQuery{SessionToken: s.SessionToken})
	if err != nil {
		return 0, err
	}
	recorded := 0
	for _, answer := range answers {
		if answer.SessionToken != "" && answer.SessionToken != s.SessionToken {
			continue // about another session of the same order: not ours to apply here
		}
		if answer.PaymentStatus == "" {
			continue // an entry without a status says nothing: no news, never "failed"
		}
		order := answer.MerchantOrderID
		if order == "" {
			order = s.MerchantOrderID
		}
		claims, _ := json.Marshal(answer)
		stored, err := a.recordNotification(ctx, models.NotificationInput{
			ReceivedAt:      time.Now(),
			RemoteAddr:      "ETpay check_payment_status",
			Source:          sourceStatusQuery,
			Body:            answer.Raw,
			Verified:        true,
			SessionToken:    s.SessionToken,
			MerchantOrderID: order,
			PaymentToken:    answer.PaymentToken,
			PaymentStatus:   answer.PaymentStatus,
			Claims:          string(claims),
			Paid:            answer.PaymentStatus == etpay.StatusSuccess,
		})
		if err != nil {
			return recorded, err
		}
		recorded++
		a.Logger.Info("reconciliation recorded", "session_id", s.ID, "verdict", stored.Verdict, "effect", stored.Effect)
	}
	return recorded, nil
}

// checkWithETpay is the "check with ETpay" button on a session's page.
func (a *app) checkWithETpay(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	s, err := a.Store.SessionByID(c.UserContext(), id)
	if err != nil {
		return notFoundOr(err)
	}
	n, err := a.reconcileSession(c.UserContext(), s)
	result := "recorded " + itoa(uint(n))
	if err != nil {
		a.Logger.Warn("status check failed", "session_id", s.ID, "err", err)
		result = "failed"
		if errors.Is(err, etpay.ErrUnavailable) {
			result = "unavailable"
		}
	}
	a.audit(c, models.AuditCheck, s.MerchantOrderID+": "+result)
	return c.Redirect("/admin/sessions/"+itoa(s.ID)+"?checked="+result, fiber.StatusSeeOther)
}
