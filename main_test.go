package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"etpay-dashboard/testdb"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"etpay-dashboard/models"
)

// TestMain lets a test re-run this test binary as the real program: with
// ETPAY_DASHBOARD_TEST_MAIN=1 it calls main with the given arguments.
func TestMain(m *testing.M) {
	if os.Getenv("ETPAY_DASHBOARD_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe to write from run's goroutines while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newEnv returns settings with a fresh database file and the path of that file.
func newEnv(t *testing.T, kv ...string) (map[string]string, string) {
	t.Helper()
	db := testdb.URL(t, "test.db")
	m := map[string]string{"DATABASE_URL": db}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m, db
}

type result struct {
	stdout, stderr string
	err            error
}

// runCmd runs a command in-process, as main would, and waits for it.
// testStoreOptions open test databases with bcrypt's lowest cost (the
// production cost is tested in models).
var testStoreOptions = []models.Option{models.WithPasswordCost(bcrypt.MinCost)}

func runCmd(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	env := environment{storeOptions: testStoreOptions,
		args:   args,
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(k string) string { return vars[k] },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, env)
	return result{stdout.String(), stderr.String(), err}
}

func openTestStore(t *testing.T, path string) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), path, testStoreOptions...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// countLinks counts the links stored in the database file; a file that was
// never created holds none.
func countLinks(t *testing.T, path string) int64 {
	t.Helper()
	dialector := sqlite.Open(path)
	if testdb.OnPostgres() {
		dialector = postgres.Open(path)
	} else if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0
	}
	db, err := gorm.Open(dialector, &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if !db.Migrator().HasTable(&models.Link{}) { // a PostgreSQL schema never migrated
		return 0
	}
	var n int64
	if err := db.Model(&models.Link{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

var payURL = regexp.MustCompile(`^https://shop\.cl/pagos/pay/([A-Z2-7]{26})$`)

func TestLinksCreate(t *testing.T) {
	vars, db := newEnv(t, "BASE_URL", "https://shop.cl/pagos/")
	r := runCmd(t, vars, "", "links", "create", "--order", "OC-700104", "--amount", "50000",
		"--email", "cliente@correo.cl", "--description", "Pedido 700104")
	if r.err != nil {
		t.Fatalf("links create: %v\nstderr: %s", r.err, r.stderr)
	}
	m := payURL.FindStringSubmatch(lastLine(r.stdout))
	if m == nil {
		t.Fatalf("last line of stdout %q is not a payment URL under BASE_URL; stdout:\n%s", lastLine(r.stdout), r.stdout)
	}
	s := openTestStore(t, db)
	l, err := s.LinkByCode(context.Background(), m[1])
	if err != nil {
		t.Fatalf("LinkByCode(%s): %v", m[1], err)
	}
	if l.MerchantOrderID != "OC-700104" || l.Amount != 50000 || l.CustomerEmail != "cliente@correo.cl" ||
		l.Description != "Pedido 700104" || l.Status != models.LinkOpen || l.Mode != "sandbox" {
		t.Errorf("stored link = %+v", l)
	}
	if n := countLinks(t, db); n != 1 {
		t.Errorf("links stored = %d, want 1", n)
	}
}

func TestLinksCreateLiveMode(t *testing.T) {
	vars, db := newEnv(t,
		"BASE_URL", "https://shop.cl/pagos",
		"ETPAY_API_URL", "https://api.example", "ETPAY_PMT_URL", "https://pmt.example",
		"ETPAY_MERCHANT_CODE", "m", "ETPAY_MERCHANT_API_TOKEN", "tok")
	r := runCmd(t, vars, "", "links", "create", "--order", "OC-1", "--amount", "1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	m := payURL.FindStringSubmatch(lastLine(r.stdout))
	if m == nil {
		t.Fatalf("stdout %q", r.stdout)
	}
	l, err := openTestStore(t, db).LinkByCode(context.Background(), m[1])
	if err != nil || l.Mode != "live" {
		t.Errorf("link = %+v, %v; want mode live", l, err)
	}
}

func TestLinksCreateRejects(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		vars    []string
		wantErr string // substring of the error
	}{
		{"thousands dots", []string{"--order", "OC-1", "--amount", "50.000"}, nil, "--amount"},
		{"peso sign", []string{"--order", "OC-1", "--amount", "$5"}, nil, "--amount"},
		{"decimal", []string{"--order", "OC-1", "--amount", "1.5"}, nil, "--amount"},
		{"decimal comma", []string{"--order", "OC-1", "--amount", "1,5"}, nil, "--amount"},
		{"negative", []string{"--order", "OC-1", "--amount", "-3"}, nil, "--amount"},
		{"zero", []string{"--order", "OC-1", "--amount", "0"}, nil, "--amount"},
		{"exponent", []string{"--order", "OC-1", "--amount", "1e5"}, nil, "--amount"},
		{"spaces", []string{"--order", "OC-1", "--amount", " 500"}, nil, "--amount"},
		{"overflows int64", []string{"--order", "OC-1", "--amount", "99999999999999999999"}, nil, "--amount"},
		{"over MAX_ORDER_AMOUNT", []string{"--order", "OC-1", "--amount", "1001"}, []string{"MAX_ORDER_AMOUNT", "1000"}, "--amount"},
		{"over the default maximum", []string{"--order", "OC-1", "--amount", "100000001"}, nil, "--amount"},
		{"order with space", []string{"--order", "OC 1", "--amount", "500"}, nil, "--order"},
		{"order of 65 characters", []string{"--order", strings.Repeat("a", 65), "--amount", "500"}, nil, "--order"},
		{"order with ñ", []string{"--order", "año-1", "--amount", "500"}, nil, "--order"},
		{"bad email", []string{"--order", "OC-1", "--amount", "500", "--email", "a@b"}, nil, "--email"},
		{"email with display name", []string{"--order", "OC-1", "--amount", "500", "--email", "Ana <a@b.cl>"}, nil, "--email"},
		{"description with newline", []string{"--order", "OC-1", "--amount", "500", "--description", "a\nb"}, nil, "description"},
		{"no order", []string{"--amount", "500"}, nil, "--order"},
		{"no amount", []string{"--order", "OC-1"}, nil, "--amount"},
		{"unknown flag", []string{"--order", "OC-1", "--amount", "500", "--currency", "USD"}, nil, "currency"},
		{"partial ETPAY settings", []string{"--order", "OC-1", "--amount", "500"}, []string{"ETPAY_API_URL", "https://api.example"}, "ETPAY_PMT_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, db := newEnv(t, tt.vars...)
			r := runCmd(t, vars, "", append([]string{"links", "create"}, tt.args...)...)
			if r.err == nil {
				t.Fatalf("links create %v succeeded; stdout:\n%s", tt.args, r.stdout)
			}
			if !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %s", r.err, tt.wantErr)
			}
			if strings.Contains(r.stdout, "/pay/") {
				t.Errorf("stdout has a payment URL: %s", r.stdout)
			}
			if n := countLinks(t, db); n != 0 {
				t.Errorf("links stored = %d, want 0", n)
			}
		})
	}
}

func TestLinksCreateBoundaries(t *testing.T) {
	tests := []struct {
		name  string
		order string
		amt   string
	}{
		{"exactly MAX_ORDER_AMOUNT", "OC-1", "1000"},
		{"order of 64 characters", strings.Repeat("a", 64), "1"},
		{"underscore order", "a_b", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, db := newEnv(t, "MAX_ORDER_AMOUNT", "1000")
			r := runCmd(t, vars, "", "links", "create", "--order", tt.order, "--amount", tt.amt)
			if r.err != nil {
				t.Fatalf("links create: %v", r.err)
			}
			if !strings.HasPrefix(lastLine(r.stdout), "http://localhost:8080/pay/") {
				t.Errorf("last line %q is not under the default BASE_URL", lastLine(r.stdout))
			}
			if n := countLinks(t, db); n != 1 {
				t.Errorf("links stored = %d, want 1", n)
			}
		})
	}
}

func TestLinksCreateOrderInUse(t *testing.T) {
	for _, lang := range []string{"es_CL.UTF-8", "en_US.UTF-8"} {
		t.Run(lang, func(t *testing.T) {
			vars, db := newEnv(t, "LANG", lang)
			if r := runCmd(t, vars, "", "links", "create", "--order", "OC-9", "--amount", "500"); r.err != nil {
				t.Fatal(r.err)
			}
			r := runCmd(t, vars, "", "links", "create", "--order", "OC-9", "--amount", "700")
			if r.err == nil {
				t.Fatalf("second link for an open order succeeded: %s", r.stdout)
			}
			want := "Esta orden ya tiene un link abierto o pagado"
			if strings.HasPrefix(lang, "en") {
				want = "This order already has an open or paid link"
			}
			if !strings.Contains(r.err.Error(), "--order") || !strings.Contains(r.err.Error(), want) {
				t.Errorf("error %q, want --order and %q", r.err, want)
			}
			if n := countLinks(t, db); n != 1 {
				t.Errorf("links stored = %d, want 1", n)
			}
			// Another order is fine.
			if r := runCmd(t, vars, "", "links", "create", "--order", "OC-10", "--amount", "700"); r.err != nil {
				t.Errorf("link for another order: %v", r.err)
			}
		})
	}
}

func TestUnknownSubcommands(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"links without verb", []string{"links"}},
		{"links delete", []string{"links", "delete"}},
		{"users without verb", []string{"users"}},
		{"users remove", []string{"users", "remove", "--email", "a@b.cl"}},
		{"typo is a positional argument to serve", []string{"link", "create"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, db := newEnv(t)
			r := runCmd(t, vars, "", tt.args...)
			if r.err == nil {
				t.Fatalf("run %v succeeded", tt.args)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("database file was created by a failed command")
			}
		})
	}
	vars, _ := newEnv(t)
	r := runCmd(t, vars, "", "help")
	if r.err != nil || !strings.Contains(r.stdout, "links create --order ID --amount N") {
		t.Errorf("help = %q, %v", r.stdout, r.err)
	}
}

