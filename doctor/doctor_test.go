package doctor_test

import (
	"context"
	"etpay-dashboard/testdb"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/config"
	"etpay-dashboard/doctor"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// settings loads a configuration from kv (a fresh database path unless
// given), as the server would.
func settings(t *testing.T, kv ...string) *config.Config {
	t.Helper()
	env := map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "d.db"), "BASE_URL": "http://" + closedAddr(t)}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// live is the four ETPAY_* settings pointing at api, with these credentials.
func live(api, code, token string) []string {
	return []string{"ETPAY_API_URL", api, "ETPAY_PMT_URL", api, "ETPAY_MERCHANT_CODE", code, "ETPAY_MERCHANT_API_TOKEN", token}
}

func run(t *testing.T, cfg *config.Config) []doctor.Result {
	t.Helper()
	return doctor.Run(context.Background(), doctor.Env{Config: cfg})
}

// only is the one result of the check named checkKey.
func only(t *testing.T, results []doctor.Result, checkKey string) doctor.Result {
	t.Helper()
	var found []doctor.Result
	for _, r := range results {
		if r.Check.Key == checkKey {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d results for %s, want 1: %+v", len(found), checkKey, results)
	}
	return found[0]
}

// say is r's advice in English, as the command prints it with LANG=en.
func say(r doctor.Result) string {
	return views.NewLocale("en").T(r.Advice.Key, r.Advice.Args...)
}

func want(t *testing.T, r doctor.Result, level doctor.Level, adviceKey string) {
	t.Helper()
	if r.Level != level || r.Advice.Key != adviceKey {
		t.Errorf("%s: %s %s (%s), want %s %s", r.Check.Key, r.Level, r.Advice.Key, say(r), level, adviceKey)
	}
}

// The built-in sandbox, with no server running and nothing configured, has
// warnings but nothing failed: a developer's first run is fine.
func TestSandboxHasNoFailure(t *testing.T) {
	t.Parallel()
	results := run(t, settings(t))
	if v := doctor.Verdict(results); v != doctor.Warn {
		t.Errorf("verdict %s, want warn: %+v", v, results)
	}
	want(t, only(t, results, "system.check.mode"), doctor.Warn, "system.mode.sandbox")
	want(t, only(t, results, "system.check.healthz"), doctor.Warn, "system.healthz.down_sandbox")
	want(t, only(t, results, "system.check.etpay"), doctor.OK, "system.etpay.sandbox")
	want(t, only(t, results, "system.check.clock"), doctor.OK, "system.clock.sandbox")
	want(t, only(t, results, "system.check.smtp"), doctor.Warn, "system.smtp.none")
	want(t, only(t, results, "system.check.database"), doctor.Warn, "system.database.missing")
	want(t, only(t, results, "system.check.backups"), doctor.Warn, "system.backups.none_scheduled")
	if !strings.Contains(say(only(t, results, "system.check.mode")), "no real payments") {
		t.Errorf("mode advice: %s", say(only(t, results, "system.check.mode")))
	}
	if len(results) != 10 {
		t.Errorf("%d results, want one per check (10)", len(results))
	}
}

// In live mode BASE_URL must be https; the server starts with http, but
// doctor says FAIL and names BASE_URL.
func TestBaseURL(t *testing.T) {
	t.Parallel()
	api := "http://" + closedAddr(t)
	tests := []struct {
		name, base string
		live       bool
		level      doctor.Level
		key        string
	}{
		{"http in live mode", "http://127.0.0.1:9", true, doctor.Fail, "system.base_url.http"},
		{"https in live mode", "https://127.0.0.1:9", true, doctor.OK, "system.base_url.https"},
		{"http in sandbox mode", "http://127.0.0.1:9", false, doctor.OK, "system.base_url.sandbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := []string{"BASE_URL", tt.base}
			if tt.live {
				kv = append(kv, live(api, "cl_shop", "token")...)
			}
			r := only(t, run(t, settings(t, kv...)), "system.check.base_url")
			want(t, r, tt.level, tt.key)
			if r.Level == doctor.Fail && !strings.Contains(say(r), "BASE_URL") {
				t.Errorf("the failure does not name BASE_URL: %s", say(r))
			}
		})
	}
}

