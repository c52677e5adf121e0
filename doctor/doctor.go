// Package doctor checks the configuration a server runs with, and the
// services it depends on, the way a merchant going live needs them checked:
// settings, mode, BASE_URL and whether it answers, ETpay's acceptance of the
// credentials and its clock, the mail server, the database, the disk and the
// backups. The `doctor` command and the admin page "Estado del sistema" run
// the same checks. It knows nothing of HTTP serving, and changes nothing.
package doctor

import (
	"context"
	"sync"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
)

// Level is how a check went.
type Level int

// The levels, in increasing gravity: OK needs nothing, Warn deserves a look,
// Fail must be fixed before taking real payments.
const (
	OK Level = iota
	Warn
	Fail
)

// String is the level as the command prints it at the start of a line.
func (l Level) String() string {
	switch l {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	}
	return "FAIL"
}

// Text is a catalogue key and its arguments: the caller says it in the
// reader's language (views.Locale.T).
type Text struct {
	Key  string
	Args []any
}

// Result is one check's outcome: what was checked and what to do about it.
type Result struct {
	Level  Level
	Check  Text
	Advice Text
}

// Env is what the checks look at.
type Env struct {
	// Config is the configuration the server runs (or would run) with.
	Config *config.Config
	// Store is the server's database; nil when it could not be opened
	// (StoreErr says why) or does not exist yet (StoreErr is nil).
	Store    *models.Store
	StoreErr error
}

// Timeouts of the checks that wait on the network or the disk.
const (
	healthzTimeout  = 5 * time.Second
	etpayTimeout    = 10 * time.Second
	smtpTimeout     = 10 * time.Second
	databaseTimeout = 30 * time.Second
)

// run is one run of the checks: the environment, and ETpay's answer, asked
// for once and read by the credentials and the clock checks.
type run struct {
	Env
	etpay func() etpayAnswer
}

// check is one named check; most return one result, settings one per warning.
type check func(context.Context, *run) []Result

// checks run in this order, which is also the order of their results.
var checks = []check{
	settingsCheck,
	modeCheck,
	baseURLCheck,
	healthzCheck,
	credentialsCheck,
	clockCheck,
	smtpCheck,
	databaseCheck,
	diskCheck,
	backupsCheck,
}

// Run runs every check, at once (several wait on the network), and returns
// their results in a fixed order. env.Config must be valid: a configuration
// that does not load is reported by Settings alone.
func Run(ctx context.Context, env Env) []Result {
	r := &run{Env: env}
	r.etpay = sync.OnceValue(func() etpayAnswer { return askETpay(ctx, env.Config) })
	out := make([][]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { out[i] = c(ctx, r) })
	}
	wg.Wait()
	var all []Result
	for _, rs := range out {
		all = append(all, rs...)
	}
	return all
}

// Verdict is the gravest level among results: Fail if any failed.
func Verdict(results []Result) Level {
	worst := OK
	for _, r := range results {
		worst = max(worst, r.Level)
	}
	return worst
}

// Count is how many results have level l.
func Count(results []Result, l Level) int {
	n := 0
	for _, r := range results {
		if r.Level == l {
			n++
		}
	}
	return n
}

// result builds a Result whose advice is key with args.
func result(l Level, checkKey, key string, args ...any) Result {
	return Result{Level: l, Check: Text{Key: checkKey}, Advice: Text{Key: key, Args: args}}
}

// troubleLevel is how grave a problem with reaching this server is: in live
// mode customers and ETpay are kept out (Fail); in sandbox mode the server
// is often simply not started yet on a developer's machine (Warn).
func troubleLevel(cfg *config.Config) Level {
	if cfg.Mode == config.ModeLive {
		return Fail
	}
	return Warn
}
