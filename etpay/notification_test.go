package etpay_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"etpay-dashboard/etpay"
)

const (
	sessionA = "SessionAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1"
	sessionB = "SessionBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2"
	keyA     = "signatureKeyForSessionA0123456789abcdef"
	keyB     = "signatureKeyForSessionB0123456789abcdef"
)

// keys is a keyFor over two known sessions.
func keys(session string) (string, error) {
	switch session {
	case sessionA:
		return keyA, nil
	case sessionB:
		return keyB, nil
	}
	return "", errors.New("no such session")
}

func claimsFor(session string) etpay.NotificationClaims {
	return etpay.NotificationClaims{
		SessionToken:    session,
		MerchantOrderID: "OC-700104",
		PaymentToken:    "PaymentToken0123456789",
		PaymentStatus:   etpay.StatusSuccess,
		UserRUT:         "11.111.111-1",
	}
}

func with(c etpay.NotificationClaims, edit func(*etpay.NotificationClaims)) etpay.NotificationClaims {
	edit(&c)
	return c
}

func sign(t testing.TB, c etpay.NotificationClaims, key string) string {
	t.Helper()
	s, err := etpay.SignNotification(c, key)
	if err != nil {
		t.Fatalf("SignNotification: %v", err)
	}
	return s
}

// signWith signs with any jwt method, including those we must refuse.
func signWith(t testing.TB, m jwt.SigningMethod, c jwt.Claims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatalf("SignedString(%s): %v", m.Alg(), err)
	}
	return s
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// forge builds a token with any header, HMAC-SHA256-signed under key, the way
// an attacker would try algorithm confusion.
func forge(header map[string]any, claims any, key string) string {
	unsigned := b64(header) + "." + b64(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// forgeRaw is forge with the header given as raw JSON.
func forgeRaw(header string, claims any, key string) string {
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + b64(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// tamper replaces the payload of a signed token, keeping its signature.
func tamper(token string, claims any) string {
	parts := strings.Split(token, ".")
	parts[1] = b64(claims)
	return strings.Join(parts, ".")
}

func TestVerifyNotification(t *testing.T) {
	now := time.Now()
	good := claimsFor(sessionA)
	emptyKey := func(string) (string, error) { return "", nil }

	tests := []struct {
		name   string
		token  string
		keyFor func(string) (string, error)
		want   error // nil: valid
		reason string
	}{
		{name: "valid", token: sign(t, good, keyA)},
		{name: "valid other session", token: sign(t, claimsFor(sessionB), keyB)},
		{name: "valid without user_rut", token: sign(t, with(good, func(c *etpay.NotificationClaims) { c.UserRUT = "" }), keyA)},
		{name: "non-success status is still a valid notification",
			token: sign(t, with(good, func(c *etpay.NotificationClaims) { c.PaymentStatus = "rejected" }), keyA)},
		{name: "exp in future ok", token: sign(t, with(good, func(c *etpay.NotificationClaims) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
		}), keyA)},
		{name: "exp within leeway ok", token: sign(t, with(good, func(c *etpay.NotificationClaims) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-30 * time.Second))
		}), keyA)},
		{name: "wrong key", token: sign(t, good, "some-other-key"), want: etpay.ErrBadSignature, reason: "bad_signature"},
		{name: "session A signed with B's key", token: sign(t, good, keyB), want: etpay.ErrBadSignature, reason: "bad_signature"},
		{name: "tampered claims", token: tamper(sign(t, with(good, func(c *etpay.NotificationClaims) { c.PaymentStatus = "rejected" }), keyA), good),
			want: etpay.ErrBadSignature, reason: "bad_signature"},
		{name: "tampered session points to B", token: tamper(sign(t, good, keyA), claimsFor(sessionB)),
			want: etpay.ErrBadSignature, reason: "bad_signature"},
		{name: "alg none", token: signWith(t, jwt.SigningMethodNone, good, jwt.UnsafeAllowNoneSignatureType),
			want: etpay.ErrAlgorithm, reason: "algorithm"},
		{name: "alg none unsigned by hand", token: b64(map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64(good) + ".",
			want: etpay.ErrAlgorithm, reason: "algorithm"},
		{name: "alg NONE uppercase", token: forge(map[string]any{"alg": "NONE"}, good, keyA), want: etpay.ErrAlgorithm, reason: "algorithm"},
		{name: "HS512 header", token: signWith(t, jwt.SigningMethodHS512, good, []byte(keyA)), want: etpay.ErrAlgorithm, reason: "algorithm"},
		{name: "HS384 header", token: signWith(t, jwt.SigningMethodHS384, good, []byte(keyA)), want: etpay.ErrAlgorithm, reason: "algorithm"},
		{name: "RS256 header with HMAC signature", token: forge(map[string]any{"alg": "RS256", "typ": "JWT"}, good, keyA),
			want: etpay.ErrAlgorithm, reason: "algorithm"},
		{name: "unknown alg", token: forge(map[string]any{"alg": "XY999"}, good, keyA), want: etpay.ErrAlgorithm, reason: "algorithm"},
		{name: "no alg", token: forge(map[string]any{"typ": "JWT"}, good, keyA), want: etpay.ErrAlgorithm, reason: "algorithm"},
		{name: "empty-key forgery", token: signWith(t, jwt.SigningMethodHS256, good, []byte("")),
			keyFor: emptyKey, want: etpay.ErrUnknownSession, reason: "unknown_session"},
		{name: "empty-key forgery against known sessions", token: signWith(t, jwt.SigningMethodHS256, good, []byte("")),
			want: etpay.ErrBadSignature, reason: "bad_signature"},
		{name: "exp 0", token: forge(map[string]any{"alg": "HS256"}, map[string]any{
			"session_token": sessionA, "payment_status": "success", "exp": 0}, keyA), want: etpay.ErrExpired, reason: "expired"},
		{name: "exp in past", token: sign(t, with(good, func(c *etpay.NotificationClaims) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour))
		}), keyA), want: etpay.ErrExpired, reason: "expired"},
		{name: "nbf in future", token: sign(t, with(good, func(c *etpay.NotificationClaims) {
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour))
		}), keyA), want: etpay.ErrExpired, reason: "expired"},
		{name: "iat in future", token: sign(t, with(good, func(c *etpay.NotificationClaims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour))
		}), keyA), want: etpay.ErrExpired, reason: "expired"},
		{name: "exp of wrong type", token: forge(map[string]any{"alg": "HS256"}, map[string]any{
			"session_token": sessionA, "payment_status": "success", "exp": "tomorrow"}, keyA), want: etpay.ErrMalformed, reason: "malformed"},
		{name: "unknown session_token", token: sign(t, claimsFor("SessionUnknown"), keyA), want: etpay.ErrUnknownSession, reason: "unknown_session"},
		{name: "key lookup fails", token: sign(t, good, keyA),
			keyFor: func(string) (string, error) { return "", errors.New("database is locked") },
			want:   etpay.ErrUnknownSession, reason: "unknown_session"},
		{name: "missing session_token", token: sign(t, claimsFor(""), keyA), want: etpay.ErrMalformed, reason: "malformed"},
		{name: "missing payment_status", token: sign(t, with(good, func(c *etpay.NotificationClaims) { c.PaymentStatus = "" }), keyA),
			want: etpay.ErrMalformed, reason: "malformed"},
		{name: "session_token of wrong type", token: forge(map[string]any{"alg": "HS256"}, map[string]any{
			"session_token": 42, "payment_status": "success"}, keyA), want: etpay.ErrMalformed, reason: "malformed"},
		{name: "claims not an object", token: forge(map[string]any{"alg": "HS256"}, []string{"a"}, keyA), want: etpay.ErrMalformed, reason: "malformed"},
		{name: "non-JWT garbage", token: "this is not a jwt", want: etpay.ErrMalformed, reason: "malformed"},
		{name: "three garbage segments", token: "a.b.c", want: etpay.ErrMalformed, reason: "malformed"},
		{name: "four segments", token: sign(t, good, keyA) + ".x", want: etpay.ErrMalformed, reason: "malformed"},
		{name: "empty", token: "", want: etpay.ErrMalformed, reason: "malformed"},
		{name: "too long", token: strings.Repeat(".", etpay.MaxTokenLength+1), want: etpay.ErrTooLarge, reason: "too_large"},
		// Genuinely signed, but a claim named twice: the last one would win
		// in Go, the first in another reader. Refused, not guessed at.
		{name: "duplicate payment_status claim", token: forge(map[string]any{"alg": "HS256", "typ": "JWT"}, json.RawMessage(
			`{"session_token":"`+sessionA+`","payment_status":"rejected","payment_status":"success"}`), keyA),
			want: etpay.ErrMalformed, reason: "malformed"},
		{name: "duplicate claim escaped differently", token: forge(map[string]any{"alg": "HS256", "typ": "JWT"}, json.RawMessage(
			`{"session_token":"`+sessionA+`","payment_status":"rejected","payment_\u0073tatus":"success"}`), keyA),
			want: etpay.ErrMalformed, reason: "malformed"},
		{name: "duplicate key in a nested claim", token: forge(map[string]any{"alg": "HS256", "typ": "JWT"}, json.RawMessage(
			`{"session_token":"`+sessionA+`","payment_status":"success","extra":{"a":1,"a":2}}`), keyA),
			want: etpay.ErrMalformed, reason: "malformed"},
		{name: "duplicate alg in the header", token: forgeRaw(`{"alg":"none","alg":"HS256"}`, good, keyA),
			want: etpay.ErrMalformed, reason: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyFor := tt.keyFor
			if keyFor == nil {
				keyFor = keys
			}
			got, err := etpay.VerifyNotification(tt.token, keyFor)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyNotification: %v", err)
				}
				if got.SessionToken == "" || got.PaymentStatus == "" || got.MerchantOrderID != good.MerchantOrderID {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("claims = %+v on error, want nil", got)
			}
			if r := etpay.RejectReason(err); r != tt.reason {
				t.Errorf("RejectReason = %q, want %q (err %v)", r, tt.reason, err)
			}
			for _, secret := range []string{keyA, keyB} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains a signature key", err)
				}
			}
		})
	}
}

