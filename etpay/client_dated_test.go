package etpay_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"etpay-dashboard/etpay"
)

// The Date of ETpay's answer comes back whatever the answer says, refusals
// included, so a caller can compare clocks even with wrong credentials.
func TestCheckPaymentStatusDated(t *testing.T) {
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		body   string
		check  func(error) bool
	}{
		{"empty answer", http.StatusOK, `[]`, func(err error) bool { return err == nil }},
		{"refusal", http.StatusUnauthorized, `{"message":"invalid credentials"}`, func(err error) bool {
			var api *etpay.APIError
			return errors.As(err, &api) && api.StatusCode == http.StatusUnauthorized
		}},
		{"not an array", http.StatusOK, `{}`, func(err error) bool { return errors.Is(err, etpay.ErrMalformedResponse) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", date.Format(http.TimeFormat))
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer ts.Close()
			c := etpay.NewClient(etpay.Config{APIURL: ts.URL, MerchantCode: testMerchantCode, MerchantAPIToken: testMerchantToken})
			_, got, err := c.CheckPaymentStatusDated(context.Background(), etpay.StatusQuery{SessionToken: "s"})
			if !tt.check(err) {
				t.Errorf("err = %v", err)
			}
			if !got.Equal(date) {
				t.Errorf("date = %v, want %v", got, date)
			}
		})
	}
	t.Run("no answer", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		ts.Close()
		c := etpay.NewClient(etpay.Config{APIURL: ts.URL, MerchantCode: testMerchantCode, MerchantAPIToken: testMerchantToken})
		_, got, err := c.CheckPaymentStatusDated(context.Background(), etpay.StatusQuery{SessionToken: "s"})
		if !errors.Is(err, etpay.ErrUnavailable) || !got.IsZero() {
			t.Errorf("date %v, err %v; want zero, ErrUnavailable", got, err)
		}
	})
}
