package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// linkReminderInfo is what a link's page shows of its reminders (data key
// "Reminders" in renderLink): nothing for a link without a customer email.
type linkReminderInfo struct {
	On    bool // REMIND_AFTER is set
	After time.Duration
	Max   int
	Off   bool // turned off for this link
	Sent  int64
}

func (a *app) linkReminders(c *fiber.Ctx, link *models.Link) (*linkReminderInfo, error) {
	if link.CustomerEmail == "" {
		return nil, nil
	}
	sent, err := a.Store.RemindersSent(c.UserContext(), link.ID)
	if err != nil {
		return nil, err
	}
	return &linkReminderInfo{On: a.Config.RemindAfter > 0, After: a.Config.RemindAfter, Max: a.Config.RemindMax,
		Off: link.RemindersOff, Sent: sent}, nil
}

// setLinkReminders turns a link's reminders off (reminders_off=1; any
// reminder still queued is withdrawn) or on again (reminders_off=0).
func (a *app) setLinkReminders(c *fiber.Ctx) error {
	link, err := a.linkFromID(c)
	if err != nil {
		return err
	}
	var off bool
	switch c.FormValue("reminders_off") {
	case "1":
		off = true
	case "0":
	default:
		return fiber.ErrBadRequest
	}
	if err := a.Store.SetLinkReminders(c.UserContext(), link.ID, off); err != nil {
		return notFoundOr(err)
	}
	state, done := "on", "done.reminders_on"
	if off {
		state, done = "off", "done.reminders_off"
	}
	a.Logger.Info("link reminders set", "link_id", link.ID, "user_id", currentUser(c).ID, "off", off)
	a.audit(c, models.AuditReminders, link.MerchantOrderID+": "+state)
	return redirectDone(c, linkPath(link.ID), done)
}
