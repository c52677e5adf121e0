package etpay

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Callers test them with errors.Is; the wrapped detail is for
// logs only and never carries a token or a secret.
var (
	// ErrMalformed reports a notification body or JWT that is not what ETpay sends.
	ErrMalformed = errors.New("etpay: malformed notification")
	// ErrTooLarge reports a notification body or token over its size cap.
	ErrTooLarge = errors.New("etpay: notification too large")
	// ErrUnknownSession reports that no usable signature key exists for the
	// token's session_token: the session is unknown, its key is empty, or the
	// lookup itself failed (the lookup's error is wrapped too, so a caller can
	// tell a busy database from a forged session).
	ErrUnknownSession = errors.New("etpay: unknown session")
	// ErrBadSignature reports a JWT whose HS256 signature does not verify.
	ErrBadSignature = errors.New("etpay: bad signature")
	// ErrAlgorithm reports a JWT whose header names any algorithm but HS256,
	// including "none".
	ErrAlgorithm = errors.New("etpay: unexpected signing algorithm")
	// ErrExpired reports a JWT outside its exp/nbf/iat window.
	ErrExpired = errors.New("etpay: token expired or not yet valid")
	// ErrUnavailable reports that ETpay could not be reached in time (network
	// error, timeout, cancelled context); retrying later is safe.
	ErrUnavailable = errors.New("etpay: service unavailable")
	// ErrMalformedResponse reports a 2xx answer from ETpay that we cannot use.
	ErrMalformedResponse = errors.New("etpay: malformed response")
	// ErrInvalidRequest reports a request we refuse to send, because ETpay
	// would reject it anyway (missing order id, non-positive amount, empty
	// status query).
	ErrInvalidRequest = errors.New("etpay: invalid request")
)

// maxAPIMessage caps how much of ETpay's error message we keep, so a
// misbehaving server cannot fill our logs or pages.
const maxAPIMessage = 200

// APIError is a non-2xx answer from ETpay.
type APIError struct {
	// StatusCode is the HTTP status ETpay answered with.
	StatusCode int
	// Message is ETpay's JSON "message", if any, truncated and with our
	// merchant token redacted.
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("etpay: API error: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("etpay: API error: HTTP %d: %s", e.StatusCode, e.Message)
}

// RejectReason returns a short, stable reason for a notification rejected by
// ParseNotificationBody, UnverifiedSessionToken or VerifyNotification, meant
// to be stored with the rejected notification. It returns "" for a nil error.
func RejectReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrAlgorithm):
		return "algorithm"
	case errors.Is(err, ErrUnknownSession):
		return "unknown_session"
	case errors.Is(err, ErrBadSignature):
		return "bad_signature"
	case errors.Is(err, ErrExpired):
		return "expired"
	default:
		return "invalid"
	}
}

// sanitizeMessage makes a server-provided message safe to show and log: the
// secrets are redacted first (so truncation cannot cut a secret in half and
// leak its prefix), control characters dropped, and the result capped.
func sanitizeMessage(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, msg)
	msg = strings.TrimSpace(msg)
	if utf8.RuneCountInString(msg) > maxAPIMessage {
		msg = string([]rune(msg)[:maxAPIMessage]) + "…"
	}
	return msg
}
