package handlers

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/emails"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// emailCSP is the policy of a rendered email shown on its own: nothing but
// its inline styles and images may load, and nothing in it may run.
const emailCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"

// linkMailInfo is what a link's page shows of its email: where it would go,
// whether it can be sent and whether SMTP is configured.
type linkMailInfo struct {
	To         string
	CanSend    bool // open, unexpired, with a customer email
	Configured bool // SMTP_URL is set
	Langs      []string
}

// linkMail is the link page's email section (data key "Mail" in renderLink).
func (a *app) linkMail(link *models.Link) linkMailInfo {
	return linkMailInfo{
		To:         link.CustomerEmail,
		CanSend:    link.CustomerEmail != "" && link.Startable(time.Now()) == nil,
		Configured: a.Config.SMTPURL != nil,
		Langs:      views.Languages,
	}
}

// previewLinkEmail shows the email a link would be sent in, rendered now, as
// a page of its own with a strict policy (opened in a new tab from the link page).
func (a *app) previewLinkEmail(c *fiber.Ctx) error {
	link, err := a.linkFromID(c)
	if err != nil {
		return err
	}
	to := link.CustomerEmail
	preview := *link
	if to == "" {
		preview.CustomerEmail = "-" // the preview works before an address is known
	}
	m, err := emails.Link(a.Config, a.Shop, &preview, c.Query("lang"))
	if err != nil {
		return err
	}
	return sendEmailHTML(c, m.HTMLBody)
}

// showOutboxHTML shows a stored email's HTML part as it was queued (or, for
// one queued as its data, as it is rendered when sent).
func (a *app) showOutboxHTML(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	m, err := a.Store.OutboxMessageByID(c.UserContext(), id)
	if err != nil {
		return notFoundOr(err)
	}
	_, html, err := emails.Render(m)
	if err != nil {
		return err
	}
	return sendEmailHTML(c, html)
}

func sendEmailHTML(c *fiber.Ctx, html string) error {
	c.Set("Content-Security-Policy", emailCSP)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.SendString(html)
}

// sendLinkEmail is "send again" (or the first send) on a link's page: it
// queues a new email, with a new Message-ID, to the link's customer.
func (a *app) sendLinkEmail(c *fiber.Ctx) error {
	link, err := a.linkFromID(c)
	if err != nil {
		return err
	}
	switch {
	case link.CustomerEmail == "":
		return a.renderLink(c, link, linkPage{status: fiber.StatusUnprocessableEntity, alert: "mail.no_customer"})
	case link.Startable(time.Now()) != nil:
		return a.renderLink(c, link, linkPage{status: fiber.StatusUnprocessableEntity, alert: "mail.not_open"})
	}
	m, err := emails.Link(a.Config, a.Shop, link, c.FormValue("lang"))
	if err != nil {
		return err
	}
	user := currentUser(c)
	m.CreatedByID = &user.ID
	if err := a.Store.QueueMessages(c.UserContext(), m); err != nil {
		return err
	}
	a.Logger.Info("link email queued", "link_id", link.ID, "outbox_id", m.ID, "user_id", user.ID)
	a.audit(c, models.AuditEmailResent, link.MerchantOrderID)
	if a.Config.SMTPURL == nil {
		return redirectDone(c, linkPath(link.ID), "mail.no_smtp")
	}
	return redirectDone(c, linkPath(link.ID), "mail.queued")
}

// showOutbox lists the outbox, newest first, optionally by status.
func (a *app) showOutbox(c *fiber.Ctx) error {
	l := a.locale(c)
	status := c.Query("status")
	if !slices.Contains([]string{models.MailQueued, models.MailSent, models.MailFailed, models.MailWithdrawn}, status) {
		status = ""
	}
	rows, err := a.Store.OutboxMessages(c.UserContext(), models.OutboxFilter{Status: status})
	if err != nil {
		return err
	}
	counts, err := a.Store.OutboxCounts(c.UserContext())
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "admin/outbox", fiber.Map{
		"Title":      l.T("mail.outbox.title"),
		"Messages":   rows,
		"Counts":     counts,
		"Status":     status,
		"Statuses":   []string{models.MailQueued, models.MailSent, models.MailFailed, models.MailWithdrawn},
		"Configured": a.Config.SMTPURL != nil,
		"GiveUp":     l.Duration(a.Config.MailGiveUpAfter),
	})
}

// saveMailAlerts is the account page's opt-in to alert emails.
func (a *app) saveMailAlerts(c *fiber.Ctx) error {
	user := currentUser(c)
	on := c.FormValue("alerts") == "on"
	if err := a.Store.SetMailAlerts(c.UserContext(), user.ID, on); err != nil {
		return err
	}
	detail, done := "off", "mail.alerts_off"
	if on {
		detail, done = "on", "mail.alerts_on"
	}
	a.audit(c, models.AuditMailAlertsChange, detail)
	return redirectDone(c, "/admin/account", done)
}
