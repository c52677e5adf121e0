package emails

import (
	"strconv"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// WebhookDisabled tells each admin that a webhook endpoint was disabled
// (failing for models.WebhookDisableAfter, or answering 410 Gone), with a
// link to its page where it is enabled again.
func WebhookDisabled(cfg *config.Config, shop Shop, e *models.WebhookEndpoint, admins []models.User) ([]*models.OutboxMessage, error) {
	msgs := make([]*models.OutboxMessage, 0, len(admins))
	for _, u := range admins {
		l := views.NewLocale(u.Lang)
		m, err := newMail(cfg, shop, models.MailAlertWebhook, u.Email, l.Lang, mailData{
			Subject: l.T("mail.alert_webhook.subject", e.URL),
			Order:   e.URL,
			Reason:  l.T("webhooks.disabled." + e.DisabledReason),
			URL:     cfg.URL("/admin/webhooks/" + strconv.FormatUint(uint64(e.ID), 10)),
		})
		if err != nil {
			return nil, err
		}
		m.UserID = &u.ID
		m.DedupeKey = dedupeKey("alert_webhook:endpoint:%d:disabled:%d:user:%d", e.ID, e.DisabledAt.UnixNano(), u.ID)
		msgs = append(msgs, m)
	}
	return msgs, nil
}
