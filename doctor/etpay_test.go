package doctor_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/doctor"
	"etpay-dashboard/etpay/sandbox"
)

// fakeETpay answers merchant/check_payment_status with status and body, and
// keeps the queries it got.
type fakeETpay struct {
	mu      sync.Mutex
	queries []map[string]string
}

func (f *fakeETpay) serve(t *testing.T, status int, body string, date func() string) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q map[string]string
		if r.URL.Path != "/merchant/check_payment_status" || json.NewDecoder(r.Body).Decode(&q) != nil {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		f.queries = append(f.queries, q)
		f.mu.Unlock()
		if date != nil {
			w.Header()["Date"] = nil // no automatic Date
			if d := date(); d != "" {
				w.Header().Set("Date", d)
			}
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

var madeUpToken = regexp.MustCompile(`^[0-9a-f]{64}$`)

// The credentials are checked by asking about a session that does not
// exist: only 401/403 says they are wrong.
func TestCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		level  doctor.Level
		key    string
	}{
		{"refused", http.StatusUnauthorized, `{"message":"invalid credentials"}`, doctor.Fail, "system.etpay.refused"},
		{"forbidden", http.StatusForbidden, ``, doctor.Fail, "system.etpay.refused"},
		{"no news", http.StatusOK, `[]`, doctor.OK, "system.etpay.ok"},
		{"unexpected answer", http.StatusOK, `{"nothing":"here"}`, doctor.OK, "system.etpay.ok"},
		{"no such session", http.StatusNotFound, `{"message":"session not found"}`, doctor.OK, "system.etpay.ok_status"},
		{"ETpay's own error", http.StatusBadGateway, ``, doctor.Warn, "system.etpay.server_error"},
		{"redirect", http.StatusFound, ``, doctor.Fail, "system.etpay.redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeETpay{}
			api := f.serve(t, tt.status, tt.body, nil)
			r := only(t, run(t, settings(t, live(api, "cl_shop", "secret-token")...)), "system.check.etpay")
			want(t, r, tt.level, tt.key)
			text := say(r)
			if r.Level == doctor.Fail && tt.key == "system.etpay.refused" &&
				(!strings.Contains(text, "ETPAY_MERCHANT_CODE") || !strings.Contains(text, "ETPAY_MERCHANT_API_TOKEN")) {
				t.Errorf("the refusal does not name the credentials: %s", text)
			}
			if strings.Contains(text, "secret-token") {
				t.Errorf("the advice shows the token: %s", text)
			}
			// Exactly one query, for a made-up session, with our credentials.
			if len(f.queries) != 1 {
				t.Fatalf("ETpay was asked %d times, want once (the clock reads the same answer)", len(f.queries))
			}
			q := f.queries[0]
			if !madeUpToken.MatchString(q["session_token"]) || q["merchant_code"] != "cl_shop" || q["merchant_api_token"] != "secret-token" || len(q) != 3 {
				t.Errorf("query = %v", q)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		api := "http://" + closedAddr(t)
		r := only(t, run(t, settings(t, live(api, "cl_shop", "secret-token")...)), "system.check.etpay")
		want(t, r, doctor.Fail, "system.etpay.unreachable")
		if text := say(r); !strings.Contains(text, "could not be reached") || !strings.Contains(text, api) {
			t.Errorf("advice: %s", text)
		}
	})
	// ETpay's own simulator, served alone (as `etpay-dashboard sandbox`
	// does), with the right and a wrong token.
	for _, tt := range []struct {
		token string
		level doctor.Level
	}{{"right-token", doctor.OK}, {"wrong-token", doctor.Fail}} {
		t.Run("simulator, "+tt.token, func(t *testing.T) {
			t.Parallel()
			sb := sandbox.New(sandbox.Options{MerchantCode: "cl_shop", MerchantAPIToken: "right-token"})
			ts := httptest.NewServer(sb)
			t.Cleanup(func() { ts.Close(); sb.Close() })
			r := only(t, run(t, settings(t, live(ts.URL, "cl_shop", tt.token)...)), "system.check.etpay")
			if r.Level != tt.level {
				t.Errorf("%s: %s", r.Level, say(r))
			}
		})
	}
}

// The clock is compared with the Date of ETpay's answer.
func TestClock(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) func() string {
		return func() string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	}
	tests := []struct {
		name  string
		date  func() string
		level doctor.Level
		key   string
	}{
		{"same time", at(0), doctor.OK, "system.clock.ok"},
		{"ETpay a minute ahead", at(time.Minute), doctor.Warn, "system.clock.behind"},
		{"ETpay ten minutes behind", at(-10 * time.Minute), doctor.Fail, "system.clock.ahead"},
		{"no Date", func() string { return "" }, doctor.Warn, "system.clock.no_date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := (&fakeETpay{}).serve(t, http.StatusUnauthorized, `{"message":"invalid credentials"}`, tt.date)
			want(t, only(t, run(t, settings(t, live(api, "cl_shop", "token")...)), "system.check.clock"), tt.level, tt.key)
		})
	}
	t.Run("ETpay unreachable", func(t *testing.T) {
		t.Parallel()
		r := only(t, run(t, settings(t, live("http://"+closedAddr(t), "cl_shop", "token")...)), "system.check.clock")
		want(t, r, doctor.Warn, "system.clock.unchecked")
	})
}

// Warn over 30 s of difference, FAIL over 5 minutes.
func TestClockThresholds(t *testing.T) {
	tests := []struct {
		skew  time.Duration
		level doctor.Level
	}{
		{0, doctor.OK},
		{30 * time.Second, doctor.OK},
		{-30 * time.Second, doctor.OK},
		{31 * time.Second, doctor.Warn},
		{-31 * time.Second, doctor.Warn},
		{5 * time.Minute, doctor.Warn},
		{5*time.Minute + time.Second, doctor.Fail},
		{-time.Hour, doctor.Fail},
	}
	for _, tt := range tests {
		if got := doctor.ClockResult(tt.skew); got.Level != tt.level {
			t.Errorf("skew %v: %s, want %s", tt.skew, got.Level, tt.level)
		}
	}
}
