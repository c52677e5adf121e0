package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"etpay-dashboard/etpay/sandbox"
	"etpay-dashboard/testdb"
)

// checkLine is how every line of doctor's output starts: the level in a
// column four wide, two spaces, the check.
var checkLine = regexp.MustCompile(`^(ok  |warn|FAIL)  \S`)

// doctorLines runs doctor and checks the shape of every line it printed.
func doctorLines(t *testing.T, vars map[string]string) ([]string, error) {
	t.Helper()
	r := runCmd(t, vars, "", "doctor")
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	for _, l := range lines {
		if !checkLine.MatchString(l) {
			t.Errorf("line does not start with ok, warn or FAIL: %q", l)
		}
	}
	return lines, r.err
}

// line is the one line about check (its English label).
func line(t *testing.T, lines []string, check string) string {
	t.Helper()
	var found []string
	for _, l := range lines {
		if strings.Contains(l, "  "+check+": ") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines about %q, want 1:\n%s", len(found), check, strings.Join(lines, "\n"))
	}
	return found[0]
}

func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return "http://" + ln.Addr().String()
}

func liveVars(t *testing.T, api, token string, kv ...string) map[string]string {
	t.Helper()
	vars, _ := newEnv(t, append([]string{"LANG", "en", "ETPAY_API_URL", api, "ETPAY_PMT_URL", api,
		"ETPAY_MERCHANT_CODE", "cl_shop", "ETPAY_MERCHANT_API_TOKEN", token}, kv...)...)
	return vars
}

// Against the built-in sandbox, with nothing else set up and no server
// running, doctor warns but fails nothing, and exits 0.
func TestDoctorSandbox(t *testing.T) {
	vars, _ := newEnv(t, "BASE_URL", closedURL(t))
	lines, err := doctorLines(t, vars)
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, strings.Join(lines, "\n"))
	}
	out := strings.Join(lines, "\n")
	if strings.Contains(out, "FAIL") || !strings.Contains(out, "warn  Modo: Modo sandbox: ningún pago es real") {
		t.Errorf("output:\n%s", out)
	}
}

// doctor may run while the server runs: /healthz answers through BASE_URL
// and the server's database checks out.
func TestDoctorWhileServerRuns(t *testing.T) {
	vars, _ := newEnv(t, "LANG", "en")
	srv := startServer(t, vars)
	vars["BASE_URL"] = "http://" + srv.addr
	lines, err := doctorLines(t, vars)
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, strings.Join(lines, "\n"))
	}
	for _, check := range []string{"Server answers at BASE_URL", "Database"} {
		if l := line(t, lines, check); !strings.HasPrefix(l, "ok") && !(testdb.OnPostgres() && check == "Database" && strings.HasPrefix(l, "warn")) {
			t.Errorf("%s", l)
		}
	}
}

// An ETpay that refuses the credentials: FAIL naming them, exit non-zero.
// The same settings against ETpay's simulator, which takes them, say ok.
func TestDoctorETpayRefusesCredentials(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message":"invalid credentials"}`))
	}))
	defer refusing.Close()
	lines, err := doctorLines(t, liveVars(t, refusing.URL, "token-from-etpay"))
	if err == nil {
		t.Error("doctor exited 0 with refused credentials")
	}
	l := line(t, lines, "ETpay credentials")
	for _, want := range []string{"FAIL", "ETPAY_MERCHANT_CODE", "ETPAY_MERCHANT_API_TOKEN", "invalid credentials"} {
		if !strings.Contains(l, want) {
			t.Errorf("line lacks %q: %s", want, l)
		}
	}

	sb := sandbox.New(sandbox.Options{MerchantCode: "cl_shop", MerchantAPIToken: "token-from-etpay"})
	accepting := httptest.NewServer(sb)
	defer func() { accepting.Close(); sb.Close() }()
	lines, _ = doctorLines(t, liveVars(t, accepting.URL, "token-from-etpay"))
	if l := line(t, lines, "ETpay credentials"); !strings.HasPrefix(l, "ok") {
		t.Errorf("accepted credentials: %s", l)
	}
}

// In live mode an http BASE_URL is a FAIL naming BASE_URL (the server
// itself starts with it, with a warning).
func TestDoctorLiveHTTPBaseURL(t *testing.T) {
	api := closedURL(t)
	lines, err := doctorLines(t, liveVars(t, api, "t", "BASE_URL", "http://127.0.0.1:9"))
	if err == nil {
		t.Error("doctor exited 0")
	}
	if l := line(t, lines, "Public address (BASE_URL)"); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "BASE_URL is http://127.0.0.1:9") {
		t.Errorf("%s", l)
	}
	lines, _ = doctorLines(t, liveVars(t, api, "t", "BASE_URL", "https://127.0.0.1:9"))
	if l := line(t, lines, "Public address (BASE_URL)"); !strings.HasPrefix(l, "ok") {
		t.Errorf("https: %s", l)
	}
}

// Settings the server would refuse are FAIL lines, one per problem.
func TestDoctorBadSettings(t *testing.T) {
	vars, _ := newEnv(t, "LANG", "en", "ETPAY_API_URL", "https://api.etpay.com", "MAX_ORDER_AMOUNT", "lots")
	lines, err := doctorLines(t, vars)
	if err == nil || !strings.Contains(err.Error(), "FAIL") {
		t.Errorf("err = %v", err)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "ETPAY_PMT_URL") || !strings.Contains(lines[1], "MAX_ORDER_AMOUNT") {
		t.Errorf("lines:\n%s", strings.Join(lines, "\n"))
	}
}
