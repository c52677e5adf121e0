package outbox

import (
	"context"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"etpay-dashboard/config"
)

// The steps of Probe that get their own advice (see ProbeError).
var (
	// ErrSMTPUnreachable reports that SMTP_URL's host and port could not be reached.
	ErrSMTPUnreachable = errors.New("mail server could not be reached")
	// ErrSMTPAuthRefused reports that the server refused SMTP_URL's user name and password.
	ErrSMTPAuthRefused = errors.New("mail server refused the user name and password")
)

// Probe talks to SMTP_URL's server as the worker does — connect, TLS or
// STARTTLS as the URL's scheme says, AUTH when the URL names a user — and
// says goodbye (QUIT) without sending anything. Each step waits at most
// timeout. A failure is a *ProbeError.
func Probe(ctx context.Context, cfg *config.Config, timeout time.Duration) error {
	client, err := smtpClient(cfg, gomail.WithTimeout(timeout))
	if err != nil {
		return probeError(cfg, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return probeError(cfg, err)
	}
	if err := client.CloseWithSMTPClient(conn); err != nil {
		return probeError(cfg, err)
	}
	return nil
}

// probeError says which step failed: connecting, logging in, or another.
func probeError(cfg *config.Config, err error) error {
	var opErr *net.OpError
	var proto *textproto.Error
	var step error
	switch {
	case errors.As(err, &opErr) && opErr.Op == "dial":
		step = ErrSMTPUnreachable
	case errors.As(err, &proto) && proto.Code >= 530 && proto.Code <= 538:
		// 530 authentication required, 534 mechanism too weak, 535
		// credentials invalid, 538 encryption required (RFC 4954).
		step = ErrSMTPAuthRefused
	}
	msg := err.Error()
	// The server's words should never hold the password; if they do, it
	// goes. (Very short ones would garble the text and say little.)
	if cfg.SMTPURL == nil {
		return &ProbeError{msg: msg, err: err}
	}
	if pass, _ := cfg.SMTPURL.User.Password(); len(pass) >= 6 {
		msg = strings.ReplaceAll(msg, pass, "[redacted]")
	}
	return &ProbeError{Step: step, msg: msg, err: err}
}

// ProbeError is why Probe failed: Step is ErrSMTPUnreachable,
// ErrSMTPAuthRefused or nil (another step), and the text is the cause's,
// without SMTP_URL's password. errors.Is finds both Step and the cause.
type ProbeError struct {
	Step error
	msg  string
	err  error
}

func (e *ProbeError) Error() string { return e.msg }

// Unwrap gives the step and the cause to errors.Is and errors.As.
func (e *ProbeError) Unwrap() []error {
	if e.Step == nil {
		return []error{e.err}
	}
	return []error{e.Step, e.err}
}