func TestUsersAdd(t *testing.T) {
	const password = "una clave bien larga"
	vars, db := newEnv(t)
	r := runCmd(t, vars, password+"\n", "users", "add", "--email", "Ana@Tienda.cl", "--role", "staff", "--password-stdin")
	if r.err != nil {
		t.Fatalf("users add: %v\nstderr: %s", r.err, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Error("the password was echoed")
	}
	s := openTestStore(t, db)
	u, err := s.UserByEmail(context.Background(), "ana@tienda.cl")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ana@tienda.cl" || u.Role != models.RoleStaff || u.Disabled {
		t.Errorf("user = %+v", u)
	}
	if !models.PasswordMatches(u.PasswordHash, password) {
		t.Error("stored hash does not match the password given on stdin (newline not trimmed?)")
	}
	if models.PasswordMatches(u.PasswordHash, password+"\n") {
		t.Error("stored hash matches the password with its newline")
	}

	t.Run("duplicate email", func(t *testing.T) {
		r := runCmd(t, vars, "otra clave bien larga\n", "users", "add", "--email", "ANA@tienda.cl", "--role", "admin", "--password-stdin")
		if !errors.Is(r.err, models.ErrEmailTaken) {
			t.Fatalf("error = %v, want ErrEmailTaken", r.err)
		}
		u2, err := s.UserByEmail(context.Background(), "ana@tienda.cl")
		if err != nil || u2.Role != models.RoleStaff || u2.PasswordHash != u.PasswordHash {
			t.Errorf("existing user changed: %+v, %v", u2, err)
		}
	})

	tests := []struct {
		name    string
		stdin   string
		args    []string
		wantErr string
	}{
		{"short password", "onceletras1\n", []string{"--email", "b@tienda.cl", "--role", "staff", "--password-stdin"}, "12"},
		{"empty password", "", []string{"--email", "b@tienda.cl", "--role", "staff", "--password-stdin"}, "12"},
		{"password over 72 bytes", strings.Repeat("x", 73) + "\n", []string{"--email", "b@tienda.cl", "--role", "staff", "--password-stdin"}, "72"},
		{"bad role", password + "\n", []string{"--email", "b@tienda.cl", "--role", "owner", "--password-stdin"}, "--role"},
		{"no role", password + "\n", []string{"--email", "b@tienda.cl", "--password-stdin"}, "--role"},
		{"without --password-stdin", password + "\n", []string{"--email", "b@tienda.cl", "--role", "staff"}, "--password-stdin"},
		{"password as a flag", "", []string{"--email", "b@tienda.cl", "--role", "staff", "--password", password}, "password"},
		{"bad email", password + "\n", []string{"--email", "b@tienda", "--role", "staff", "--password-stdin"}, "--email"},
		{"no email", password + "\n", []string{"--role", "staff", "--password-stdin"}, "--email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, vars, tt.stdin, append([]string{"users", "add"}, tt.args...)...)
			if r.err == nil {
				t.Fatalf("users add %v succeeded: %s", tt.args, r.stdout)
			}
			if !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %s", r.err, tt.wantErr)
			}
			if n, err := s.CountUsers(context.Background()); err != nil || n != 1 {
				t.Errorf("users = %d, %v; want still 1", n, err)
			}
		})
	}
}

