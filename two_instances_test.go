package main

// Two instances of the real binary on one PostgreSQL database (issue 16's
// "done when"): live events cross instances, a login holds on both and a
// logout on one ends it on the other, and SIGKILLing one mid-load loses no
// acknowledged notification while the other keeps answering.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/etpay"
	"etpay-dashboard/etpay/sandbox"
	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

const (
	twoAdmin    = "admin@shop.cl"
	twoPassword = "a long enough password"
)

// instance is one running copy of the binary.
type instance struct {
	name, base string
	cmd        *exec.Cmd
	log        string // its standard error, shown when the test fails
}

func TestTwoInstances(t *testing.T) {
	testdb.RequirePostgres(t, "two instances of the binary on one database")
	if testing.Short() {
		t.Skip("builds and runs the real binary twice")
	}
	bin := filepath.Join(t.TempDir(), "etpay-dashboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// ETpay is one service outside both instances, as in production: the
	// sandbox served here, the instances in live mode against it. The
	// built-in sandbox (sandbox mode) keeps its sessions in the memory of
	// the instance that serves it, so the other instance could neither
	// show its funnel nor know its sessions: a single-instance tool.
	sb := sandbox.New(sandbox.Options{MerchantCode: "two_merchant", MerchantAPIToken: "two-instances-token-0123456789"})
	etpaySrv := httptest.NewServer(sb)
	t.Cleanup(func() { etpaySrv.Close(); sb.Close() })

	addrA, addrB := freeAddr(t), freeAddr(t)
	// One configuration for both, as behind a load balancer: the same
	// database, the same public BASE_URL; SESSION_SECRET unset, so the one
	// generated in the database is shared. Only LISTEN_ADDR differs.
	vars := map[string]string{
		"DATABASE_URL":             testdb.URL(t, "two.db"),
		"BASE_URL":                 "http://" + addrA,
		"ETPAY_API_URL":            etpaySrv.URL,
		"ETPAY_PMT_URL":            etpaySrv.URL,
		"ETPAY_MERCHANT_CODE":      "two_merchant",
		"ETPAY_MERCHANT_API_TOKEN": "two-instances-token-0123456789",
		"ADMIN_EMAIL":              twoAdmin,
		"ADMIN_PASSWORD":           twoPassword,
		"SESSION_SECRET":           "",
	}
	// Started together against an empty schema: they must not race.
	a, b := startInstances(t, bin, vars, addrA, addrB)
	waitListening(t, vars["DATABASE_URL"], 2)

	store := openTestStore(t, vars["DATABASE_URL"])
	prefix := "TI" + strings.ToUpper(rand.Text()[:6])
	pay := newPayments(t, store, vars, prefix, 203)

	login := logIn(t, a)
	t.Run("an event on A reaches a stream on B", func(t *testing.T) {
		eventCrossesInstances(t, a, b, login, pay[0])
	})
	t.Run("a login on A holds on B, a logout on B ends it on A", func(t *testing.T) {
		loginCrossesInstances(t, a, b, login)
	})
	t.Run("SIGKILL of A loses nothing acknowledged; B answers", func(t *testing.T) {
		killMidLoad(t, store, a, b, pay[1:3], pay[3:])
	})
}

// startInstances starts both instances at once and waits until each is
// ready; their logs are shown if the test fails.
func startInstances(t *testing.T, bin string, vars map[string]string, addrA, addrB string) (a, b *instance) {
	t.Helper()
	a = launch(t, bin, vars, "A", addrA)
	b = launch(t, bin, vars, "B", addrB)
	for _, in := range []*instance{a, b} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if code, _, err := get(client, in.base+"/readyz"); err == nil && code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %s did not become ready", in.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return a, b
}

// launch runs the binary on addr with vars, until the test ends.
func launch(t *testing.T, bin string, vars map[string]string, name, addr string) *instance {
	t.Helper()
	in := &instance{name: name, base: "http://" + addr, log: filepath.Join(t.TempDir(), name+".log")}
	logFile, err := os.Create(in.log)
	if err != nil {
		t.Fatal(err)
	}
	in.cmd = exec.Command(bin)
	in.cmd.Env = append(os.Environ(), "LISTEN_ADDR="+addr)
	for k, v := range vars {
		in.cmd.Env = append(in.cmd.Env, k+"="+v)
	}
	in.cmd.Stdout, in.cmd.Stderr = logFile, logFile
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.cmd.Process.Kill()
		in.cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(in.log)
			t.Logf("instance %s's log:\n%s", name, b)
		}
	})
	return in
}

