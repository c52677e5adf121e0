package main

// The flood test: it builds the real binary, starts it on loopback, holds
// 2,000 connections that declare request bodies they never send (or send
// slowly), and checks that the server's memory stays bounded, that a signed
// notification still gets through at once, and that the memory is handed back
// once the connections close; and that no request, however slow, holds its
// connection past the read timeout. It needs FLOOD=1 (see .ci/run) and takes
// well under a minute.

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"etpay-dashboard/models"
)

const (
	floodConns = 2000
	// floodRSSLimit is the most the server may hold while the flood is open.
	floodRSSLimit = 150.0 // MB
	// floodHold is how long every connection is held open together.
	floodHold = 3 * time.Second
	// floodCut is when every flood request must have been answered or
	// closed: the server's read timeout (10 s) from its first byte, and some.
	floodCut = 13 * time.Second
)

// floodVariants are the requests the flood opens, one connection each in
// turn: headers that promise a body, and then nothing, or a trickle.
var floodVariants = []struct {
	name, head string
	slow       bool
}{
	{"webhook declaring 2,000,000 bytes", "POST /webhooks/etpay HTTP/1.1\r\nHost: flood\r\nContent-Length: 2000000\r\n\r\n", false},
	{"webhook declaring just under 64 KiB", "POST /webhooks/etpay HTTP/1.1\r\nHost: flood\r\nContent-Length: 65535\r\n\r\n", false},
	{"webhook chunked, no chunk", "POST /webhooks/etpay HTTP/1.1\r\nHost: flood\r\nTransfer-Encoding: chunked\r\n\r\n", false},
	{"webhook with a slow body", "POST /webhooks/etpay HTTP/1.1\r\nHost: flood\r\nContent-Length: 60000\r\n\r\n{\"payment\":\"", true},
	{"login form declaring 2,000,000 bytes", "POST /login HTTP/1.1\r\nHost: flood\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000000\r\n\r\n", false},
	{"slow headers", "POST /webhooks/etpay HTTP/1.1\r\nHost: flood\r\nX-Slow: ", true},
}

func TestFlood(t *testing.T) {
	if os.Getenv("FLOOD") == "" {
		t.Skip("flood test: run with FLOOD=1 go test -run '^TestFlood' -count=1 . (as .ci/run does)")
	}
	raiseFileLimit(t, floodConns+1000)
	dir := t.TempDir()
	bin := filepath.Join(dir, "etpay-dashboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	// Sandbox mode: no ETpay settings (blanked, in case the environment has them).
	vars := map[string]string{
		"DATABASE_URL": filepath.Join(dir, "flood.db"), "LISTEN_ADDR": addr, "BASE_URL": base,
		"ADMIN_EMAIL": "admin@shop.cl", "ADMIN_PASSWORD": "a long enough password",
		"ETPAY_API_URL": "", "ETPAY_PMT_URL": "", "ETPAY_MERCHANT_CODE": "", "ETPAY_MERCHANT_API_TOKEN": "",
	}
	server := startBinary(t, bin, vars, base)
	pid := server.Process.Pid
	if r := runCmd(t, vars, "", "seed", "--sessions", "200"); r.err != nil {
		t.Fatalf("seed: %v\n%s", r.err, r.stderr)
	}
	pending, err := openTestStore(t, vars["DATABASE_URL"]).DemoSessions(context.Background(), models.StatusPending, 1)
	if err != nil || len(pending) == 0 {
		t.Fatalf("no pending demo session: %v", err)
	}
	notification := signedBody(t, &pending[0])

	// Warm up as a normal day would, then take the baseline.
	for range 50 {
		if code, _, err := get(http.DefaultClient, base+"/healthz"); err != nil || code != 200 {
			t.Fatalf("/healthz: %d %v", code, err)
		}
	}
	time.Sleep(500 * time.Millisecond)

	// Open the flood while sampling the server's RSS.
	stopSampling := sampleRSS(pid)
	conns := openFlood(t, addr)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	opened := time.Now()
	stopTrickle := trickle(conns)

	// ETpay's notification, sent while every flood connection is open.
	time.Sleep(floodHold / 2)
	sent := time.Now()
	status, answer, err := postOnce(base+"/webhooks/etpay", notification, time.Second)
	took := time.Since(sent)
	time.Sleep(floodHold - time.Since(opened))
	still := stillOpen(conns)
	baseline, during := stopSampling()
	// However slowly they send, none holds its connection past the read timeout.
	time.Sleep(floodCut - time.Since(opened))
	stopTrickle()
	uncut := stillOpen(conns)

	for _, c := range conns {
		c.Close()
	}
	conns = nil
	// The memory goes back within a few seconds of the flood's end.
	var after float64
	fallback := baseline + max(30, (during-baseline)/3)
	for deadline := time.Now().Add(20 * time.Second); ; {
		time.Sleep(500 * time.Millisecond)
		after = rssMB(pid)
		if after <= fallback || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("server RSS: %.0f MB before, %.0f MB peak with %d of %d flood connections open, %.0f MB after they closed",
		baseline, during, still, floodConns, after)
	t.Logf("signed notification during the flood: %d %q in %v", status, answer, took.Round(time.Millisecond))

	if err != nil || status/100 != 2 || took > time.Second {
		t.Errorf("signed notification during the flood: %d %q %v after %v, want 2xx within 1 s", status, answer, err, took)
	}
	if still < floodConns*9/10 {
		t.Errorf("only %d of %d flood connections were still open at the end of the hold: the test did not hold the flood", still, floodConns)
	}
	if uncut > 0 {
		t.Errorf("%d flood connections were still open %v after they opened, want none", uncut, floodCut)
	}
	if during >= floodRSSLimit {
		t.Errorf("server RSS reached %.0f MB during the flood, want < %.0f MB", during, floodRSSLimit)
	}
	if after > fallback {
		t.Errorf("server RSS %.0f MB 20 s after the flood closed, want it back under %.0f MB (baseline %.0f MB)", after, fallback, baseline)
	}
	if code, _, err := get(http.DefaultClient, base+"/healthz"); err != nil || code != 200 {
		t.Errorf("/healthz after the flood: %d %v", code, err)
	}
}

// openFlood opens floodConns connections, each sending one variant's head.
func openFlood(t *testing.T, addr string) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, floodConns)
	errs := make(chan error, floodConns)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					errs <- err
					continue
				}
				if _, err := io.WriteString(c, floodVariants[i%len(floodVariants)].head); err != nil {
					errs <- err
				}
				conns[i] = c
			}
		}()
	}
	for i := range conns {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		t.Fatalf("opening the flood: %v", err)
	}
	return conns
}

// trickle sends one byte every half second on the slow variant's
// connections until stopped.
func trickle(conns []net.Conn) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				for i, c := range conns {
					if floodVariants[i%len(floodVariants)].slow {
						c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
						c.Write([]byte("a"))
					}
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// stillOpen counts the connections the server has neither answered nor closed.
func stillOpen(conns []net.Conn) int {
	var n atomic.Int32
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1)
			for i := w; i < len(conns); i += 64 {
				conns[i].SetReadDeadline(time.Now().Add(5 * time.Millisecond))
				_, err := conns[i].Read(buf)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(n.Load())
}

// postOnce sends one webhook POST on a fresh connection.
func postOnce(url string, body []byte, timeout time.Duration) (int, string, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// raiseFileLimit lifts this process's open-file limit to at least n, or
// skips the test when the hard limit is lower.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("the open-file hard limit is %d; the flood needs %d", lim.Max, n)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}