func TestVerifyNotificationKeepsCause(t *testing.T) {
	cause := errors.New("database is locked")
	_, err := etpay.VerifyNotification(sign(t, claimsFor(sessionA), keyA), func(string) (string, error) { return "", cause })
	if !errors.Is(err, cause) {
		t.Errorf("err = %v, want it to wrap the lookup's error so callers can answer 503", err)
	}
}

func TestVerifyNotificationAsksForSessionInToken(t *testing.T) {
	var asked []string
	_, err := etpay.VerifyNotification(sign(t, claimsFor(sessionB), keyB), func(s string) (string, error) {
		asked = append(asked, s)
		return keys(s)
	})
	if err != nil {
		t.Fatalf("VerifyNotification: %v", err)
	}
	if len(asked) != 1 || asked[0] != sessionB {
		t.Errorf("keyFor called with %q, want [%q]", asked, sessionB)
	}
}

func TestSignNotificationRefusesEmptyKey(t *testing.T) {
	if _, err := etpay.SignNotification(claimsFor(sessionA), ""); err == nil {
		t.Fatal("SignNotification with an empty key succeeded")
	}
}

func TestSignNotificationOmitsTimes(t *testing.T) {
	// Real ETpay sends no exp/iat; the sandbox must not either.
	tok := sign(t, claimsFor(sessionA), keyA)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"exp", "iat", "nbf"} {
		if _, ok := m[k]; ok {
			t.Errorf("payload has %q: %s", k, payload)
		}
	}
	for _, k := range []string{"session_token", "merchant_order_id", "payment_token", "payment_status", "user_rut"} {
		if _, ok := m[k]; !ok {
			t.Errorf("payload lacks %q: %s", k, payload)
		}
	}
}

