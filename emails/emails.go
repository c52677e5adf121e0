// Package emails builds every email the product sends, as outbox rows ready
// to queue: the payment link to its customer, the receipt, staff alerts of a
// payment and the digest of rejected notifications. Templates live in
// views/mail (an HTML part through html/template, a text part through
// text/template); each message's Message-ID is fixed when it is built, so
// every attempt to send it is the same email.
package emails

import (
	"bytes"
	"crypto/rand"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"etpay-dashboard/clp"
	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// Shop names the shop in the emails: *shop.Shop, which follows the shop's
// page, or FixedName.
type Shop interface {
	Name() string
}

// FixedName is a shop name that never changes (MERCHANT_NAME, say).
type FixedName string

// Name is the name itself.
func (n FixedName) Name() string { return string(n) }

// mailData is what an email template sees. Templates live in views/mail:
// NAME.html and NAME.txt for each kind, sharing mail/layout.html. An email
// queued as its data (see queuedMail) stores these fields as JSON: L and
// Subject come from the row's Lang and Subject instead.
type mailData struct {
	L           views.Locale `json:"-"`
	Subject     string       `json:"-"`
	Merchant    string       `json:"merchant,omitempty"`
	Order       string       `json:"order,omitempty"`
	Amount      int64        `json:"amount,omitempty"`
	Description string       `json:"description,omitempty"`
	// URL is the customer's payment link, or the panel page an alert points to.
	URL        string     `json:"url,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	PaidAt     *time.Time `json:"paid_at,omitempty"`
	Reference  string     `json:"reference,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	ReceivedAt time.Time  `json:"received_at,omitzero"`
	From       string     `json:"from,omitempty"`
	// Reasons and Total are a digest's rejected notifications by reason.
	Reasons []models.RejectedReason `json:"reasons,omitempty"`
	Total   int64                   `json:"total,omitempty"`
}

type mailTemplateSet struct {
	html *htmltemplate.Template
	text *texttemplate.Template
}

// mailTemplates parses views/mail once: HTML through html/template, so
// every value is escaped, and the text part through text/template.
var mailTemplates = sync.OnceValues(func() (*mailTemplateSet, error) {
	h, err := htmltemplate.New("mail").Funcs(views.Funcs()).ParseFS(views.FS, "mail/*.html")
	if err != nil {
		return nil, err
	}
	t, err := texttemplate.New("mail").Funcs(texttemplate.FuncMap(views.Funcs())).ParseFS(views.FS, "mail/*.txt")
	if err != nil {
		return nil, err
	}
	return &mailTemplateSet{html: h, text: t}, nil
})

// renderMail renders the text and HTML parts of the email called name.
func renderMail(name string, data mailData) (text, html string, err error) {
	set, err := mailTemplates()
	if err != nil {
		return "", "", err
	}
	var tb, hb bytes.Buffer
	if err := set.text.ExecuteTemplate(&tb, name+".txt", data); err != nil {
		return "", "", err
	}
	if err := set.html.ExecuteTemplate(&hb, name+".html", data); err != nil {
		return "", "", err
	}
	return tb.String(), hb.String(), nil
}

// newMail renders an email into an outbox row with its Message-ID fixed now,
// so that every attempt, and a resend after a crash, is the same email.
func newMail(cfg *config.Config, shop Shop, kind, to, lang string, data mailData) (*models.OutboxMessage, error) {
	m, data := outboxRow(cfg, shop, kind, to, lang, data)
	text, html, err := renderMail(kind, data)
	if err != nil {
		return nil, fmt.Errorf("render %s email: %w", kind, err)
	}
	m.TextBody, m.HTMLBody = text, html
	return m, nil
}

// outboxRow is what every queued email stores besides its content: kind,
// recipient, language, subject and a Message-ID fixed now; data comes back
// with its locale and the shop's name set, ready to render or store.
func outboxRow(cfg *config.Config, shop Shop, kind, to, lang string, data mailData) (*models.OutboxMessage, mailData) {
	data.L = views.NewLocale(lang)
	data.Merchant = shop.Name()
	return &models.OutboxMessage{
		Kind:      kind,
		To:        to,
		Lang:      data.L.Lang,
		Subject:   data.Subject,
		MessageID: messageIDLocal(time.Now()) + "@" + mailDomain(cfg),
	}, data
}

// messageIDLocal is the left-hand side of a Message-ID: the time in
// microseconds, in base 36 padded to a fixed width, then 128 random bits.
// Unique like the random part alone, but in the order emails are built, so
// the outbox's unique index on message_id grows at its end: a random key
// there cost a random index page per email in every commit of the
// notification writer.
func messageIDLocal(now time.Time) string {
	t := strconv.FormatInt(now.UnixMicro(), 36)
	return strings.Repeat("0", max(0, 12-len(t))) + t + "." + rand.Text()
}

// mailDomain is the right-hand side of our Message-IDs: MAIL_FROM's domain,
// or BASE_URL's host.
func mailDomain(cfg *config.Config) string {
	if a, err := mail.ParseAddress(cfg.MailFrom); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 && at < len(a.Address)-1 {
			return a.Address[at+1:]
		}
	}
	if h := cfg.BaseURL.Hostname(); h != "" {
		return h
	}
	return "localhost"
}

// mailLang is es or en; anything else is Spanish, the customers' language.
func mailLang(lang string) string {
	return views.NewLocale(lang).Lang
}

