package doctor

import (
	"context"
	"errors"

	"etpay-dashboard/outbox"
)

// smtpCheck talks to SMTP_URL's server as the email worker does (connect,
// TLS, AUTH) and leaves without sending anything. Without SMTP_URL emails
// wait in the outbox: a Warn, since payments work without them.
func smtpCheck(ctx context.Context, r *run) []Result {
	const name = "system.check.smtp"
	u := r.Config.SMTPURL
	if u == nil {
		return []Result{result(Warn, name, "system.smtp.none")}
	}
	// u.Host never carries the password (it is in u.User).
	err := outbox.Probe(ctx, r.Config, smtpTimeout)
	switch {
	case err == nil && u.User != nil:
		return []Result{result(OK, name, "system.smtp.ok_auth", u.Host)}
	case err == nil:
		return []Result{result(OK, name, "system.smtp.ok", u.Host)}
	case errors.Is(err, outbox.ErrSMTPUnreachable):
		return []Result{result(Fail, name, "system.smtp.unreachable", u.Host, errorText(err))}
	case errors.Is(err, outbox.ErrSMTPAuthRefused):
		return []Result{result(Fail, name, "system.smtp.auth_refused", u.Host, errorText(err))}
	}
	return []Result{result(Fail, name, "system.smtp.failed", u.Host, errorText(err))}
}