func TestUnverifiedSessionToken(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  string
		err   error
	}{
		{name: "signed", token: sign(t, claimsFor(sessionA), keyA), want: sessionA},
		{name: "wrong key still readable", token: sign(t, claimsFor(sessionB), "whatever"), want: sessionB},
		{name: "no session_token", token: sign(t, claimsFor(""), keyA), err: etpay.ErrMalformed},
		{name: "garbage", token: "garbage", err: etpay.ErrMalformed},
		{name: "too long", token: strings.Repeat("a", etpay.MaxTokenLength+1), err: etpay.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := etpay.UnverifiedSessionToken(tt.token)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseNotificationBody(t *testing.T) {
	tok := sign(t, claimsFor(sessionA), keyA)
	tests := []struct {
		name string
		body string
		want string
		err  error
	}{
		{name: "valid", body: fmt.Sprintf(`{"payment":%q}`, tok), want: tok},
		{name: "valid with whitespace and extra field", body: fmt.Sprintf(" {\"other\":1,\n \"payment\": %q }\n", tok), want: tok},
		{name: "empty", body: "", err: etpay.ErrMalformed},
		{name: "open brace", body: "{", err: etpay.ErrMalformed},
		{name: "array", body: `[]`, err: etpay.ErrMalformed},
		{name: "string", body: `"x"`, err: etpay.ErrMalformed},
		{name: "null", body: `null`, err: etpay.ErrMalformed},
		{name: "empty object", body: `{}`, err: etpay.ErrMalformed},
		{name: "payment number", body: `{"payment":1}`, err: etpay.ErrMalformed},
		{name: "payment empty", body: `{"payment":""}`, err: etpay.ErrMalformed},
		{name: "payment null", body: `{"payment":null}`, err: etpay.ErrMalformed},
		{name: "payment object", body: `{"payment":{"jwt":"x"}}`, err: etpay.ErrMalformed},
		{name: "payment differently cased", body: fmt.Sprintf(`{"Payment":%q}`, tok), err: etpay.ErrMalformed},
		{name: "trailing garbage", body: fmt.Sprintf(`{"payment":%q} x`, tok), err: etpay.ErrMalformed},
		{name: "token too long", body: `{"payment":"` + strings.Repeat("a", etpay.MaxTokenLength+1) + `"}`, err: etpay.ErrTooLarge},
		{name: "oversized body", body: `{"payment":"x","pad":"` + strings.Repeat("a", etpay.MaxNotificationBody) + `"}`, err: etpay.ErrTooLarge},
		{name: "payment named twice", body: fmt.Sprintf(`{"payment":%q,"payment":%q}`, "x", tok), err: etpay.ErrMalformed},
		{name: "payment named twice, escaped", body: fmt.Sprintf(`{"payment":%q,"pay\u006dent":%q}`, "x", tok), err: etpay.ErrMalformed},
		{name: "another key named twice", body: fmt.Sprintf(`{"payment":%q,"a":1,"a":2}`, tok), err: etpay.ErrMalformed},
		{name: "1 MiB token of dots", body: `{"payment":"` + strings.Repeat(".", 1<<20) + `"}`, err: etpay.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := etpay.ParseNotificationBody([]byte(tt.body))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if got != "" {
					t.Errorf("token = %q on error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseNotificationBodyRejectsHugeBodyCheaply(t *testing.T) {
	body := []byte(`{"payment":"` + strings.Repeat(".", 1<<20) + `"}`)
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := etpay.ParseNotificationBody(body); !errors.Is(err, etpay.ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	// Only the error value itself is allocated: the body is never parsed.
	if allocs > 5 {
		t.Errorf("ParseNotificationBody allocated %v times on an oversized body", allocs)
	}
}

func TestRejectReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "malformed", err: fmt.Errorf("x: %w", etpay.ErrMalformed), want: "malformed"},
		{name: "too large", err: etpay.ErrTooLarge, want: "too_large"},
		{name: "unknown session", err: etpay.ErrUnknownSession, want: "unknown_session"},
		{name: "bad signature", err: etpay.ErrBadSignature, want: "bad_signature"},
		{name: "algorithm", err: etpay.ErrAlgorithm, want: "algorithm"},
		{name: "expired", err: etpay.ErrExpired, want: "expired"},
		{name: "other", err: errors.New("boom"), want: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := etpay.RejectReason(tt.err); got != tt.want {
				t.Errorf("RejectReason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