var adminLine = regexp.MustCompile(`^admin email: admin@localhost password: ([A-Za-z0-9]+)$`)

// server is one `run` serving in the background.
type server struct {
	addr           string
	redirect       string // the plain-HTTP redirector's address, if it has one
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

// startServer runs the dashboard with vars and waits until it accepts connections.
func startServer(t *testing.T, vars map[string]string) *server {
	t.Helper()
	vars["LISTEN_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	env := environment{storeOptions: testStoreOptions,
		stdin: strings.NewReader(""), stdout: srv.stdout, stderr: srv.stderr,
		getenv:        func(k string) string { return vars[k] },
		ready:         func(addr string) { ready <- addr },
		redirectReady: func(addr string) { srv.redirect = addr }, // before ready
	}
	go func() { srv.done <- run(ctx, env) }()
	select {
	case srv.addr = <-ready:
	case err := <-srv.done:
		cancel()
		t.Fatalf("run returned before serving: %v\nstderr: %s", err, srv.stderr.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("server not ready after 20s")
	}
	t.Cleanup(func() { srv.stop(t) })
	return srv
}

// stop cancels the run and checks it ends cleanly; calling it twice is fine.
func (srv *server) stop(t *testing.T) {
	t.Helper()
	if srv.done == nil {
		return
	}
	srv.cancel()
	select {
	case err := <-srv.done:
		if err != nil {
			t.Errorf("run returned %v after cancel, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("run did not return within 15s of cancel")
	}
	srv.done = nil
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func adminLines(stdout string) []string {
	var pw []string
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "admin email:") {
			m := adminLine.FindStringSubmatch(line)
			if m == nil {
				pw = append(pw, "MALFORMED:"+line)
				continue
			}
			pw = append(pw, m[1])
		}
	}
	return pw
}

func TestServeFirstAdmin(t *testing.T) {
	vars, db := newEnv(t)
	srv := startServer(t, vars)

	resp, err := client.Get("http://" + srv.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", resp.StatusCode)
	}
	srv.stop(t)

	pw := adminLines(srv.stdout.String())
	if len(pw) != 1 || strings.HasPrefix(pw[0], "MALFORMED") {
		t.Fatalf("stdout admin lines = %q, want exactly one; stdout:\n%s", pw, srv.stdout.String())
	}
	if len(pw[0]) < 16 {
		t.Errorf("generated password %q is short", pw[0])
	}
	if strings.Contains(srv.stderr.String(), pw[0]) {
		t.Error("the generated password reached the logger (stderr)")
	}
	if strings.TrimSpace(srv.stdout.String()) != "admin email: admin@localhost password: "+pw[0] {
		t.Errorf("stdout has more than the admin line:\n%s", srv.stdout.String())
	}

	s := openTestStore(t, db)
	u, err := s.UserByEmail(context.Background(), "admin@localhost")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != models.RoleAdmin || !models.PasswordMatches(u.PasswordHash, pw[0]) {
		t.Errorf("admin = %+v; printed password matches = %v", u, models.PasswordMatches(u.PasswordHash, pw[0]))
	}

	t.Run("second start prints nothing", func(t *testing.T) {
		srv2 := startServer(t, vars)
		srv2.stop(t)
		if got := srv2.stdout.String(); got != "" {
			t.Errorf("stdout on second start = %q, want nothing", got)
		}
	})

	t.Run("ADMIN_* never change an existing user", func(t *testing.T) {
		vars := map[string]string{"DATABASE_URL": db, "ADMIN_EMAIL": "admin@localhost", "ADMIN_PASSWORD": "another-password-1234"}
		srv3 := startServer(t, vars)
		srv3.stop(t)
		if got := srv3.stdout.String(); got != "" {
			t.Errorf("stdout = %q, want nothing", got)
		}
		u2, err := s.UserByEmail(context.Background(), "admin@localhost")
		if err != nil {
			t.Fatal(err)
		}
		if u2.PasswordHash != u.PasswordHash || !models.PasswordMatches(u2.PasswordHash, pw[0]) {
			t.Error("the existing admin's password changed")
		}
		if n, _ := s.CountUsers(context.Background()); n != 1 {
			t.Errorf("users = %d, want 1", n)
		}
	})

	t.Run("ADMIN_* with another email add nobody", func(t *testing.T) {
		vars := map[string]string{"DATABASE_URL": db, "ADMIN_EMAIL": "jefa@tienda.cl", "ADMIN_PASSWORD": "another-password-1234"}
		srv4 := startServer(t, vars)
		srv4.stop(t)
		if _, err := s.UserByEmail(context.Background(), "jefa@tienda.cl"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UserByEmail(jefa) error = %v, want ErrNotFound", err)
		}
	})
}

func TestServeAdminFromEnvironment(t *testing.T) {
	const password = "clave-de-la-jefa-2024"
	vars, db := newEnv(t, "ADMIN_EMAIL", "Jefa@Tienda.cl", "ADMIN_PASSWORD", password)
	srv := startServer(t, vars)
	srv.stop(t)
	if got := srv.stdout.String(); got != "" {
		t.Errorf("stdout = %q, want nothing", got)
	}
	if strings.Contains(srv.stderr.String(), password) {
		t.Error("ADMIN_PASSWORD reached the logger")
	}
	s := openTestStore(t, db)
	u, err := s.UserByEmail(context.Background(), "jefa@tienda.cl")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != models.RoleAdmin || !models.PasswordMatches(u.PasswordHash, password) {
		t.Errorf("admin = %+v, password matches = %v", u, models.PasswordMatches(u.PasswordHash, password))
	}
	if _, err := s.UserByEmail(context.Background(), "admin@localhost"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("admin@localhost exists too: %v", err)
	}
	if n, _ := s.CountUsers(context.Background()); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name     string
		vars     []string
		args     []string
		wantErrs []string
	}{
		{"one ETPAY_* set", []string{"ETPAY_API_URL", "https://api.example"}, nil,
			[]string{"ETPAY_PMT_URL", "ETPAY_MERCHANT_CODE", "ETPAY_MERCHANT_API_TOKEN"}},
		{"three ETPAY_* set", []string{"ETPAY_API_URL", "https://api.example", "ETPAY_PMT_URL", "https://pmt.example", "ETPAY_MERCHANT_CODE", "m"}, nil,
			[]string{"ETPAY_MERCHANT_API_TOKEN"}},
		{"admin email alone", []string{"ADMIN_EMAIL", "a@b.cl"}, nil, []string{"ADMIN_PASSWORD"}},
		{"short admin password", []string{"ADMIN_EMAIL", "a@b.cl", "ADMIN_PASSWORD", "short"}, nil, []string{"ADMIN_PASSWORD"}},
		{"secret as a flag", nil, []string{"--admin-password", "a-very-long-password"}, []string{"admin-password"}},
		{"bad base url flag", nil, []string{"--base-url", "localhost"}, []string{"BASE_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, db := newEnv(t, tt.vars...)
			vars["LISTEN_ADDR"] = "127.0.0.1:0"
			r := runCmd(t, vars, "", tt.args...)
			if r.err == nil {
				t.Fatal("run succeeded, want an error")
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("error %q does not name %s", r.err, want)
				}
			}
			if tt.name == "three ETPAY_* set" {
				for _, set := range []string{"ETPAY_API_URL", "ETPAY_PMT_URL", "ETPAY_MERCHANT_CODE,"} {
					if _, missing, _ := strings.Cut(r.err.Error(), "missing:"); strings.Contains(missing, set) {
						t.Errorf("error %q names %s, which is set", r.err, set)
					}
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Error("the database file was created although the configuration is bad")
			}
		})
	}
}

func TestSandboxCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	env := environment{storeOptions: testStoreOptions,
		args:  []string{"sandbox", "--addr", "127.0.0.1:0"},
		stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" },
		ready:  func(addr string) { ready <- addr },
	}
	go func() { done <- run(ctx, env) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("sandbox returned early: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("sandbox not ready")
	}

	printed := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "ETPAY_") {
			printed[k] = v
		}
	}
	for _, k := range []string{"ETPAY_API_URL", "ETPAY_PMT_URL", "ETPAY_MERCHANT_CODE", "ETPAY_MERCHANT_API_TOKEN"} {
		if printed[k] == "" {
			t.Errorf("%s not printed; stdout:\n%s", k, stdout.String())
		}
	}
	if printed["ETPAY_API_URL"] != "http://"+addr {
		t.Errorf("ETPAY_API_URL = %q, want http://%s", printed["ETPAY_API_URL"], addr)
	}

	initialize := func(code, token string) (int, map[string]string) {
		body, _ := json.Marshal(map[string]any{
			"merchant_code": code, "merchant_api_token": token,
			"merchant_order_id": "OC-700104", "order_amount": 50000,
		})
		resp, err := client.Post(printed["ETPAY_API_URL"]+"/session/initialize", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]string{}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	tests := []struct {
		name       string
		code, tok  string
		wantStatus int
	}{
		{"printed credentials", printed["ETPAY_MERCHANT_CODE"], printed["ETPAY_MERCHANT_API_TOKEN"], http.StatusOK},
		{"wrong token", printed["ETPAY_MERCHANT_CODE"], "wrong", http.StatusUnauthorized},
		{"wrong merchant code", "cl_other", printed["ETPAY_MERCHANT_API_TOKEN"], http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := initialize(tt.code, tt.tok)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", status, tt.wantStatus, out)
			}
			if tt.wantStatus == http.StatusOK {
				if !regexp.MustCompile(`^[A-Za-z0-9]{64}$`).MatchString(out["token"]) || len(out["signature_token"]) < 32 {
					t.Errorf("answer = %v, want a 64-character token and a signature_token", out)
				}
			}
		})
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sandbox returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("sandbox did not stop")
	}
}

func TestSandboxCommandFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	env := environment{storeOptions: testStoreOptions,
		args:  []string{"sandbox", "--addr", "127.0.0.1:0", "--merchant-code", "cl_mine", "--merchant-api-token", "my-token"},
		stdin: strings.NewReader(""), stdout: &stdout, stderr: &syncBuffer{},
		getenv: func(string) string { return "" },
		ready:  func(addr string) { ready <- addr },
	}
	go func() { done <- run(ctx, env) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("sandbox returned early: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sandbox returned %v", err)
	}
	out := stdout.String()
	if !strings.Contains(out, "\nETPAY_MERCHANT_CODE=cl_mine\n") || !strings.Contains(out, "\nETPAY_MERCHANT_API_TOKEN=my-token\n") {
		t.Errorf("stdout does not show the given credentials:\n%s", out)
	}
}

// TestMainExitStatus runs the program as a process: errors go to standard
// error with exit status 1, and the URL is the last line on success.
func TestMainExitStatus(t *testing.T) {
	db := testdb.URL(t, "test.db")
	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantStderr string
		wantLast   *regexp.Regexp
	}{
		{"link created", []string{"links", "create", "--order", "OC-1", "--amount", "5000"}, 0, "", regexp.MustCompile(`^http://localhost:8080/pay/[A-Z2-7]{26}$`)},
		{"bad order id", []string{"links", "create", "--order", "OC 1", "--amount", "5000"}, 1, "error: --order", nil},
		{"same order again", []string{"links", "create", "--order", "OC-1", "--amount", "5000"}, 1, "error: --order", nil},
		{"bad amount", []string{"links", "create", "--order", "OC-2", "--amount", "$5"}, 1, "error: --amount", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], tt.args...)
			cmd.Env = []string{"ETPAY_DASHBOARD_TEST_MAIN=1", "DATABASE_URL=" + db, "PATH=" + os.Getenv("PATH")}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			exit := 0
			if ee, ok := errors.AsType[*exec.ExitError](err); ok {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != tt.wantExit {
				t.Fatalf("exit status = %d, want %d; stderr: %s", exit, tt.wantExit, stderr.String())
			}
			if tt.wantStderr != "" && !strings.HasPrefix(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to start with %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantLast != nil && !tt.wantLast.MatchString(lastLine(stdout.String())) {
				t.Errorf("last line of stdout = %q", lastLine(stdout.String()))
			}
			if tt.wantExit != 0 && stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing on error", stdout.String())
			}
		})
	}
	if n := countLinks(t, db); n != 1 {
		t.Errorf("links stored = %d, want 1", n)
	}
}

