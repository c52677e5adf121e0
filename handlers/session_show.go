package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/payments"
	"etpay-dashboard/views"
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
		"Origins":       notificationOrigins(l, notes),
		"CanEdit":       currentUser(c).Role != models.RoleViewer,
	})
}

// notificationOrigins says where each notification came from, by id: the
// source and the address it came from, or, for a replay, who asked for it
// (stored as "replay by <email>", which stays as it is).
func notificationOrigins(l views.Locale, notes []models.Notification) map[uint]string {
	out := make(map[uint]string, len(notes))
	for _, n := range notes {
		if email, ok := strings.CutPrefix(n.RemoteAddr, replayPrefix); ok && n.Source == payments.SourceReplay {
			out[n.ID] = l.T("notification.replayed_by", email)
			continue
		}
		out[n.ID] = l.T("source."+n.Source) + " · " + n.RemoteAddr
	}
	return out
}
