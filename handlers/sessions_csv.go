package handlers

import (
	"bufio"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// csvHeader is the export's public interface: merchants script against these
// names, so columns are only ever added at the end.
var csvHeader = []string{
	"merchant_order_id", "order_amount", "status", "payment_status", "payment_token",
	"session_token", "mode", "created_at", "paid_at", "failed_at", "last_notification_at",
	"customer_email",
}

// exportSessions streams the sessions the list's query string selects, every
// page of them, as CSV, row by row. Without a query string it is every
// session, oldest first; with one, the rows are in the chosen sort (newest
// first by default), exactly as the table shows them. after= and before= are
// checked but ignored: an export is never one page.
func (a *app) exportSessions(c *fiber.Ctx) error {
	p, errs := parseSessionParams(c)
	if len(errs) > 0 {
		l := a.locale(c)
		msgs := fieldMessages(l, errs)
		parts := make([]string, 0, len(msgs))
		for _, field := range []string{"q", "status", "mode", "from", "to", "sort", "after", "before"} {
			if m, ok := msgs[field]; ok {
				parts = append(parts, field+": "+m)
			}
		}
		return fiber.NewError(fiber.StatusBadRequest, l.T("sessions.invalid_filters", strings.Join(parts, " ")))
	}
	filter := p.filter
	if len(c.Request().URI().QueryString()) == 0 {
		filter.Sort = models.SortDateAsc
	}
	mask := views.ForViewer(currentUser(c))
	ctx := c.UserContext()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="sessions.csv"`)
	a.Logger.Info("sessions exported", "user_id", currentUser(c).ID)
	a.audit(c, models.AuditExport, string(c.Request().URI().QueryString()))
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		w := csv.NewWriter(bw)
		_ = w.Write(csvHeader)
		err := a.Store.EachSession(ctx, filter, func(s *models.SessionExport) error {
			email := s.CustomerEmail
			if mask {
				email = views.MaskEmail(email)
			}
			return w.Write([]string{
				csvCell(s.MerchantOrderID),
				strconv.FormatInt(s.Amount, 10),
				s.Status,
				csvCell(s.PaymentStatus),
				csvCell(s.PaymentToken),
				csvCell(s.SessionToken),
				s.Mode,
				csvTime(&s.CreatedAt),
				csvTime(s.PaidAt),
				csvTime(s.FailedAt),
				csvTime(s.LastNotificationAt),
				csvCell(email),
			})
		})
		w.Flush()
		if err != nil {
			a.Logger.Error("csv export failed", "err", err)
		}
	})
	return nil
}

// csvTime is ISO 8601 with the America/Santiago offset; empty when unset.
func csvTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(views.Santiago).Format(time.RFC3339)
}

// csvCell defuses spreadsheet formulas: a cell starting with = + - or @ gets a leading '.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
