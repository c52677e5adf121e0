package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"etpay-dashboard/etpay"
	"etpay-dashboard/etpay/sandbox"
	"etpay-dashboard/models"
)

// TestCrashKeepsEveryAcknowledgedNotification kills the real server with
// SIGKILL while notifications arrive, restarts it, and checks that every
// notification it answered 2xx is recorded and applied, and that the
// database is intact.
func TestCrashKeepsEveryAcknowledgedNotification(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := filepath.Join(t.TempDir(), "etpay-dashboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sb := sandbox.New(sandbox.Options{MerchantCode: "crash_merchant", MerchantAPIToken: "crash-test-token-0123456789"})
	etpaySrv := httptest.NewServer(sb)
	defer etpaySrv.Close()
	defer sb.Close()

	addr := freeAddr(t)
	base := "http://" + addr
	vars := map[string]string{
		"DATABASE_URL":             filepath.Join(t.TempDir(), "crash.db"),
		"LISTEN_ADDR":              addr,
		"BASE_URL":                 base,
		"ETPAY_API_URL":            etpaySrv.URL,
		"ETPAY_PMT_URL":            etpaySrv.URL,
		"ETPAY_MERCHANT_CODE":      "crash_merchant",
		"ETPAY_MERCHANT_API_TOKEN": "crash-test-token-0123456789",
		"ADMIN_EMAIL":              "admin@shop.cl",
		"ADMIN_PASSWORD":           "a long enough password",
	}
	server := startBinary(t, bin, vars, base)

	// Links made with the CLI while the server runs, each opened once so
	// ETpay (the sandbox) starts its session.
	const links = 120
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	for i := range links {
		r := runCmd(t, vars, "", "links", "create", "--order", fmt.Sprintf("OC-%03d", i), "--amount", "1000")
		if r.err != nil {
			t.Fatal(r.err)
		}
		resp, err := noRedirect.Get(lastLine(r.stdout))
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("open link %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	store := openTestStore(t, vars["DATABASE_URL"])
	sessions, err := store.ListSessions(context.Background(), models.SessionPage{Limit: links})
	if err != nil || len(sessions) != links {
		t.Fatalf("want %d sessions, got %d (%v)", links, len(sessions), err)
	}
	bodies := make([]string, len(sessions))
	for i, s := range sessions {
		key, err := store.SigningKey(context.Background(), s.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		token, _ := etpay.SignNotification(etpay.NotificationClaims{
			SessionToken: s.SessionToken, MerchantOrderID: s.MerchantOrderID,
			PaymentToken: fmt.Sprintf("PT-%d", s.ID), PaymentStatus: etpay.StatusSuccess,
		}, key)
		bodies[i] = `{"payment":"` + token + `"}`
	}

	// Eight senders deliver notifications; the server is killed mid-stream.
	var acked sync.Map // session token -> true once answered 2xx
	var ackCount atomic.Int32
	next := atomic.Int32{}
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				resp, err := client.Post(base+"/webhooks/etpay", "", strings.NewReader(bodies[i]))
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					acked.Store(sessions[i].SessionToken, true)
					ackCount.Add(1)
				}
			}
		}()
	}
	for waited := time.Now(); ackCount.Load() < 20; time.Sleep(time.Millisecond) {
		if time.Since(waited) > 30*time.Second {
			t.Fatalf("only %d notifications acknowledged in 30 s", ackCount.Load())
		}
	}
	if err := server.Process.Kill(); err != nil { // SIGKILL: no chance to clean up
		t.Fatal(err)
	}
	server.Wait()
	wg.Wait()
	n := int(ackCount.Load())
	if n == len(bodies) {
		t.Fatalf("every notification was answered before the kill: the test proves nothing")
	}
	t.Logf("%d of %d notifications acknowledged before SIGKILL", n, len(bodies))

	startBinary(t, bin, vars, base)
	store = openTestStore(t, vars["DATABASE_URL"])
	if result, err := store.IntegrityCheck(context.Background()); err != nil || result != "ok" {
		t.Fatalf("integrity_check after the crash: %q %v", result, err)
	}
	for _, s := range sessions {
		if _, ok := acked.Load(s.SessionToken); !ok {
			continue
		}
		after, err := store.SessionByID(context.Background(), s.ID)
		if err != nil || after.Status != models.StatusPaid || after.PaymentToken != fmt.Sprintf("PT-%d", s.ID) {
			t.Errorf("session %d was acknowledged but is %+v (%v)", s.ID, after, err)
			continue
		}
		notes, err := store.NotificationsForSession(context.Background(), s.ID)
		if err != nil || len(notes) == 0 || notes[0].Verdict != models.VerdictVerified {
			t.Errorf("session %d: acknowledged notification not recorded: %+v %v", s.ID, notes, err)
		}
	}
}

// startServer runs the binary until the test ends, and waits until it is ready.
func startBinary(t *testing.T, bin string, vars map[string]string, base string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the server did not become ready")
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
