package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// apiGetSession is GET /api/v1/sessions/{id}: the session and its whole
// notification history, oldest first (what each did, never its body).
func (a *app) apiGetSession(c *fiber.Ctx) error {
	id, err := apiID(c)
	if err != nil {
		return err
	}
	sess, err := a.Store.SessionByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) || (err == nil && sess.Mode != apiKeyOf(c).Mode) {
		return newAPIError(fiber.StatusNotFound, "not_found")
	}
	if err != nil {
		return err
	}
	notes, err := a.Store.NotificationsForSession(c.UserContext(), sess.ID)
	if err != nil {
		return err
	}
	view := sess.View()
	view.Notifications = make([]models.NotificationView, len(notes))
	for i := range notes {
		view.Notifications[i] = notes[i].View()
	}
	return sendAPIJSON(c, fiber.StatusOK, view)
}

// apiListSessions is GET /api/v1/sessions: the sessions table's filters, an
// exact merchant_order_id, and pages by cursor.
func (a *app) apiListSessions(c *fiber.Ctx) error {
	p, err := a.parseAPIList(c, sessionStatuses, "sessions.invalid_status")
	if err != nil {
		return err
	}
	var rows []models.Session
	if !p.otherMode {
		var found *models.Found
		if p.filter.Q != "" { // a search is looked up once, and its page read from what it found
			totals, err := a.Store.CountSessions(c.UserContext(), p.filter)
			if err != nil {
				return err
			}
			found = &totals.Found
		}
		rows, err = a.Store.ListSessions(c.UserContext(), models.SessionPage{SessionFilter: p.filter, After: p.after, Limit: p.limit + 1, Found: found})
		if err != nil {
			return err
		}
	}
	return sendAPIJSON(c, fiber.StatusOK, apiPage(p, rows,
		func(s *models.Session) models.SessionCursor { return p.filter.CursorAfter(s) },
		func(s *models.Session) models.SessionView { return s.View() }))
}