// /healthz is asked through BASE_URL; a server that is not there is a
// failure in live mode and a warning in sandbox mode.
func TestHealthz(t *testing.T) {
	t.Parallel()
	api := "http://" + closedAddr(t)
	serve := func(h http.HandlerFunc) string {
		ts := httptest.NewServer(h)
		t.Cleanup(ts.Close)
		return ts.URL
	}
	okServer := serve(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/pagos/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	})
	tests := []struct {
		name, base string
		live       bool
		level      doctor.Level
		key        string
	}{
		{"answers", okServer + "/pagos", true, doctor.OK, "system.healthz.ok"},
		{"down, live", "http://" + closedAddr(t), true, doctor.Fail, "system.healthz.down_live"},
		{"down, sandbox", "http://" + closedAddr(t), false, doctor.Warn, "system.healthz.down_sandbox"},
		{"another server", okServer, true, doctor.Fail, "system.healthz.wrong"},
		{"redirect", serve(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://shop.cl/healthz", http.StatusMovedPermanently)
		}), true, doctor.Fail, "system.healthz.redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := []string{"BASE_URL", tt.base}
			if tt.live {
				kv = append(kv, live(api, "cl_shop", "token")...)
			}
			r := only(t, run(t, settings(t, kv...)), "system.check.healthz")
			want(t, r, tt.level, tt.key)
			if r.Level == doctor.Fail && !strings.Contains(say(r), "BASE_URL") {
				t.Errorf("the failure does not name BASE_URL: %s", say(r))
			}
		})
	}
}

func TestDatabase(t *testing.T) {
	t.Parallel()
	cfg := settings(t)
	store, err := models.Open(context.Background(), cfg.DatabaseURL, models.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tests := []struct {
		name  string
		env   doctor.Env
		level doctor.Level
		key   string
	}{
		{"healthy", doctor.Env{Config: cfg, Store: store}, doctor.OK, "system.database.ok"},
		{"not made yet", doctor.Env{Config: cfg}, doctor.Warn, "system.database.missing"},
		{"does not open", doctor.Env{Config: cfg, StoreErr: context.DeadlineExceeded}, doctor.Fail, "system.database.open_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, only(t, doctor.Run(context.Background(), tt.env), "system.check.database"), tt.level, tt.key)
		})
	}
}

// TestDatabaseOnPostgres: on PostgreSQL the database, its disk and its
// backups are PostgreSQL's own, said as warnings ("managed by PostgreSQL"),
// and the URL the checks show carries no password.
func TestDatabaseOnPostgres(t *testing.T) {
	testdb.RequirePostgres(t, "doctor's PostgreSQL checks")
	t.Parallel()
	cfg := settings(t, "DATABASE_URL", testdb.URL(t, "d.db"), "BACKUP_DIR", t.TempDir())
	store, err := models.Open(context.Background(), cfg.DatabaseURL, models.WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	results := doctor.Run(context.Background(), doctor.Env{Config: cfg, Store: store})
	want(t, only(t, results, "system.check.database"), doctor.Warn, "system.database.postgres")
	want(t, only(t, results, "system.check.disk"), doctor.Warn, "system.disk.postgres")
	want(t, only(t, results, "system.check.backups"), doctor.Warn, "system.backups.postgres")
	u, _ := url.Parse(cfg.DatabaseURL)
	pass, _ := u.User.Password()
	for _, r := range results {
		if pass != "" && strings.Contains(fmt.Sprint(r.Advice.Args...), pass) {
			t.Errorf("%s shows the database password", r.Check.Key)
		}
	}
}
