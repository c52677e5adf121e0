// Package outbox is the email worker: it claims due messages from the outbox
// (leased, so two workers never send one at once), sends them over SMTP,
// retries with back-off until MAIL_GIVE_UP_AFTER, stops at once on a
// permanent refusal, and queues each staff member's digest of rejected
// notifications. It knows nothing of HTTP.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/models"
)

const (
	// mailLease is how long a claimed email is left to its sender; past it,
	// another worker may take it (the sender is presumed dead). It is well
	// over smtpTimeout so a slow send is never sent twice.
	mailLease = 3 * time.Minute
	// smtpTimeout bounds each SMTP conversation.
	smtpTimeout = 30 * time.Second
	// mailMaxBackoff caps the wait between retries.
	mailMaxBackoff = time.Hour
)

// Worker sends the outbox's emails; see Run.
type Worker struct {
	Config *config.Config
	Store  *models.Store
	Logger *slog.Logger
	// Shop names the shop in digests and gives the Reply-To address
	// (*shop.Shop); nil: MERCHANT_NAME (or BASE_URL's host) and MAIL_FROM.
	Shop Shop
}

// Shop is what the worker needs of the shop's settings.
type Shop interface {
	Name() string
	// ReplyTo is where replies go, or "" for MAIL_FROM.
	ReplyTo() string
}

// fixedShop is the shop of a Worker given none: the configuration's name,
// and replies to the sender.
type fixedShop struct{ emails.FixedName }

func (fixedShop) ReplyTo() string { return "" }

func (a *Worker) shop() Shop {
	if a.Shop == nil {
		return fixedShop{emails.FixedName(a.Config.MerchantName)}
	}
	return a.Shop
}

