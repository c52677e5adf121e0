package twofactor

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Sealer encrypts authenticator secrets for the database with AES-256-GCM,
// under a key derived from the session secret, so a copy of the database
// alone (a backup, say) does not give away anyone's second factor. Each
// sealed secret is bound to its user: moved to another row it does not open.
type Sealer struct {
	aead cipher.AEAD
}

// sealPrefix names the format of a sealed secret, so it can change later.
const sealPrefix = "v1:"

// ErrUnreadable is a sealed secret that does not open: tampered with, moved
// to another user, or sealed under another session secret.
var ErrUnreadable = errors.New("second factor secret cannot be read")

// NewSealer derives the sealing key from the session secret (SESSION_SECRET
// or the one generated into the database), apart from the cookie keys.
func NewSealer(sessionSecret string) *Sealer {
	key := sha256.Sum256([]byte("etpay-dashboard totp secret sealing\x00" + sessionSecret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Sealer{aead: aead}
}

// Seal encrypts secret for userID.
func (s *Sealer) Seal(userID uint, secret string) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand)
	out := s.aead.Seal(nonce, nonce, []byte(secret), boundTo(userID))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts what Seal made for userID.
func (s *Sealer) Open(userID uint, sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, sealPrefix))
	if !strings.HasPrefix(sealed, sealPrefix) || err != nil || len(raw) < s.aead.NonceSize() {
		return "", ErrUnreadable
	}
	nonce, box := raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():]
	plain, err := s.aead.Open(nil, nonce, box, boundTo(userID))
	if err != nil {
		return "", ErrUnreadable
	}
	return string(plain), nil
}

func boundTo(userID uint) []byte {
	return []byte("user " + strconv.FormatUint(uint64(userID), 10))
}
