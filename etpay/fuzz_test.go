package etpay_test

import (
	"errors"
	"strings"
	"testing"

	"etpay-dashboard/etpay"
)

// FuzzVerifyNotification feeds arbitrary tokens to the verifier. Whatever the
// input, it must not panic, must classify every rejection, and may accept a
// token only when the right session's key signed it with HS256.
func FuzzVerifyNotification(f *testing.F) {
	f.Add(sign(f, claimsFor(sessionA), keyA))
	f.Add(sign(f, claimsFor(sessionB), keyA))

	f.Fuzz(func(t *testing.T, token string) {
		claims, err := etpay.VerifyNotification(token, keys)
		if err != nil {
			if claims != nil {
				t.Fatalf("claims %+v returned with error %v", claims, err)
			}
			if etpay.RejectReason(err) == "" {
				t.Fatalf("rejection without a reason: %v", err)
			}
			if strings.Contains(err.Error(), keyA) || strings.Contains(err.Error(), keyB) {
				t.Fatalf("error %q reveals a key", err)
			}
		} else {
			if claims == nil || claims.PaymentStatus == "" {
				t.Fatalf("accepted without claims: %+v", claims)
			}
			if claims.SessionToken != sessionA && claims.SessionToken != sessionB {
				t.Fatalf("accepted unknown session %q", claims.SessionToken)
			}
			if s, err := etpay.UnverifiedSessionToken(token); err != nil || s != claims.SessionToken {
				t.Fatalf("UnverifiedSessionToken = %q, %v; verified session %q", s, err, claims.SessionToken)
			}
			// Acceptance must depend on the key: any other key rejects it.
			_, err := etpay.VerifyNotification(token, func(string) (string, error) { return "a-different-key", nil })
			if !errors.Is(err, etpay.ErrBadSignature) {
				t.Fatalf("token also verifies under another key: %v", err)
			}
		}

		// An empty key or a failed lookup never verifies anything.
		if c, err := etpay.VerifyNotification(token, func(string) (string, error) { return "", nil }); err == nil {
			t.Fatalf("accepted with an empty key: %+v", c)
		}
		if c, err := etpay.VerifyNotification(token, func(string) (string, error) { return "", errors.New("down") }); err == nil {
			t.Fatalf("accepted after a failed key lookup: %+v", c)
		}

		// The body parser must not panic either, whatever it is given.
		_, _ = etpay.ParseNotificationBody([]byte(token))
	})
}