// Run sends due emails, whoever queued them (this server or the command
// line), and queues rejected-notification digests, every Config.MailPoll
// until ctx ends. Without SMTP_URL it sends nothing: email waits in the outbox.
func (a *Worker) Run(ctx context.Context) {
	sending := a.Config.SMTPURL != nil
	if sending {
		a.Logger.Info("mail worker started", "smtp_host", a.Config.SMTPURL.Host, "scheme", a.Config.SMTPURL.Scheme)
	} else {
		a.Logger.Warn("SMTP_URL is not set: emails are kept in the outbox and not sent")
	}
	ticker := time.NewTicker(a.Config.MailPoll)
	defer ticker.Stop()
	for {
		a.QueueDigests(ctx)
		if sending {
			a.SendDue(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// QueueDigests queues, for each staff member who opted in to
// alerts, a digest of the notifications rejected since their last one, at
// most every models.RejectedDigestEvery.
func (a *Worker) QueueDigests(ctx context.Context) {
	due, err := a.Store.RejectedDigestsDue(ctx, time.Now())
	if err != nil {
		a.Logger.Error("outbox: finding rejected-notification digests failed", "err", err)
		return
	}
	for _, d := range due {
		msg, err := emails.RejectedDigest(a.Config, a.shop(), d)
		if err == nil {
			err = a.Store.QueueRejectedDigest(ctx, d, msg)
		}
		if err != nil && !errors.Is(err, models.ErrDigestTaken) {
			a.Logger.Error("outbox: queueing a rejected-notification digest failed", "user_id", d.User.ID, "err", err)
		}
	}
}

// SendDue sends every email that is due now, one claim at a time; no
// database transaction is open while the SMTP server is being talked to.
func (a *Worker) SendDue(ctx context.Context) {
	for ctx.Err() == nil {
		now := time.Now()
		m, err := a.Store.ClaimDueMessage(ctx, now, now.Add(mailLease))
		if errors.Is(err, models.ErrNotFound) {
			return
		}
		if err != nil {
			a.Logger.Error("outbox: claiming an email failed", "err", err)
			return
		}
		answer, sendErr := a.sendMail(ctx, m)
		// Record the outcome even if shutdown began mid-send: an email the
		// server took must be marked sent.
		a.recordMailAttempt(context.WithoutCancel(ctx), m, answer, sendErr)
	}
}

// recordMailAttempt marks the email sent, schedules its retry with backoff,
// or gives up once MAIL_GIVE_UP_AFTER has passed since it was queued (or at
// once when the server refused it for good).
func (a *Worker) recordMailAttempt(ctx context.Context, m *models.OutboxMessage, answer string, sendErr error) {
	now := time.Now()
	log := a.Logger.With("outbox_id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
	if sendErr == nil {
		if err := a.Store.MarkMessageSent(ctx, m.ID, answer, now); err != nil {
			log.Error("outbox: email sent but not recorded; it may be sent again with the same Message-ID", "err", err)
			return
		}
		log.Info("email sent", "answer", answer)
		return
	}
	reason := sendErr.Error()
	deadline := m.CreatedAt.Add(a.Config.MailGiveUpAfter)
	if permanentMailError(sendErr) || !now.Before(deadline) {
		if err := a.Store.MarkMessageFailed(ctx, m.ID, reason, now); err != nil {
			log.Error("outbox: recording a failure failed", "err", err)
		}
		log.Warn("email not sent: giving up", "err", reason)
		return
	}
	next := now.Add(mailBackoff(a.Config.MailRetry, m.Attempts))
	if next.After(deadline) {
		next = deadline // one last try when the time is up
	}
	if err := a.Store.MarkMessageRetry(ctx, m.ID, reason, now, next); err != nil {
		log.Error("outbox: recording a failure failed", "err", err)
	}
	log.Warn("email not sent: will retry", "err", reason, "next_attempt", next)
}

// mailBackoff is first after the first failed attempt, doubling after each
// further one, capped at mailMaxBackoff.
func mailBackoff(first time.Duration, attempts int) time.Duration {
	d := first
	for i := 1; i < attempts && d < mailMaxBackoff; i++ {
		d *= 2
	}
	return min(d, mailMaxBackoff)
}

// permanentMailError is a 5xx refusal of the sender, a recipient or the
// message itself: retrying would get the same answer. Connection, TLS and
// authentication problems are retried, since fixing the setup fixes them.
func permanentMailError(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() || se.ErrorCode() < 500 || se.ErrorCode() > 599 {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return true
	}
	return false
}

// sendMail sends one email over SMTP and returns the server's answer.
func (a *Worker) sendMail(ctx context.Context, m *models.OutboxMessage) (string, error) {
	client, err := smtpClient(a.Config)
	if err != nil {
		return "", err
	}
	msg, err := outgoingMessage(a.Config, a.shop().ReplyTo(), m)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*smtpTimeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return "", err
	}
	return msg.ServerResponse(), nil
}

// smtpClient builds a client from SMTP_URL: smtp:// uses STARTTLS when the
// server offers it, smtp+starttls:// requires it, smtps:// is TLS from the
// start. A user in the URL means AUTH; PLAIN and LOGIN are only ever used
// over TLS (or to localhost). Options in extra come last, so they win.
func smtpClient(cfg *config.Config, extra ...gomail.Option) (*gomail.Client, error) {
	u := cfg.SMTPURL
	if u == nil {
		return nil, errors.New("SMTP_URL is not set")
	}
	port := map[string]int{config.SchemeSMTP: 25, config.SchemeSMTPStartTLS: 587, config.SchemeSMTPS: 465}[u.Scheme]
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p) // config checked it
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(smtpTimeout)}
	switch u.Scheme {
	case config.SchemeSMTPS:
		opts = append(opts, gomail.WithSSL())
	case config.SchemeSMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return gomail.NewClient(u.Hostname(), append(opts, extra...)...)
}

// outgoingMessage is the stored email as MIME: multipart/alternative with a
// text and an HTML part, its fixed Message-ID, the Date it was queued,
// MAIL_FROM as sender, and replyTo (the shop's address, read when it is
// sent) or else MAIL_FROM as Reply-To.
func outgoingMessage(cfg *config.Config, replyTo string, m *models.OutboxMessage) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8))
	if err := msg.From(cfg.MailFrom); err != nil {
		return nil, err
	}
	if replyTo == "" {
		replyTo = cfg.MailFrom
	}
	if err := msg.ReplyTo(replyTo); err != nil {
		return nil, err
	}
	if err := msg.To(m.To); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader(gomail.HeaderContentLang, m.Lang)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	// A receipt or payment alert queued as its data is rendered here, off
	// the notification writer's path (emails.Render).
	text, html, err := emails.Render(m)
	if err != nil {
		return nil, err
	}
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}
