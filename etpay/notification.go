package etpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxNotificationBody caps a webhook body in bytes; ETpay's is one short JWT.
const MaxNotificationBody = 64 << 10

// MaxTokenLength caps a notification JWT in bytes, checked before any parsing
// so oversized input costs nothing to reject.
const MaxTokenLength = 8 << 10

// notificationLeeway absorbs clock skew between ETpay and us for exp/nbf/iat.
const notificationLeeway = 60 * time.Second

// NotificationClaims are the claims of ETpay's notification JWT. They are a
// typed struct rather than jwt.MapClaims because MapClaims treats "exp": 0 as
// absent, while the typed RegisteredClaims treat it as long expired.
type NotificationClaims struct {
	SessionToken    string `json:"session_token"`
	MerchantOrderID string `json:"merchant_order_id"`
	PaymentToken    string `json:"payment_token"`
	PaymentStatus   string `json:"payment_status"`
	UserRUT         string `json:"user_rut,omitempty"`
	jwt.RegisteredClaims
}

// notificationParser is the only parser that verifies notifications. HS256 is
// pinned so that a token cannot choose its own algorithm ("none", or an
// asymmetric one whose public key would be our HMAC secret).
var notificationParser = jwt.NewParser(
	jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
	jwt.WithLeeway(notificationLeeway),
	jwt.WithIssuedAt(),
)

// ParseNotificationBody extracts the JWT from a webhook body of the form
// {"payment": "<jwt>"}. Size caps are checked before the JSON is parsed.
func ParseNotificationBody(body []byte) (token string, err error) {
	if len(body) > MaxNotificationBody {
		return "", fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, MaxNotificationBody)
	}
	if len(body) == 0 {
		return "", fmt.Errorf("%w: empty body", ErrMalformed)
	}
	// A map rather than a struct: encoding/json matches struct fields
	// case-insensitively, and only the exact key "payment" is ETpay's.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if err := checkUniqueKeys(body); err != nil {
		return "", fmt.Errorf("%w: body: %w", ErrMalformed, err)
	}
	raw, ok := fields["payment"]
	if !ok {
		return "", fmt.Errorf("%w: no payment field", ErrMalformed)
	}
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("%w: payment is not a string", ErrMalformed)
	}
	if err := json.Unmarshal(raw, &token); err != nil {
		return "", fmt.Errorf("%w: payment is not a string", ErrMalformed)
	}
	if token == "" {
		return "", fmt.Errorf("%w: payment is empty", ErrMalformed)
	}
	if len(token) > MaxTokenLength {
		return "", fmt.Errorf("%w: token exceeds %d bytes", ErrTooLarge, MaxTokenLength)
	}
	return token, nil
}

// UnverifiedSessionToken reads session_token from a JWT without verifying
// it. Its only use is to find which session's key to verify with (or to show
// the right order on a redirect page): nothing it returns is trustworthy.
func UnverifiedSessionToken(token string) (string, error) {
	if len(token) > MaxTokenLength {
		return "", fmt.Errorf("%w: token exceeds %d bytes", ErrTooLarge, MaxTokenLength)
	}
	if err := checkTokenUniqueKeys(token); err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var claims NotificationClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if claims.SessionToken == "" {
		return "", fmt.Errorf("%w: no session_token claim", ErrMalformed)
	}
	return claims.SessionToken, nil
}

// VerifyNotification verifies an ETpay notification JWT and returns its
// claims. keyFor maps the token's (still unverified) session_token to that
// session's signature_token. A keyFor error or an empty key rejects the token
// with ErrUnknownSession: HMAC with an empty key would accept a token signed
// with "" by anyone. exp, nbf and iat are honoured when present (60 s leeway)
// but not required, as ETpay sends none.
//
// Errors wrap exactly one of ErrTooLarge, ErrMalformed, ErrAlgorithm,
// ErrUnknownSession, ErrBadSignature or ErrExpired (see RejectReason), or
// none of them for other invalid claims.
func VerifyNotification(token string, keyFor func(sessionToken string) (string, error)) (*NotificationClaims, error) {
	if len(token) > MaxTokenLength {
		return nil, fmt.Errorf("%w: token exceeds %d bytes", ErrTooLarge, MaxTokenLength)
	}
	if keyFor == nil {
		return nil, fmt.Errorf("%w: no key lookup", ErrUnknownSession)
	}
	if err := checkTokenUniqueKeys(token); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	claims := new(NotificationClaims)
	parsed, err := notificationParser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		c, ok := t.Claims.(*NotificationClaims)
		if !ok || c.SessionToken == "" {
			return nil, fmt.Errorf("%w: no session_token claim", ErrMalformed)
		}
		key, err := keyFor(c.SessionToken)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnknownSession, err)
		}
		if key == "" {
			return nil, fmt.Errorf("%w: empty signature key", ErrUnknownSession)
		}
		return []byte(key), nil
	})
	if err != nil {
		return nil, classify(parsed, err)
	}
	if claims.SessionToken == "" || claims.PaymentStatus == "" {
		return nil, fmt.Errorf("%w: session_token and payment_status are required", ErrMalformed)
	}
	return claims, nil
}

// classify maps jwt/v5's errors onto our sentinels, following the parser's own
// order of checks. The jwt error stays wrapped for logs.
func classify(t *jwt.Token, err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	// jwt/v5 reports a disallowed method as ErrTokenSignatureInvalid and an
	// unknown one as ErrTokenUnverifiable, so look at the header itself.
	case t == nil:
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	case t.Header["alg"] != jwt.SigningMethodHS256.Alg():
		return fmt.Errorf("%w: %w", ErrAlgorithm, err)
	// Our own key function's errors come next, in the order it returns them.
	case errors.Is(err, ErrMalformed):
		return err
	case errors.Is(err, ErrUnknownSession):
		return err
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	case errors.Is(err, jwt.ErrTokenExpired),
		errors.Is(err, jwt.ErrTokenNotValidYet),
		errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: %w", ErrExpired, err)
	default:
		return fmt.Errorf("etpay: invalid notification: %w", err)
	}
}

// SignNotification signs c with HS256 under key, as ETpay does. The sandbox
// and tests use it; it refuses an empty key, which would make forgeries trivial.
func SignNotification(c NotificationClaims, key string) (string, error) {
	if key == "" {
		return "", errors.New("etpay: refusing to sign with an empty key")
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(key))
	if err != nil {
		return "", fmt.Errorf("etpay: sign notification: %w", err)
	}
	return s, nil
}
