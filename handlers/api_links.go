package handlers

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// apiLinkOf is the link named by :id, when it is of the key's mode: a key
// sees nothing of the other mode's links.
func (a *app) apiLinkOf(c *fiber.Ctx) (*models.Link, error) {
	id, err := apiID(c)
	if err != nil {
		return nil, err
	}
	link, err := a.Store.LinkByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) || (err == nil && link.Mode != apiKeyOf(c).Mode) {
		return nil, newAPIError(fiber.StatusNotFound, "not_found")
	}
	return link, err
}

// linkView is link as the API shows it now.
func (a *app) linkView(link *models.Link) models.LinkView {
	return link.View(a.Config.BaseURL.String(), time.Now())
}

// apiGetLink is GET /api/v1/links/{id}.
func (a *app) apiGetLink(c *fiber.Ctx) error {
	link, err := a.apiLinkOf(c)
	if err != nil {
		return err
	}
	return sendAPIJSON(c, fiber.StatusOK, a.linkView(link))
}

// apiCancelLink is POST /api/v1/links/{id}/cancel: the panel's cancel
// (Store.CancelLink). A cancelled link is answered as it is; a paid one
// cannot be cancelled (409).
func (a *app) apiCancelLink(c *fiber.Ctx) error {
	link, err := a.apiLinkOf(c)
	if err != nil {
		return err
	}
	err = a.Store.CancelLink(c.UserContext(), link.ID, 0)
	switch {
	case errors.Is(err, models.ErrLinkPaid):
		return newAPIError(fiber.StatusConflict, "link_paid", itoa(link.ID))
	case errors.Is(err, models.ErrAlreadyCancelled):
		// Nothing changed: a retry, or two callers at once.
	case err != nil:
		return err
	default:
		a.Logger.Info("link cancelled", "link_id", link.ID, "api_key_id", apiKeyOf(c).ID)
		a.auditAPI(c, models.AuditLinkCanceled, link.MerchantOrderID)
	}
	if link, err = a.Store.LinkByID(c.UserContext(), link.ID); err != nil {
		return err
	}
	return sendAPIJSON(c, fiber.StatusOK, a.linkView(link))
}

// apiListLinks is GET /api/v1/links: the links list's filters, an exact
// merchant_order_id, and pages by cursor.
func (a *app) apiListLinks(c *fiber.Ctx) error {
	p, err := a.parseAPIList(c, models.LinkStatuses, "links_list.invalid_status")
	if err != nil {
		return err
	}
	now := time.Now()
	f := models.LinkFilter{SessionFilter: p.filter, Now: now}
	var rows []models.LinkRow
	if !p.otherMode {
		var found *models.Found
		if f.Q != "" { // a search is looked up once, and its page read from what it found
			n, err := a.Store.CountLinks(c.UserContext(), f)
			if err != nil {
				return err
			}
			found = &n
		}
		rows, err = a.Store.ListLinks(c.UserContext(), models.LinkPage{LinkFilter: f, After: p.after, Limit: p.limit + 1, Found: found})
		if err != nil {
			return err
		}
	}
	return sendAPIJSON(c, fiber.StatusOK, apiPage(p, rows,
		func(r *models.LinkRow) models.SessionCursor { return f.CursorAfter(&r.Link) },
		func(r *models.LinkRow) models.LinkView { return r.Link.View(a.Config.BaseURL.String(), now) }))
}
