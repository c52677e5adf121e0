package twofactor

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// RecoveryCodes is how many recovery codes an enrolment gives.
const RecoveryCodes = 10

// recoveryBytes is a recovery code's entropy: 80 bits, written as 16
// base32 characters.
const recoveryBytes = 10

// NewRecoveryCodes makes RecoveryCodes codes to show once, as
// xxxx-xxxx-xxxx-xxxx, and the hashes to store for them.
//
// They are stored as SHA-256, not bcrypt: each code has 80 random bits, so
// no dictionary or brute force can reverse its hash, and a slow hash would
// only make each attempt at the login form cost seconds of CPU (a code is
// looked up among several). SHA-256 also lets the Store find and spend a
// code in one compare-and-set statement.
func NewRecoveryCodes() (codes, hashes []string) {
	for range RecoveryCodes {
		b := make([]byte, recoveryBytes)
		rand.Read(b) // never fails (crypto/rand)
		plain := strings.ToLower(b32.EncodeToString(b))
		code := plain[0:4] + "-" + plain[4:8] + "-" + plain[8:12] + "-" + plain[12:16]
		codes = append(codes, code)
		hashes = append(hashes, hashRecovery(plain))
	}
	return codes, hashes
}

// RecoveryHash is the stored hash of what someone typed as a recovery code,
// ignoring case, spaces and dashes; ok is false when it cannot be one.
func RecoveryHash(typed string) (hash string, ok bool) {
	s := strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(typed, "-", " ")), ""))
	if len(s) != 16 {
		return "", false
	}
	if _, err := b32.DecodeString(strings.ToUpper(s)); err != nil {
		return "", false
	}
	return hashRecovery(s), true
}

func hashRecovery(plain string) string {
	sum := sha256.Sum256([]byte("etpay-dashboard recovery code\x00" + plain))
	return hex.EncodeToString(sum[:])
}