// waitListening waits until n live-event listeners are on the database:
// each instance's relay listens on a connection of its own, opened beside
// the server, and /readyz does not wait for it. A listener's last statement
// is the sequence read that follows its LISTEN (or, after 30 quiet
// seconds, a ping).
func waitListening(t *testing.T, databaseURL string, n int) {
	t.Helper()
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var have int
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = 'etpay-dashboard live events'
			AND (query LIKE 'SELECT last_value%' OR query = '-- ping')`).Scan(&have)
		if err != nil {
			t.Fatal(err)
		}
		if have >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d live-event listeners after 10 s", have, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// payment is a pending session and the notification ETpay would send when
// it is paid.
type payment struct {
	session models.Session
	body    []byte
}

// newPayments makes n links with the CLI, opens each on the public URL (so
// ETpay, the sandbox, starts its session) and signs each one's first
// notification with the session's key, as ETpay does.
func newPayments(t *testing.T, store *models.Store, vars map[string]string, prefix string, n int) []payment {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("merchant_order_id,order_amount\n")
	for i := range n {
		fmt.Fprintf(&csv, "%s-%03d,%d\n", prefix, i, 1000+i)
	}
	r := runCmd(t, vars, "", "links", "import", writeFile(t, "links.csv", []byte(csv.String())))
	if r.err != nil {
		t.Fatalf("links import: %v\n%s", r.err, r.stderr)
	}
	noRedirect := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		u := line[strings.Index(line, "http://"):strings.LastIndex(line, ",")]
		resp, err := noRedirect.Get(u)
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("open link %s: %v %v", u, resp, err)
		}
		resp.Body.Close()
	}
	ctx := context.Background()
	// The schema is the test's own: its sessions are numbered from 1.
	var pay []payment
	for id := uint(1); len(pay) < n && id <= uint(2*n); id++ {
		s, err := store.SessionByID(ctx, id)
		if err != nil || !strings.HasPrefix(s.MerchantOrderID, prefix) {
			continue
		}
		key, err := store.SigningKey(ctx, s.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		token, err := etpay.SignNotification(etpay.NotificationClaims{
			SessionToken: s.SessionToken, MerchantOrderID: s.MerchantOrderID,
			PaymentToken: fmt.Sprintf("PT-%d", s.ID), PaymentStatus: etpay.StatusSuccess,
		}, key)
		if err != nil {
			t.Fatal(err)
		}
		pay = append(pay, payment{*s, []byte(`{"payment":"` + token + `"}`)})
	}
	if len(pay) != n {
		t.Fatalf("%d sessions for %d links", len(pay), n)
	}
	return pay
}

// notify posts a notification's body to an instance's webhook.
func notify(c *http.Client, in *instance, p payment) (int, error) {
	resp, err := c.Post(in.base+"/webhooks/etpay", "application/json", bytes.NewReader(p.body))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// checkPaid checks that a notification is stored and applied: the session
// paid with its payment token, its notification recorded as verified.
func checkPaid(t *testing.T, store *models.Store, p payment) {
	t.Helper()
	ctx := context.Background()
	s, err := store.SessionByID(ctx, p.session.ID)
	if err != nil || s.Status != models.StatusPaid || s.PaymentToken != fmt.Sprintf("PT-%d", p.session.ID) {
		t.Errorf("session %d (%s) was acknowledged but is %+v (%v)", p.session.ID, p.session.MerchantOrderID, s, err)
		return
	}
	notes, err := store.NotificationsForSession(ctx, p.session.ID)
	if err != nil || len(notes) == 0 || notes[0].Verdict != models.VerdictVerified {
		t.Errorf("session %d: acknowledged notification not recorded: %+v %v", p.session.ID, notes, err)
	}
}

// staffCookie is a browser's session cookie, carried by hand so that
// which instance gets it is the test's choice (cookies ignore ports).
type staffCookie struct{ header string }

// logIn signs in on an instance through /login, like a browser.
func logIn(t *testing.T, in *instance) staffCookie {
	t.Helper()
	var c staffCookie
	_, page := c.do(t, in, http.MethodGet, "/login", nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field on %s's /login", in.name)
	}
	form := url.Values{"csrf": {m[1]}, "email": {twoAdmin}, "password": {twoPassword}}
	resp, _ := c.do(t, in, http.MethodPost, "/login", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/sessions" {
		t.Fatalf("login on %s: %d to %q", in.name, resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

// do sends one request with the cookie, without following redirects, and
// keeps the cookie the answer sets.
func (c *staffCookie) do(t *testing.T, in *instance, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, in.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.header != "" {
		req.Header.Set("Cookie", c.header)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, in.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "etpay_dashboard" {
			c.header = ck.Name + "=" + ck.Value
		}
	}
	return resp, string(body)
}
