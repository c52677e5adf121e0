package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/etpay"
)

// healthzCheck asks the server for /healthz through BASE_URL, as customers
// and ETpay reach it: a proxy, DNS or certificate in the way shows here.
// Redirects are reported, not followed: BASE_URL should be the final address.
func healthzCheck(ctx context.Context, r *run) []Result {
	const name = "system.check.healthz"
	target := r.Config.URL("/healthz")
	trouble, down := troubleLevel(r.Config), "system.healthz.down_live"
	if r.Config.Mode == config.ModeSandbox {
		down = "system.healthz.down_sandbox"
	}
	ctx, cancel := context.WithTimeout(ctx, healthzTimeout)
	defer cancel()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	var resp *http.Response
	if err == nil {
		resp, err = client.Do(req)
	}
	if err != nil {
		return []Result{result(trouble, name, down, target, errorText(err))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return []Result{result(trouble, name, "system.healthz.redirect", target, resp.Header.Get("Location"))}
	case resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok":
		return []Result{result(trouble, name, "system.healthz.wrong", target, resp.StatusCode)}
	}
	return []Result{result(OK, name, "system.healthz.ok", target, time.Since(start).Milliseconds())}
}

// etpayAnswer is what ETpay said to a status query about a made-up session:
// err as etpay.Client returns it, the answer's Date, and when we asked.
type etpayAnswer struct {
	err            error
	date           time.Time
	sent, received time.Time
}

// askETpay asks ETpay's merchant/check_payment_status about a session that
// does not exist: a query that changes nothing, made with our credentials.
// The token is random (64 hex characters, the shape of real ones) so it can
// never match a real session. Nothing is asked in sandbox mode: the built-in
// simulator lives inside the running server, with credentials it makes up
// at each start.
func askETpay(ctx context.Context, cfg *config.Config) etpayAnswer {
	if cfg.Mode != config.ModeLive {
		return etpayAnswer{}
	}
	client := etpay.NewClient(etpay.Config{APIURL: cfg.ETpayAPIURL, PMTURL: cfg.ETpayPMTURL,
		MerchantCode: cfg.ETpayMerchant, MerchantAPIToken: cfg.ETpayAPIToken, Timeout: etpayTimeout})
	token := make([]byte, 32)
	rand.Read(token)
	a := etpayAnswer{sent: time.Now()}
	_, a.date, a.err = client.CheckPaymentStatusDated(ctx, etpay.StatusQuery{SessionToken: hex.EncodeToString(token)})
	a.received = time.Now()
	return a
}

// credentialsCheck reads ETpay's answer about the made-up session. Only an
// authentication refusal (401 or 403) says the credentials are wrong; any
// other answer, 404 or an empty list included, means ETpay took them.
func credentialsCheck(_ context.Context, r *run) []Result {
	const name = "system.check.etpay"
	if r.Config.Mode != config.ModeLive {
		return []Result{result(OK, name, "system.etpay.sandbox")}
	}
	a := r.etpay()
	api := r.Config.ETpayAPIURL
	var apiErr *etpay.APIError
	switch {
	case a.err == nil || errors.Is(a.err, etpay.ErrMalformedResponse):
		return []Result{result(OK, name, "system.etpay.ok", api)}
	case errors.As(a.err, &apiErr):
		return []Result{refusal(name, api, apiErr)}
	}
	return []Result{result(Fail, name, "system.etpay.unreachable", api, errorText(a.err))}
}

// refusal turns ETpay's non-2xx answer into a result.
func refusal(name, api string, e *etpay.APIError) Result {
	msg := e.Message
	if msg == "" {
		msg = "—"
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return result(Fail, name, "system.etpay.refused", e.StatusCode, msg)
	case e.StatusCode >= 300 && e.StatusCode < 400:
		return result(Fail, name, "system.etpay.redirect", api, e.StatusCode)
	case e.StatusCode >= 500:
		// ETpay's own trouble says nothing about our credentials.
		return result(Warn, name, "system.etpay.server_error", api, e.StatusCode, msg)
	}
	return result(OK, name, "system.etpay.ok_status", api, e.StatusCode)
}

// Clock skew thresholds: past clockWarn the server's times drift visibly
// from ETpay's (and TOTP codes, ±30 s, start failing); past clockFail
// anything time-limited, such as a notification's exp, cannot be trusted.
const (
	clockWarn = 30 * time.Second
	clockFail = 5 * time.Minute
)

// clockCheck compares our clock with the Date of ETpay's answer, taking our
// time halfway between asking and hearing back. Date has whole seconds, so
// half a second is added to its value.
func clockCheck(_ context.Context, r *run) []Result {
	const name = "system.check.clock"
	if r.Config.Mode != config.ModeLive {
		return []Result{result(OK, name, "system.clock.sandbox")}
	}
	a := r.etpay()
	if a.date.IsZero() {
		if errors.Is(a.err, etpay.ErrUnavailable) {
			return []Result{result(Warn, name, "system.clock.unchecked")}
		}
		return []Result{result(Warn, name, "system.clock.no_date")}
	}
	ours := a.sent.Add(a.received.Sub(a.sent) / 2)
	return []Result{ClockResult(a.date.Add(500 * time.Millisecond).Sub(ours))}
}

// ClockResult judges skew, ETpay's clock minus ours: positive when ours is
// behind.
func ClockResult(skew time.Duration) Result {
	const name = "system.check.clock"
	size := skew.Abs()
	shown := size.Round(time.Second).String()
	if size <= clockWarn {
		return result(OK, name, "system.clock.ok", shown)
	}
	level := Warn
	if size > clockFail {
		level = Fail
	}
	if skew > 0 {
		return result(level, name, "system.clock.behind", shown)
	}
	return result(level, name, "system.clock.ahead", shown)
}
