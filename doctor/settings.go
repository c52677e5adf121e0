package doctor

import (
	"context"
	"errors"
	"net/url"

	"etpay-dashboard/config"
)

// Settings reports config.Load's outcome: one Fail per problem when it
// failed (err), else ok and one Warn per warning of cfg.
func Settings(cfg *config.Config, err error) []Result {
	const name = "system.check.settings"
	if err != nil {
		var problems []error
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			problems = joined.Unwrap()
		} else {
			problems = []error{err}
		}
		out := make([]Result, 0, len(problems))
		for _, p := range problems {
			out = append(out, result(Fail, name, "system.settings.invalid", p.Error()))
		}
		return out
	}
	out := []Result{result(OK, name, "system.settings.ok")}
	for _, w := range cfg.Warnings {
		out = append(out, result(Warn, name, "system.settings.warning", w))
	}
	return out
}

func settingsCheck(_ context.Context, r *run) []Result {
	return Settings(r.Config, nil)
}

// modeCheck: sandbox mode takes no real payments.
func modeCheck(_ context.Context, r *run) []Result {
	const name = "system.check.mode"
	if r.Config.Mode == config.ModeSandbox {
		return []Result{result(Warn, name, "system.mode.sandbox")}
	}
	return []Result{result(OK, name, "system.mode.live", r.Config.ETpayAPIURL)}
}

// baseURLCheck: in live mode customers and ETpay reach the server through
// BASE_URL, so it must be https. The server still starts with http (it may
// sit behind a proxy being set up); only this check and its page say Fail.
func baseURLCheck(_ context.Context, r *run) []Result {
	const name = "system.check.base_url"
	base := r.Config.BaseURL.String()
	switch {
	case r.Config.Mode == config.ModeSandbox:
		return []Result{result(OK, name, "system.base_url.sandbox", base)}
	case r.Config.BaseURL.Scheme != "https":
		return []Result{result(Fail, name, "system.base_url.http", base)}
	}
	return []Result{result(OK, name, "system.base_url.https", base)}
}

// errorText is err's message; for a failed HTTP request only its cause
// ("dial tcp …: connection refused"), since the advice names the URL.
func errorText(err error) string {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err.Error()
	}
	return err.Error()
}
