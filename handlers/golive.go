package handlers

import (
	"encoding/csv"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/backups"
	"etpay-dashboard/clp"
	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// goLivePayments bounds the payments the page lists; the CSV has them all
// up to this many too (test payments before go-live are a handful).
const goLivePayments = 200

// The go-live checklist's items, in order; each has the text golive.check.<name>.
const (
	goLiveLiveMode     = "live_mode"
	goLiveHTTPS        = "https"
	goLiveNotification = "notification"
	goLivePayment      = "payment"
	goLiveBackup       = "backup"
	goLiveTwoFactor    = "two_factor"
)

// goLiveCheck is one line of the go-live checklist.
type goLiveCheck struct {
	Name string // its text is golive.check.<Name>
	OK   bool
	Note string // what was found, already in the user's language
}

// showGoLive is GET /admin/golive: the checklist read from the real state,
// the live payments ETpay asks for, and an email ready to copy.
func (a *app) showGoLive(c *fiber.Ctx) error {
	facts, err := a.Store.GoLive(c.UserContext(), goLivePayments)
	if err != nil {
		return err
	}
	l := a.locale(c)
	checks := a.goLiveChecks(l, facts, time.Now())
	ready := true
	for _, ch := range checks {
		ready = ready && ch.OK
	}
	return a.render(c, fiber.StatusOK, "admin/golive", fiber.Map{
		"Title":    l.T("golive.title"),
		"Checks":   checks,
		"Ready":    ready,
		"Facts":    facts,
		"Email":    a.goLiveEmail(facts),
		"Merchant": a.Config.ETpayMerchant,
	})
}

// goLiveChecks reads each condition of going live from the configuration
// and the database, never from what someone ticked.
func (a *app) goLiveChecks(l views.Locale, f *models.GoLiveFacts, now time.Time) []goLiveCheck {
	cfg := a.Config
	checks := []goLiveCheck{
		{Name: goLiveLiveMode, OK: cfg.Mode == config.ModeLive},
		{Name: goLiveHTTPS, OK: cfg.BaseURL.Scheme == "https", Note: cfg.BaseURL.String()},
		{Name: goLiveNotification, OK: f.VerifiedLiveNotification},
		{Name: goLivePayment, OK: f.LivePaymentCount > 0, Note: l.T("golive.note.payments", f.LivePaymentCount)},
		{Name: goLiveTwoFactor, OK: f.AdminsWithoutSecondFactor == 0, Note: l.T("golive.note.admins_without_2fa", f.AdminsWithoutSecondFactor)},
	}
	return append(checks, a.goLiveBackupCheck(l, now))
}

// goLiveBackupCheck: scheduled backups on, and the newest one recent.
func (a *app) goLiveBackupCheck(l views.Locale, now time.Time) goLiveCheck {
	check := goLiveCheck{Name: goLiveBackup}
	if a.Config.OnPostgres() {
		// PostgreSQL's own copies (pg_dump, the provider's): nothing here
		// can see them, so the checklist says whose they are.
		check.OK, check.Note = true, l.T("golive.note.backup_postgres")
		return check
	}
	if a.Config.BackupDir == "" {
		check.Note = l.T("golive.note.no_backup_dir")
		return check
	}
	last, err := backups.Newest(a.Config.BackupDir)
	switch {
	case errors.Is(err, backups.ErrNone):
		check.Note = l.T("golive.note.no_backup_yet")
	case err != nil:
		check.Note = l.T("overview.backup.unreadable", a.Config.BackupDir)
	default:
		check.OK = !backups.Late(last, a.Config.BackupEvery, now)
		check.Note = l.T("golive.note.last_backup", l.Time(last))
	}
	return check
}

// goLiveEmail is the message ETpay asks for before going live, in Spanish
// (ETpay's language), whatever the panel's.
func (a *app) goLiveEmail(f *models.GoLiveFacts) string {
	es := views.NewLocale("es")
	var b strings.Builder
	b.WriteString(es.T("golive.email.intro", a.Shop.Name(), a.Config.ETpayMerchant))
	b.WriteString("\n\n")
	for _, s := range f.LivePayments {
		b.WriteString(es.T("golive.email.line", s.MerchantOrderID, s.PaymentToken, clp.Format(s.Amount), es.Time(s.PaidAt)))
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(es.T("golive.email.close"))
	return b.String()
}

// exportGoLive is GET /admin/golive.csv: the live payments, for ETpay.
func (a *app) exportGoLive(c *fiber.Ctx) error {
	facts, err := a.Store.GoLive(c.UserContext(), goLivePayments)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="pagos-live-`+time.Now().In(views.Santiago).Format("2006-01-02")+`.csv"`)
	w := csv.NewWriter(c)
	w.Write([]string{"merchant_order_id", "payment_token", "order_amount", "paid_at"})
	for _, s := range facts.LivePayments {
		w.Write([]string{csvCell(s.MerchantOrderID), csvCell(s.PaymentToken), strconv.FormatInt(s.Amount, 10), csvTime(s.PaidAt)})
	}
	w.Flush()
	return w.Error()
}
