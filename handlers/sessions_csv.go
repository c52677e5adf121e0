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

// csvHeader is the export's public interface: merchants script against these names.
var csvHeader = []string{
	"merchant_order_id", "order_amount", "status", "payment_status", "payment_token",
	"session_token", "mode", "created_at", "paid_at", "failed_at", "last_notification_at",
}

// exportSessions streams every session as CSV, oldest first, row by row.
func (a *app) exportSessions(c *fiber.Ctx) error {
	ctx := c.UserContext()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="sessions.csv"`)
	a.Logger.Info("sessions exported", "user_id", currentUser(c).ID)
	a.audit(c, models.AuditExport, string(c.Request().URI().QueryString()))
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		w := csv.NewWriter(bw)
		_ = w.Write(csvHeader)
		err := a.Store.EachSession(ctx, func(s *models.Session) error {
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
