package handlers

import (
	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// showSession is one session with its whole notification history. Viewers
// do not see raw bodies and claims: they may carry the customer's RUT.
func (a *app) showSession(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	sess, err := a.Store.SessionByID(c.UserContext(), id)
	if err != nil {
		return notFoundOr(err)
	}
	notes, err := a.Store.NotificationsForSession(c.UserContext(), sess.ID)
	if err != nil {
		return err
	}
	l := a.locale(c)
	return a.render(c, fiber.StatusOK, "admin/session", fiber.Map{
		"Title":         l.T("session.title", sess.MerchantOrderID),
		"Session":       sess,
		"LinkURL":       a.payURL(sess.Link.Code),
		"Notifications": notes,
		"CanEdit":       currentUser(c).Role != models.RoleViewer,
	})
}
