package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// pageSize is how many sessions one page of the table shows.
const pageSize = 50

func (a *app) listSessions(c *fiber.Ctx) error {
	before, err := strconv.ParseUint(c.Query("before", "0"), 10, 32)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "before must be a session id")
	}
	rows, err := a.Store.ListSessions(c.UserContext(), models.SessionPage{BeforeID: uint(before), Limit: pageSize + 1})
	if err != nil {
		return err
	}
	var next uint
	if len(rows) > pageSize {
		rows = rows[:pageSize]
		next = rows[len(rows)-1].ID
	}
	l := a.locale(c)
	return a.render(c, fiber.StatusOK, "admin/sessions", fiber.Map{
		"Title":      l.T("sessions.title"),
		"Sessions":   rows,
		"NextBefore": next,
	})
}

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
	})
}