// Link builds the email that carries link to its customer, in lang (es
// or en), ready to queue. The command line uses it too.
func Link(cfg *config.Config, shop Shop, link *models.Link, lang string) (*models.OutboxMessage, error) {
	return linkMail(cfg, shop, models.MailLink, "mail.link.subject", link, lang)
}

// Reminder builds a reminder of an unpaid link to its customer, in lang (es
// or en): the same link and facts as its first email.
func Reminder(cfg *config.Config, shop Shop, link *models.Link, lang string) (*models.OutboxMessage, error) {
	return linkMail(cfg, shop, models.MailReminder, "mail.reminder.subject", link, lang)
}

// linkMail is an email of kind carrying link to its customer, under the
// subject subjectKey names (shop name, order id).
func linkMail(cfg *config.Config, shop Shop, kind, subjectKey string, link *models.Link, lang string) (*models.OutboxMessage, error) {
	if link.CustomerEmail == "" {
		return nil, models.ErrNoCustomerEmail
	}
	l := views.NewLocale(mailLang(lang))
	m, err := newMail(cfg, shop, kind, link.CustomerEmail, l.Lang, mailData{
		Subject:     l.T(subjectKey, shop.Name(), link.MerchantOrderID),
		Order:       link.MerchantOrderID,
		Amount:      link.Amount,
		Description: link.Description,
		URL:         cfg.URL("/pay/" + link.Code),
		ExpiresAt:   link.ExpiresAt,
	})
	if err != nil {
		return nil, err
	}
	m.LinkID = &link.ID
	return m, nil
}

// Receipt is the customer's receipt for a paid session, queued as its data:
// it is rendered when sent (see Render), so the notification writer that
// queues it renders nothing and stores a few hundred bytes, not two bodies.
func Receipt(cfg *config.Config, shop Shop, link *models.Link, s *models.Session) (*models.OutboxMessage, error) {
	m, err := queuedMail(cfg, shop, models.MailReceipt, link.CustomerEmail, "es", receiptData(shop, link, s))
	if err != nil {
		return nil, err
	}
	m.LinkID, m.SessionID = &link.ID, &s.ID
	m.DedupeKey = dedupeKey("receipt:session:%d", s.ID)
	return m, nil
}

// receiptData is what a receipt says (in Spanish, the customers' language).
func receiptData(shop Shop, link *models.Link, s *models.Session) mailData {
	return mailData{
		Subject:     views.NewLocale("es").T("mail.receipt.subject", shop.Name(), link.MerchantOrderID),
		Order:       link.MerchantOrderID,
		Amount:      s.Amount,
		Description: link.Description,
		PaidAt:      s.PaidAt,
		Reference:   s.PaymentToken,
	}
}

func dedupeKey(format string, args ...any) *string {
	k := fmt.Sprintf(format, args...)
	return &k
}

// ForNotification builds the emails a stored notification calls for; the
// store queues them in the notification's own transaction (see
// models.NotificationMail), so a payment and its receipt are stored together.
// A payment (ev.Link set) gets, once per session, the customer's receipt
// (when the link has an email) and an alert to every staff member who opted
// in. (Rejected notifications reach staff as a digest: see mailLoop.)
func ForNotification(cfg *config.Config, shop Shop) models.NotificationMail {
	return func(ev models.MailEvent) ([]*models.OutboxMessage, error) {
		if ev.Link == nil || ev.Session == nil || ev.Session.Status != models.StatusPaid {
			return nil, nil
		}
		return payment(cfg, shop, ev.Link, ev.Session, ev.Staff)
	}
}

// payment is the receipt and staff alerts for a paid session.
func payment(cfg *config.Config, shop Shop, link *models.Link, s *models.Session, staff []models.User) ([]*models.OutboxMessage, error) {
	msgs := make([]*models.OutboxMessage, 0, 1+len(staff))
	if link.CustomerEmail != "" {
		m, err := Receipt(cfg, shop, link, s)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	for _, u := range staff {
		m, err := queuedMail(cfg, shop, models.MailAlertPaid, u.Email, u.Lang, alertPaidData(cfg, u.Lang, s))
		if err != nil {
			return nil, err
		}
		m.SessionID, m.UserID = &s.ID, &u.ID
		m.DedupeKey = dedupeKey("alert_paid:session:%d:user:%d", s.ID, u.ID)
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// alertPaidData is what a staff member's alert of a payment says, in lang.
func alertPaidData(cfg *config.Config, lang string, s *models.Session) mailData {
	return mailData{
		Subject: views.NewLocale(lang).T("mail.alert_paid.subject", s.MerchantOrderID, clp.Format(s.Amount)),
		Order:   s.MerchantOrderID,
		Amount:  s.Amount,
		URL:     cfg.URL("/admin/sessions/" + strconv.FormatUint(uint64(s.ID), 10)),
	}
}

// RejectedDigest tells a staff member what was rejected in a digest's
// period, by reason, with a link to the overview.
func RejectedDigest(cfg *config.Config, shop Shop, d models.RejectedDigest) (*models.OutboxMessage, error) {
	l := views.NewLocale(d.User.Lang)
	return newMail(cfg, shop, models.MailAlertRejected, d.User.Email, l.Lang, mailData{
		Subject:    l.T("mail.alert_rejected.subject", d.Total()),
		URL:        cfg.URL("/admin/overview?mode=all#attention-rejected"),
		ReceivedAt: d.Since,
		Reasons:    d.Reasons,
		Total:      d.Total(),
	})
}
