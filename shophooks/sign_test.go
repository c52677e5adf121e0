package shophooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The published test vector of the Standard Webhooks libraries
// (libraries/go/webhook_test.go, TestWebhookSign, and the other languages').
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// verify checks a webhook as the specification tells receivers to, written
// here apart from Sign so that a mistake in one is not repeated in the
// other: the timestamp within 5 minutes of now, then any v1 signature of
// the space-separated list equal (in constant time) to the HMAC-SHA256 of
// "id.timestamp.body" keyed by the base64 part of the whsec_ secret.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return err
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp outside the tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, versioned := range strings.Split(sigs, " ") {
		version, sig, _ := strings.Cut(versioned, ",")
		got, err := base64.StdEncoding.DecodeString(sig)
		if version == "v1" && err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

func vectorHeaders(sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", vectorMsgID)
	h.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp))
	h.Set("webhook-signature", sig)
	return h
}

func TestPublishedVector(t *testing.T) {
	got, err := Sign(vectorSecret, vectorMsgID, vectorTimestamp, []byte(vectorPayload))
	if err != nil || got != vectorSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vectorSignature)
	}
	at := time.Unix(vectorTimestamp, 0)
	if err := verify(vectorSecret, vectorHeaders(vectorSignature), []byte(vectorPayload), at); err != nil {
		t.Fatalf("the test's verifier refuses the published vector: %v", err)
	}
	// Any one of several signatures will do; a changed byte, a v2 or a
	// stale timestamp will not.
	other := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	if err := verify(vectorSecret, vectorHeaders(other+" "+vectorSignature), []byte(vectorPayload), at); err != nil {
		t.Errorf("two signatures: %v", err)
	}
	for name, tc := range map[string]struct {
		sig, body string
		at        time.Time
	}{
		"body changed": {vectorSignature, `{"test": 2432232315}`, at},
		"other secret": {other, vectorPayload, at},
		"version v2":   {"v2," + strings.TrimPrefix(vectorSignature, "v1,"), vectorPayload, at},
		"too old":      {vectorSignature, vectorPayload, at.Add(6 * time.Minute)},
	} {
		if err := verify(vectorSecret, vectorHeaders(tc.sig), []byte(tc.body), tc.at); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, SecretPrefix))
	if a == b || !strings.HasPrefix(a, SecretPrefix) || err != nil || len(key) != 32 {
		t.Fatalf("secrets %q %q (%v)", a, b, err)
	}
	if _, err := Sign("whsec_not base64!", "msg_1", 1, nil); !errors.Is(err, ErrSecret) {
		t.Errorf("a bad secret: %v", err)
	}
	header, err := SignatureHeader([]string{a, b}, "msg_1", 1700000000, []byte("{}"))
	h := http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1700000000"}, "Webhook-Signature": {header}}
	for _, s := range []string{a, b} {
		if err := verify(s, h, []byte("{}"), time.Unix(1700000000, 0)); err != nil {
			t.Errorf("a rotation's header %q does not verify with %s: %v", header, s, err)
		}
	}
	if err != nil || strings.Count(header, "v1,") != 2 {
		t.Errorf("header %q, %v", header, err)
	}
}

func TestBackoffSpansThreeDays(t *testing.T) {
	var total time.Duration
	attempts := 1
	for n := 1; ; n++ {
		d, again := Backoff(n)
		if !again {
			break
		}
		if d < Schedule[n-1] || d > Schedule[n-1]+Schedule[n-1]/10 {
			t.Errorf("wait after attempt %d is %v", n, d)
		}
		total += Schedule[n-1]
		attempts++
	}
	if total < 72*time.Hour || attempts != 10 || total != 75*time.Hour+35*time.Minute+5*time.Second {
		t.Fatalf("%d attempts over %v, want 10 over 75h35m5s", attempts, total)
	}
}
