package shophooks

import (
	"net/http"
	"testing"
	"time"
)

// A 429 or 503 asks for a wait, kept within maxRetryAfter however large the
// number the shop sends (a huge one once overflowed into no wait at all).
func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		status int
		header string
		want   time.Duration
	}{
		{http.StatusTooManyRequests, "120", 2 * time.Minute},
		{http.StatusServiceUnavailable, "86400", maxRetryAfter},
		{http.StatusTooManyRequests, "999999999", maxRetryAfter},
		{http.StatusTooManyRequests, "9223372037", maxRetryAfter},
		{http.StatusTooManyRequests, "9223372036854775807", maxRetryAfter},
		{http.StatusTooManyRequests, "0", 0},
		{http.StatusTooManyRequests, "-5", 0},
		{http.StatusTooManyRequests, "Wed, 21 Oct 2015 07:28:00 GMT", 0},
		{http.StatusInternalServerError, "120", 0},
	} {
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Retry-After": {tt.header}}}
		if got := retryAfter(resp); got != tt.want {
			t.Errorf("%d with Retry-After %q: wait %v, want %v", tt.status, tt.header, got, tt.want)
		}
	}
}
