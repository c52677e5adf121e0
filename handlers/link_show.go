package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// expiryLayout is how an HTML datetime-local input writes a time.
const expiryLayout = "2006-01-02T15:04"

// linkPage is what the link page shows besides the stored link: the answer
// to a refused action and the expiry as typed.
type linkPage struct {
	status      int
	alert       string // text key of a refused action's message
	expiry      string // the expiry field as typed, after a refusal
	expiryError *models.FieldError
}

func (a *app) showLink(c *fiber.Ctx) error {
	link, err := a.linkFromID(c)
	if err != nil {
		return err
	}
	return a.renderLink(c, link, linkPage{status: fiber.StatusOK})
}

// renderLink shows a link with its whole timeline and, for staff, its actions.
func (a *app) renderLink(c *fiber.Ctx, link *models.Link, p linkPage) error {
	now := time.Now()
	events, err := a.Store.LinkTimeline(c.UserContext(), link, now)
	if err != nil {
		return err
	}
	reminders, err := a.linkReminders(c, link)
	if err != nil {
		return err
	}
	l := a.locale(c)
	expiry := p.expiry
	if p.expiryError == nil && link.ExpiresAt != nil {
		expiry = link.ExpiresAt.In(views.Santiago).Format(expiryLayout)
	}
	data := fiber.Map{
		"Title":       l.T("link.title", link.MerchantOrderID),
		"Link":        link,
		"LinkURL":     a.payURL(link.Code),
		"Events":      events,
		"Open":        link.Status == models.LinkOpen,
		"Expired":     link.Expired(now),
		"CanEdit":     mayEditLinks(currentUser(c)),
		"Expiry":      expiry,
		"ExpiryError": "",
		"Alert":       "",
		"Scripts":     []string{"/static/js/link.js"},
		"Mail":        a.linkMail(link),
		"Reminders":   reminders,
	}
	if p.alert != "" {
		data["Alert"] = l.T(p.alert)
	}
	if p.expiryError != nil {
		data["ExpiryError"] = l.T(p.expiryError.Key, p.expiryError.Args...)
	}
	return a.render(c, p.status, "admin/link", data)
}

// mayEditLinks mirrors canEdit for the page, which only hides what the
// routes refuse anyway.
func mayEditLinks(u *models.User) bool {
	return u != nil && (u.Role == models.RoleAdmin || u.Role == models.RoleStaff)
}

// linkFromID loads the link named by the :id parameter, or answers 404.
func (a *app) linkFromID(c *fiber.Ctx) (*models.Link, error) {
	id, err := idParam(c)
	if err != nil {
		return nil, err
	}
	link, err := a.Store.LinkByID(c.UserContext(), id)
	if err != nil {
		return nil, notFoundOr(err)
	}
	return link, nil
}
