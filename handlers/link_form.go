package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/clp"
	"etpay-dashboard/emails"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// linkForm is the new-link form as typed, kept to re-render it with errors.
type linkForm struct {
	MerchantOrderID string
	Amount          string
	CustomerEmail   string
	Description     string
	ExpiresAt       string
}

func readLinkForm(c *fiber.Ctx) linkForm {
	return linkForm{
		MerchantOrderID: strings.TrimSpace(c.FormValue("merchant_order_id")),
		Amount:          strings.TrimSpace(c.FormValue("order_amount")),
		CustomerEmail:   strings.TrimSpace(c.FormValue("customer_email")),
		Description:     strings.TrimSpace(c.FormValue("description")),
		ExpiresAt:       strings.TrimSpace(c.FormValue("expires_at")),
	}
}

// input validates the form into a LinkInput; field errors say what to fix.
func (f linkForm) input(maxAmount int64) (models.LinkInput, models.FieldErrors) {
	in := models.LinkInput{
		MerchantOrderID: f.MerchantOrderID,
		CustomerEmail:   f.CustomerEmail,
		Description:     f.Description,
	}
	amount, amountErr := clp.Parse(f.Amount)
	in.Amount = amount
	errs := models.ValidateLink(in, maxAmount)
	if amountErr != nil {
		errs["order_amount"] = *models.AmountProblem(amountErr, maxAmount)
	}
	expires, expiryErr := models.ParseExpiry(f.ExpiresAt, views.Santiago)
	in.ExpiresAt = expires
	if expiryErr != nil {
		errs["expires_at"] = *expiryErr
	}
	return in, errs
}

func (a *app) showLinkForm(c *fiber.Ctx) error {
	return a.renderLinkForm(c, fiber.StatusOK, linkForm{}, nil, 0)
}

// renderLinkForm shows the form; existing, when not 0, is the link that
// already holds the order id typed, for staff to go to.
func (a *app) renderLinkForm(c *fiber.Ctx, status int, form linkForm, errs map[string]string, existing uint) error {
	l := a.locale(c)
	if errs == nil {
		errs = map[string]string{}
	}
	return a.render(c, status, "admin/link_new", fiber.Map{"Title": l.T("link_new.title"), "Form": form, "Errors": errs,
		"ExistingLinkID": existing})
}

// saveLink makes the link and sends staff to its page (Post/Redirect/Get).
func (a *app) saveLink(c *fiber.Ctx) error {
	form := readLinkForm(c)
	in, errs := form.input(a.Config.MaxOrderAmount)
	if len(errs) > 0 {
		return a.renderLinkForm(c, fiber.StatusUnprocessableEntity, form, fieldMessages(a.locale(c), errs), 0)
	}
	user := currentUser(c)
	in.Mode = a.mode
	in.CreatedByID = &user.ID
	link, err := a.createLink(c, in)
	if errors.Is(err, models.ErrOrderInUse) {
		// The message says why; a link takes staff to the link holding the order.
		var existing uint
		if inUse := (*models.OrderInUseError)(nil); errors.As(err, &inUse) {
			existing = inUse.LinkID
		}
		msgs := fieldMessages(a.locale(c), models.FieldErrors{"merchant_order_id": {Key: "invalid.order_in_use"}})
		return a.renderLinkForm(c, fiber.StatusUnprocessableEntity, form, msgs, existing)
	}
	if err != nil {
		return err
	}
	a.Logger.Info("link created", "link_id", link.ID, "user_id", user.ID)
	a.audit(c, models.AuditLinkCreated, link.MerchantOrderID)
	if in.CustomerEmail != "" {
		return redirectDone(c, linkPath(link.ID), "done.link_created_mail")
	}
	return redirectDone(c, linkPath(link.ID), "done.link_created")
}

// createLink stores the link and, when it has a customer email, the email
// that carries it, in one transaction: the email is never lost nor sent for
// a link that was not made.
func (a *app) createLink(c *fiber.Ctx, in models.LinkInput) (*models.Link, error) {
	if in.CustomerEmail == "" {
		return a.Store.CreateLink(c.UserContext(), in)
	}
	link, _, err := a.Store.CreateLinkWithEmail(c.UserContext(), in, func(l *models.Link) (*models.OutboxMessage, error) {
		m, err := emails.Link(a.Config, a.Shop, l, c.FormValue("email_lang"))
		if err == nil {
			m.CreatedByID = in.CreatedByID
		}
		return m, err
	})
	return link, err
}

// payURL is the customer's link for a code, always on BASE_URL.
func (a *app) payURL(code string) string {
	return a.Config.URL("/pay/" + code)
}

// idParam reads the :id route parameter as a positive integer.
func idParam(c *fiber.Ctx) (uint, error) {
	id, err := strconv.ParseUint(c.Params("id"), 10, 32)
	if err != nil || id == 0 {
		return 0, fiber.ErrNotFound
	}
	return uint(id), nil
}

// notFoundOr maps the store's ErrNotFound to a 404 page.
func notFoundOr(err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	return err
}