// TestCLIAmountMessages checks the CLI's own wording for amounts.
func TestCLIAmountMessages(t *testing.T) {
	t.Run("amount error suggests the rejected format", func(t *testing.T) {
		vars, _ := newEnv(t)
		r := runCmd(t, vars, "", "links", "create", "--order", "OC-1", "--amount", "50.000")
		if r.err == nil || strings.Contains(r.err.Error(), "50.000") {
			t.Errorf("error = %v, want one that does not suggest 50.000", r.err)
		}
	})
	t.Run("overflow is too large even with the largest maximum", func(t *testing.T) {
		vars, _ := newEnv(t)
		vars["MAX_ORDER_AMOUNT"] = "9223372036854775807"
		r := runCmd(t, vars, "", "links", "create", "--order", "OC-1", "--amount", "99999999999999999999")
		if r.err == nil || !strings.Contains(r.err.Error(), "no puede superar") {
			t.Errorf("error = %v, want the too-large message", r.err)
		}
	})
}

// The only admin who forgot the password or lost the phone gets back in
// from the server's shell: `users password` and `users reset-2fa` change
// what they say, end the user's logins, and refuse what they should.
func TestUsersRecoverFromTheCommandLine(t *testing.T) {
	const password = "una clave bien larga"
	ctx := context.Background()
	vars, db := newEnv(t)
	if r := runCmd(t, vars, password+"\n", "users", "add", "--email", "ana@tienda.cl", "--role", "admin", "--password-stdin"); r.err != nil {
		t.Fatalf("users add: %v", r.err)
	}
	s := openTestStore(t, db)
	ana, err := s.UserByEmail(ctx, "ana@tienda.cl")
	if err != nil {
		t.Fatal(err)
	}
	login := func() {
		if err := s.CreateStaffSession(ctx, rand.Text(), ana.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	login()
	// Ana has been failing from her own address: five failures refuse her
	// there (counted in the database, as the servers on PostgreSQL do).
	limits := models.LoginLimits{Window: 15 * time.Minute, PerAddr: 20, PerPair: 5, AlarmAcct: 20}
	for range limits.PerPair {
		if ok, err := s.AllowLoginAttempt(ctx, "10.0.0.1", "ana@tienda.cl", time.Now(), limits); !ok || err != nil {
			t.Fatalf("attempt: %v, %v", ok, err)
		}
	}
	if ok, _ := s.AllowLoginAttempt(ctx, "10.0.0.1", "ana@tienda.cl", time.Now(), limits); ok {
		t.Fatal("a sixth attempt was allowed: the test sets nothing up")
	}
	r := runCmd(t, vars, "otra clave bien larga\n", "users", "password", "--email", "ANA@tienda.cl", "--password-stdin")
	if r.err != nil {
		t.Fatalf("users password: %v\nstderr: %s", r.err, r.stderr)
	}
	after, _ := s.UserByEmail(ctx, "ana@tienda.cl")
	if !models.PasswordMatches(after.PasswordHash, "otra clave bien larga") || models.PasswordMatches(after.PasswordHash, password) {
		t.Error("the new password is not the one stored")
	}
	if n, err := s.CountStaffSessions(ctx, ana.ID); err != nil || n != 0 {
		t.Errorf("logins after users password: %d, %v; want 0", n, err)
	}
	if ok, err := s.AllowLoginAttempt(ctx, "10.0.0.1", "ana@tienda.cl", time.Now(), limits); !ok || err != nil {
		t.Errorf("after users password Ana is still refused at her address: %v, %v", ok, err)
	}

	if r := runCmd(t, vars, "", "users", "reset-2fa", "--email", "ana@tienda.cl"); r.err == nil || !strings.Contains(r.err.Error(), "--email") {
		t.Errorf("reset-2fa of a user without one: %v", r.err)
	}
	if err := s.StartSecondFactor(ctx, ana.ID, "sealed"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableSecondFactor(ctx, ana.ID, "sealed", 1, nil, ""); err != nil {
		t.Fatal(err)
	}
	login()
	if r := runCmd(t, vars, "", "users", "reset-2fa", "--email", "ana@tienda.cl"); r.err != nil {
		t.Fatalf("users reset-2fa: %v\nstderr: %s", r.err, r.stderr)
	}
	if has, err := s.HasSecondFactor(ctx, ana.ID); err != nil || has {
		t.Errorf("second factor after reset-2fa: %v, %v", has, err)
	}
	if n, err := s.CountStaffSessions(ctx, ana.ID); err != nil || n != 0 {
		t.Errorf("logins after reset-2fa: %d, %v; want 0", n, err)
	}
	entries, err := s.AuditEntries(ctx, models.AuditPage{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.UserEmail+" "+e.Detail)
	}
	for _, want := range []string{"password_changed ana@tienda.cl command line", "twofactor_reset ana@tienda.cl command line"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit log %q lacks %q", actions, want)
		}
	}

	for _, tt := range []struct {
		stdin   string
		args    []string
		wantErr string
	}{
		{"corta\n", []string{"password", "--email", "ana@tienda.cl", "--password-stdin"}, "12"},
		{password + "\n", []string{"password", "--email", "ana@tienda.cl"}, "--password-stdin"},
		{password + "\n", []string{"password", "--email", "nadie@tienda.cl", "--password-stdin"}, "nadie@tienda.cl"},
		{"", []string{"reset-2fa", "--email", "nadie@tienda.cl"}, "nadie@tienda.cl"},
		{"", []string{"reset-2fa"}, "--email"},
		{"", []string{"delete", "--email", "ana@tienda.cl"}, "help"},
	} {
		r := runCmd(t, vars, tt.stdin, append([]string{"users"}, tt.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
			t.Errorf("users %v: error %v, want one mentioning %s", tt.args, r.err, tt.wantErr)
		}
	}
	final, _ := s.UserByEmail(ctx, "ana@tienda.cl")
	if final.PasswordHash != after.PasswordHash {
		t.Error("a refused command changed the password")
	}
}
