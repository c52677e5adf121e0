package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// auditPageSize is how many audit entries one page shows.
const auditPageSize = 50

// showAudit lists the audit log newest first, a page at a time: ?before=ID
// continues after the last entry of the previous page (keyset pagination).
func (a *app) showAudit(c *fiber.Ctx) error {
	var before uint
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return fiber.ErrNotFound
		}
		before = uint(n)
	}
	// One more than a page tells whether an older page exists.
	entries, err := a.Store.AuditEntries(c.UserContext(), models.AuditPage{BeforeID: before, Limit: auditPageSize + 1})
	if err != nil {
		return err
	}
	var next uint
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		next = entries[len(entries)-1].ID
	}
	l := a.locale(c)
	return a.render(c, fiber.StatusOK, "admin/audit", fiber.Map{
		"Title":      l.T("audit.title"),
		"Entries":    auditLines(l, entries),
		"NextBefore": next,
		"Paged":      before > 0,
	})
}
