package payments

import (
	"context"
	"encoding/json"
	"time"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// reconcileEvery is how often the background job looks for sessions that
// have waited too long for their notification (more often when
// RECONCILE_AFTER is shorter).
const reconcileEvery = time.Minute

// RunReconciler asks ETpay about sessions pending longer than
// RECONCILE_AFTER, so a lost notification still ends up recorded. It runs
// until ctx ends.
func (p *Pipeline) RunReconciler(ctx context.Context) {
	ticker := time.NewTicker(min(reconcileEvery, p.Config.ReconcileAfter))
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			p.reconcileOverdue(ctx)
		}
	}
}

// reconcileOverdue checks one batch of overdue sessions, oldest first. Each
// is claimed before ETpay is asked: another instance sharing the database
// that claimed it first asks instead.
func (p *Pipeline) reconcileOverdue(ctx context.Context) {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	cutoff := now.Add(-p.Config.ReconcileAfter)
	overdue, err := p.Store.OverdueSessions(ctx, string(p.Config.Mode), cutoff, 50)
	if err != nil {
		p.Logger.Error("reconciliation: listing overdue sessions failed", "err", err)
		return
	}
	for _, s := range overdue {
		mine, err := p.Store.ClaimOverdueSession(ctx, s.ID, cutoff, now)
		if err != nil {
			p.Logger.Error("reconciliation: claiming a session failed", "session_id", s.ID, "err", err)
			return
		}
		if !mine {
			continue
		}
		if _, err := p.ask(ctx, &s); err != nil {
			p.Logger.Warn("reconciliation: status query failed", "session_id", s.ID, "err", err)
		}
	}
}

// Reconcile asks ETpay for the session's payments and records each answer
// like a verified notification (source status_query). ETpay's answer comes
// over our authenticated API call, so it counts as verified. An empty answer
// means "no news", never "failed". It returns how many answers were recorded.
func (p *Pipeline) Reconcile(ctx context.Context, s *models.Session) (int, error) {
	if err := p.Store.MarkChecked(ctx, s.ID); err != nil {
		return 0, err
	}
	return p.ask(ctx, s)
}

// ask is Reconcile once the session is marked checked.
func (p *Pipeline) ask(ctx context.Context, s *models.Session) (int, error) {
	answers, err := p.ETpay.CheckPaymentStatus(ctx, etpay.StatusQuery{SessionToken: s.SessionToken})
	if err != nil {
		return 0, err
	}
	recorded := 0
	for _, answer := range answers {
		in, ok := statusAnswer(s, answer)
		if !ok {
			continue
		}
		stored, err := p.Record(ctx, in)
		if err != nil {
			return recorded, err
		}
		recorded++
		p.Logger.Info("reconciliation recorded", "session_id", s.ID, "verdict", stored.Verdict, "effect", stored.Effect)
	}
	return recorded, nil
}

// statusAnswer is one of ETpay's status answers as a notification to record
// for s; false when the answer says nothing about s.
func statusAnswer(s *models.Session, answer etpay.PaymentStatus) (models.NotificationInput, bool) {
	if answer.SessionToken != "" && answer.SessionToken != s.SessionToken {
		return models.NotificationInput{}, false // about another session of the same order: not ours to apply here
	}
	if answer.PaymentStatus == "" {
		return models.NotificationInput{}, false // an entry without a status says nothing: no news, never "failed"
	}
	order := answer.MerchantOrderID
	if order == "" {
		order = s.MerchantOrderID
	}
	claims, _ := json.Marshal(answer)
	return models.NotificationInput{
		ReceivedAt:      time.Now(),
		RemoteAddr:      "ETpay check_payment_status",
		Source:          SourceStatusQuery,
		Body:            answer.Raw,
		Verified:        true,
		SessionToken:    s.SessionToken,
		MerchantOrderID: order,
		PaymentToken:    answer.PaymentToken,
		PaymentStatus:   answer.PaymentStatus,
		Claims:          string(claims),
		Paid:            answer.PaymentStatus == etpay.StatusSuccess,
	}, true
}
