package emails

import (
	"encoding/json"
	"fmt"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// DataVersion is the version of the templates an email queued as its data
// renders with (see queuedMail): version 1 is views/mail as it is. Such an
// email is rendered when it is sent, possibly by a later binary, so a change
// to what a receipt or a payment alert says from the same data (its
// templates or their catalogue texts) must not change an email already
// queued: TestQueuedMailTemplatesPinned fails on one, and then the change
// either keeps the old templates under this version and bumps it, or is one
// an email queued before it may show.
const DataVersion = 1

// queuedData is what an outbox row queued as its data stores (OutboxMessage.Data).
type queuedData struct {
	V int      `json:"v"`
	D mailData `json:"d"`
}

// queuedMail is newMail without the rendering: the outbox row stores the
// email's data, its subject and its Message-ID, fixed now, and Render makes
// its bodies when it is sent (or shown). The notification writer queues
// receipts and payment alerts this way: rendering them cost CPU in the
// writer's transaction and ~3 KB (plus index pages) per payment on disk,
// where the data is a few hundred bytes.
func queuedMail(cfg *config.Config, shop Shop, kind, to, lang string, data mailData) (*models.OutboxMessage, error) {
	m, data := outboxRow(cfg, shop, kind, to, lang, data)
	raw, err := json.Marshal(queuedData{V: DataVersion, D: data})
	if err != nil {
		return nil, fmt.Errorf("queue %s email: %w", kind, err)
	}
	m.Data = string(raw)
	return m, nil
}

// Render returns an outbox row's text and HTML parts: as stored, or, for an
// email queued as its data, rendered now from the templates of its version,
// byte for byte what rendering it when queued would have made. Rows queued
// with their bodies (every kind before DataVersion, and the emails built
// outside the notification writer) are returned as they are.
func Render(m *models.OutboxMessage) (text, html string, err error) {
	if m.Data == "" {
		return m.TextBody, m.HTMLBody, nil
	}
	var q queuedData
	if err := json.Unmarshal([]byte(m.Data), &q); err != nil {
		return "", "", fmt.Errorf("read the data of email %d: %w", m.ID, err)
	}
	if q.V != DataVersion {
		// Queued by a newer binary: its templates are not these.
		return "", "", fmt.Errorf("email %d was queued with templates v%d; this binary renders v%d", m.ID, q.V, DataVersion)
	}
	q.D.L, q.D.Subject = views.NewLocale(m.Lang), m.Subject
	text, html, err = renderMail(m.Kind, q.D)
	if err != nil {
		return "", "", fmt.Errorf("render %s email %d: %w", m.Kind, m.ID, err)
	}
	return text, html, nil
}
