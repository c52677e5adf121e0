package etpay

import (
	"encoding/json"
	"testing"
)

// BenchmarkVerifyNotification is the webhook's CPU work per notification:
// the body's JSON, then the JWT's signature and claims.
func BenchmarkVerifyNotification(b *testing.B) {
	const key = "0123456789abcdefghijklmnopqrstuvwxyzABCD"
	jwt, err := SignNotification(NotificationClaims{SessionToken: "S", MerchantOrderID: "OC-1", PaymentToken: "PT", PaymentStatus: StatusSuccess}, key)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"payment": jwt})
	keyFor := func(string) (string, error) { return key, nil }
	for b.Loop() {
		token, err := ParseNotificationBody(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := VerifyNotification(token, keyFor); err != nil {
			b.Fatal(err)
		}
	}
}
