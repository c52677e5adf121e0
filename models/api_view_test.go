package models

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLinkViewTellsSantiagoTimeAndExpiry(t *testing.T) {
	created := time.Date(2026, 1, 15, 15, 0, 0, 0, time.UTC) // summer: UTC-3
	expired := created.Add(time.Hour)
	l := &Link{ID: 7, Code: "abc", MerchantOrderID: "PED-1", Amount: 12990, Status: LinkOpen, Mode: "sandbox", CreatedAt: created, ExpiresAt: &expired}
	b, err := json.Marshal(l.View("https://pagos.example.cl/", created.Add(2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"created_at":"2026-01-15T12:00:00-03:00"`, `"status":"expired"`, `"url":"https://pagos.example.cl/pay/abc"`, `"opened_at":null`, `"order_amount":12990`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("view %s lacks %s", b, want)
		}
	}
}
