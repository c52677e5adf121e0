// Package twofactor is the second factor of a staff login: TOTP codes
// (RFC 6238 with security.md's parameters: SHA-1, 6 digits, 30-second steps,
// one step either side for clock drift), single-use recovery codes and the
// encryption of authenticator secrets at rest. It knows nothing of HTTP or of
// the database: handlers ask it, and the Store keeps what it returns.
package twofactor

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The parameters every authenticator app uses by default, fixed by security.md.
const (
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// Skew is how many steps before and after the current one are accepted.
	Skew = 1
	// secretSize is the secret's length in bytes: 160 bits, as RFC 4226
	// recommends for HMAC-SHA-1.
	secretSize = 20
)

// opts are the code options for pquerna/otp.
var opts = totp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// b32 is base32 as authenticator apps write secrets: upper case, no padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret makes a random authenticator secret, in upper-case base32.
func NewSecret() string {
	b := make([]byte, secretSize)
	rand.Read(b) // never fails (crypto/rand)
	return b32.EncodeToString(b)
}

// URL is the otpauth:// URL that puts secret into an authenticator app (as a
// QR code), labelled with issuer and account, the names the app shows.
func URL(issuer, account, secret string) (string, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return "", err
	}
	// A colon separates issuer and account in the otpauth label.
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer:      strings.ReplaceAll(issuer, ":", " "),
		AccountName: strings.ReplaceAll(account, ":", " "),
		Period:      opts.Period, Secret: raw, Digits: opts.Digits, Algorithm: opts.Algorithm,
	})
	if err != nil {
		return "", err
	}
	return k.URL(), nil
}

// Grouped writes a secret in groups of four characters, as people copy it
// into an app by hand; apps ignore the spaces.
func Grouped(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Step is the RFC 6238 time step t falls in.
func Step(t time.Time) int64 {
	return t.Unix() / int64(Period/time.Second)
}

// Code is the code of secret at time t (the tests' authenticator app).
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, opts)
}

// ErrNoMatch is a code that is none of the accepted steps' codes.
var ErrNoMatch = errors.New("wrong code")

// Match finds which time step around now code belongs to: the current step
// or one either side. The caller must refuse a step it has already accepted
// (each code works once); the step is returned for that.
func Match(secret, code string, now time.Time) (int64, error) {
	code, ok := NormalizeCode(code)
	if !ok {
		return 0, ErrNoMatch
	}
	current := Step(now)
	found := int64(-1)
	// Every candidate is computed and compared in constant time, so the
	// time taken does not tell which step matched.
	for step := current - Skew; step <= current+Skew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*int64(Period/time.Second), 0), opts)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = step // the latest wins, should two steps share a code
		}
	}
	if found < 0 {
		return 0, ErrNoMatch
	}
	return found, nil
}

// NormalizeCode drops the spaces people type or paste inside a code and
// reports whether what is left is a code's shape (Digits digits).
func NormalizeCode(s string) (string, bool) {
	s = strings.Join(strings.Fields(s), "")
	if len(s) != Digits {
		return "", false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return s, true
}
