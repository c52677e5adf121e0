package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// qrSize is the QR code's side in pixels; the page scales it down with CSS.
const qrSize = 320

// showLinkQR draws the customer's link as a PNG QR code. The code never
// changes, so the browser may keep it, but only for this user.
func (a *app) showLinkQR(c *fiber.Ctx) error {
	link, err := a.linkFromID(c)
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(a.payURL(link.Code), qrcode.Medium, qrSize)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	return c.Send(png) // no-store, like every admin answer
}

// confirmCancelLink asks before cancelling: the link page's "Cancelar link"
// leads here, and the page's form POSTs to cancelLink. A link that is no
// longer open has nothing to ask about.
func (a *app) confirmCancelLink(c *fiber.Ctx) error {
	link, err := a.linkFromID(c)
	if err != nil {
		return err
	}
	switch link.Status {
	case models.LinkPaid:
		return a.renderLink(c, link, linkPage{status: fiber.StatusConflict, alert: "links.cancel_paid"})
	case models.LinkOpen:
	default:
		return c.Redirect(linkPath(link.ID), fiber.StatusSeeOther)
	}
	l := a.locale(c)
	return a.renderConfirm(c, fiber.StatusOK, confirmation{
		Title:  l.T("links.cancel_confirm", link.MerchantOrderID),
		Lines:  []string{l.T("links.cancel_what"), l.T("links.cancel_mail"), l.T("links.cancel_late")},
		Action: linkPath(link.ID) + "/cancel",
		Submit: l.T("links.cancel_submit"),
		Back:   linkPath(link.ID),
	})
}

// cancelLink closes an open link so that it starts no ETpay session. A link
// already cancelled is left as it is; a paid one cannot be cancelled.
func (a *app) cancelLink(c *fiber.Ctx) error {
	link, err := a.linkFromID(c)
	if err != nil {
		return err
	}
	user := currentUser(c)
	err = a.Store.CancelLink(c.UserContext(), link.ID, user.ID)
	switch {
	case errors.Is(err, models.ErrLinkPaid):
		link, err = a.Store.LinkByID(c.UserContext(), link.ID)
		if err != nil {
			return notFoundOr(err)
		}
		return a.renderLink(c, link, linkPage{status: fiber.StatusConflict, alert: "links.cancel_paid"})
	case errors.Is(err, models.ErrAlreadyCancelled):
		// Nothing changed: a second click, or two staff at once.
	case err != nil:
		return notFoundOr(err)
	default:
		a.Logger.Info("link cancelled", "link_id", link.ID, "user_id", user.ID)
		a.audit(c, models.AuditLinkCanceled, link.MerchantOrderID)
	}
	return redirectDone(c, linkPath(link.ID), "done.link_cancelled")
}

// setLinkExpiry sets or clears when an open link stops starting sessions.
func (a *app) setLinkExpiry(c *fiber.Ctx) error {
	link, err := a.linkFromID(c)
	if err != nil {
		return err
	}
	typed := strings.TrimSpace(c.FormValue("expires_at"))
	at, problem := models.ParseExpiry(typed, views.Santiago)
	if problem != nil {
		return a.renderLink(c, link, linkPage{status: fiber.StatusUnprocessableEntity, expiry: typed, expiryError: problem})
	}
	err = a.Store.SetLinkExpiry(c.UserContext(), link.ID, at)
	if errors.Is(err, models.ErrLinkPaid) || errors.Is(err, models.ErrLinkClosed) {
		link, err = a.Store.LinkByID(c.UserContext(), link.ID)
		if err != nil {
			return notFoundOr(err)
		}
		return a.renderLink(c, link, linkPage{status: fiber.StatusConflict, alert: "links.expiry_closed"})
	}
	if inUse := (*models.OrderInUseError)(nil); errors.As(err, &inUse) {
		problem := &models.FieldError{Key: "links.expiry_order_in_use", Args: []any{link.MerchantOrderID, inUse.LinkID}}
		return a.renderLink(c, link, linkPage{status: fiber.StatusConflict, expiry: typed, expiryError: problem})
	}
	if err != nil {
		return notFoundOr(err)
	}
	a.Logger.Info("link expiry set", "link_id", link.ID, "user_id", currentUser(c).ID, "cleared", at == nil)
	if at == nil {
		return redirectDone(c, linkPath(link.ID), "done.expiry_cleared")
	}
	return redirectDone(c, linkPath(link.ID), "done.expiry_saved")
}

func linkPath(id uint) string {
	return "/admin/links/" + strconv.FormatUint(uint64(id), 10)
}
