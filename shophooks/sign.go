// Package shophooks sends the shop its webhooks, following the Standard
// Webhooks specification (https://www.standardwebhooks.com): each event is
// POSTed as JSON with webhook-id, webhook-timestamp and webhook-signature
// headers, the signature an HMAC-SHA256 of "id.timestamp.body" keyed by the
// endpoint's whsec_ secret. The worker claims due deliveries from the Store
// (queued there in the transaction of the change that caused them), keeps
// each link's events in order per endpoint, retries with the specification's
// back-off for more than three days, sends only to destinations the guard
// allows, and never follows a redirect. It knows nothing of HTTP serving.
package shophooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// SecretPrefix starts every signing secret, as the specification serializes
// symmetric keys.
const SecretPrefix = "whsec_"

// secretBytes is the size of a new secret's key (the specification allows
// 24 to 64).
const secretBytes = 32

// NewSecret is a fresh signing secret: whsec_ and 32 random bytes in base64.
func NewSecret() string {
	key := make([]byte, secretBytes)
	rand.Read(key) // never fails (crypto/rand)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// ErrSecret is returned for a secret that is not whsec_ and base64.
var ErrSecret = errors.New("not a whsec_ secret")

// Sign is the v1 signature of a webhook: "v1," and the base64 HMAC-SHA256,
// keyed by the base64-decoded part of secret after whsec_, of
// "msgID.timestamp.body".
func Sign(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return "", ErrSecret
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SignatureHeader is the webhook-signature header: the signature by each
// of secrets (two during a rotation), space-separated.
func SignatureHeader(secrets []string, msgID string, timestamp int64, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, msgID, timestamp, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}
