package main

// The honest ceiling of notification ingest (issue 15): the reference
// commits 256 notifications at a time, but wrk -c32 keeps at most 32 in
// flight, so the app's groups can hold no more than 32. The load script
// reads the writer's group sizes around each workload (the server logs
// them on SIGUSR1), re-runs the reference at those sizes, and prints,
// for information, both that figure and the CPU the target rate leaves a
// notification on this machine. Then it drives the bare HTTP ceiling
// (.ci/reference -http: the reference's durable work behind Fiber and a JWT
// check, answering after each group's commit) with the same wrk and Lua,
// and prints its figures beside the app's. The targets stay against
// the reference's groups of 256.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// groupsLine is the server's answer to SIGUSR1 (notegroups_unix.go).
var groupsLine = regexp.MustCompile(`msg="notification groups" groups=(\d+) notifications=(\d+) mean=\S+ by_size="([^"]*)"`)

// noteGroups asks the server for its writer's group sizes so far and
// reads them from its log; ok is false when it did not answer.
func (r *loadRun) noteGroups() (g models.NoteGroups, ok bool) {
	count := func() [][]string {
		b, _ := os.ReadFile(r.logFile.Name())
		return groupsLine.FindAllStringSubmatch(string(b), -1)
	}
	before := len(count())
	if err := r.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return g, false
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		lines := count()
		if len(lines) <= before {
			continue
		}
		m := lines[len(lines)-1]
		g.Groups, _ = strconv.ParseInt(m[1], 10, 64)
		g.Notifications, _ = strconv.ParseInt(m[2], 10, 64)
		for _, f := range strings.Fields(m[3]) {
			size, n, _ := strings.Cut(f, ":")
			lo, _, _ := strings.Cut(size, "-")
			i, _ := strconv.Atoi(lo)
			c, _ := strconv.ParseInt(n, 10, 64)
			if b := bits.Len(uint(i)) - 1; b >= 0 && b < len(g.BySize) {
				g.BySize[b] = c
			}
		}
		return g, true
	}
	return g, false
}

// ceiling adds, for information, each workload's group sizes, the
// reference re-run at the app's mean group size beside the app's rate,
// and the CPU budget a notification has at the target rate. It returns
// the reference's figures at the app's group sizes (none when the server
// did not report them).
func (r *loadRun) ceiling(recent, random int, ds map[string]delivery, refs map[string]refResult) map[string]refResult {
	dr, do := ds[recentWorkload.key], ds[randomWorkload.key]
	if dr.groups.Groups == 0 || do.groups.Groups == 0 {
		r.add("notifications per commit", "unknown", "", "the server did not report its group sizes", true)
		return nil
	}
	size := func(d delivery) int { return max(1, int(math.Round(d.groups.Mean()))) }
	at := r.runReference(recent, random, "-group", strconv.Itoa(size(dr)), "-random-group", strconv.Itoa(size(do)))
	cores := float64(runtime.NumCPU())
	for _, w := range []workload{recentWorkload, randomWorkload} {
		d, ref, same := ds[w.key], refs[w.key], at[w.key]
		r.add(w.name+": notifications per commit", fmt.Sprintf("%.1f", d.groups.Mean()), "",
			fmt.Sprintf("%d groups; by size %s (wrk -c%d: at most %d in flight)", d.groups.Groups, d.groups, wrkConns, wrkConns), true)
		r.add(w.name+": reference, app's group size", fmt.Sprintf("%.0f/s", same.PerSecond), "",
			fmt.Sprintf("groups of %d: the app is %.3fx of it (%.0f/s); the target is judged against groups of 256 (%.0f/s)",
				size(d), d.rate()/same.PerSecond, d.rate(), ref.PerSecond), true)
		rate := w.target * ref.PerSecond
		all, http := cores*1e6/rate, cores*1e6/d.healthz
		r.add(w.name+": CPU budget at the target", fmt.Sprintf("%.0f µs", all-http), "",
			fmt.Sprintf("%.0f cores / %.0f/s = %.0f µs a notification, less %.0f µs for wrk and an HTTP round trip (/healthz by wrk %.0f/s); the server spends %.0f µs",
				cores, rate, all, http, d.healthz, float64(d.cpuEach.Microseconds())), true)
	}
	return at
}

// runReference builds and runs .ci/reference on the same disk with the
// same numbers of sessions and extra flags, and returns its figures by
// workload.
func (r *loadRun) runReference(recent, random int, flags ...string) map[string]refResult {
	args := append([]string{"-dir", filepath.Dir(r.db), "-sessions", strconv.Itoa(loadSessions),
		"-recent", strconv.Itoa(recent), "-random", strconv.Itoa(random)}, flags...)
	cmd := exec.Command(r.referenceBinary(), args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("reference: %v\n%s", err, out)
	}
	return r.referenceFigures(out)
}

// referenceBinary builds .ci/reference beside the test's database once and
// returns its path.
func (r *loadRun) referenceBinary() string {
	bin := filepath.Join(filepath.Dir(r.db), "reference")
	if _, err := os.Stat(bin); err != nil {
		build := exec.Command("go", "build", "-o", bin, "./.ci/reference")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			r.t.Fatalf("build the reference: %v", err)
		}
	}
	return bin
}

// bareCeiling runs the bare HTTP program on both workloads, right after the
// app's, and adds its figures for information: its rate against the
// reference's at groups of 256 (the yardstick) and the app's rate
// against it; then against the reference at the app's group sizes (at,
// when measured), run minutes later and so less apart in the machine's load.
func (r *loadRun) bareCeiling(recent, random int, ds map[string]delivery, refs, at map[string]refResult) {
	bare := r.runBare(recent, random)
	for _, w := range []workload{recentWorkload, randomWorkload} {
		d, app, ref := bare[w.key], ds[w.key], refs[w.key]
		same := ""
		if s, ok := at[w.key]; ok {
			same = fmt.Sprintf("; %.3fx of the reference at groups of %d (%.0f/s)", d.rate()/s.PerSecond, s.Group, s.PerSecond)
		}
		r.add(w.name+": bare HTTP ceiling", fmt.Sprintf("%.0f/s", d.rate()), "",
			fmt.Sprintf("%.3fx of the reference's %.0f/s (groups of 256); the app is %.3fx of it (%.0f/s)%s; non-2xx or unanswered %d of %d",
				d.rate()/ref.PerSecond, ref.PerSecond, app.rate()/d.rate(), app.rate(), same, d.non2xx, d.sent), true)
		r.add(w.name+": bare HTTP, each", fmt.Sprintf("%.0f µs", float64(d.cpuEach.Microseconds())), "",
			fmt.Sprintf("its CPU a notification (the app %.0f µs); p50 %v p99 %v; %.1f notifications per commit (%d groups); %.1f KB written (wchar)",
				float64(app.cpuEach.Microseconds()), d.p50.Round(100*time.Microsecond), d.p99.Round(100*time.Microsecond),
				d.groups.Mean(), d.groups.Groups, d.wcharEach/1024), true)
	}
}

// bareRun is the bare HTTP program (.ci/reference -http) while it serves.
type bareRun struct {
	cmd    *exec.Cmd
	base   string
	bodies map[string][][]byte // by workload key, in the order to send
}

// runBare starts the bare HTTP program with flags, sends it both workloads
// with wrk as the app's are sent, stops it, and returns what each measured.
func (r *loadRun) runBare(recent, random int, flags ...string) map[string]delivery {
	b := r.startBare(recent, random, flags...)
	defer b.stop()
	ds := map[string]delivery{}
	for _, w := range []workload{recentWorkload, randomWorkload} {
		r.t.Logf("bare HTTP %s: load average %s", w.name, loadAverage())
		b.call(r.t, http.MethodPost, "/checkpoint") // each workload from an empty WAL, as the reference's
		groups := b.groups(r.t)
		before := r.usageOf(b.cmd.Process.Pid)
		sum, elapsed := r.wrkDeliveriesTo("bare "+w.name, b.base+"/webhooks/etpay", b.bodies[w.key])
		after := r.usageOf(b.cmd.Process.Pid)
		d := r.measured("bare HTTP "+w.name, sum, elapsed, len(b.bodies[w.key]), before, after)
		d.groups = b.groups(r.t).Since(groups)
		r.t.Logf("bare HTTP %s: %.0f µs CPU each, %.1f notifications per commit (%d groups), %.1f KB written each (wchar)",
			w.name, float64(d.cpuEach.Microseconds()), d.groups.Mean(), d.groups.Groups, d.wcharEach/1024)
		ds[w.key] = d
	}
	return ds
}

// startBare starts .ci/reference -http on the test's disk with the load
// script's numbers of sessions and reads the bodies it signed.
func (r *loadRun) startBare(recent, random int, flags ...string) *bareRun {
	args := append([]string{"-http", "-dir", filepath.Dir(r.db), "-sessions", strconv.Itoa(loadSessions),
		"-recent", strconv.Itoa(recent), "-random", strconv.Itoa(random)}, flags...)
	b := &bareRun{cmd: exec.Command(r.referenceBinary(), args...), bodies: map[string][][]byte{}}
	b.cmd.Stderr = os.Stderr
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(b.stop) // a run that fails half-way leaves no server behind
	line, err := bufio.NewReader(out).ReadBytes('\n')
	var ready struct {
		Listen string            `json:"listen"`
		Bodies map[string]string `json:"bodies"`
	}
	if err != nil || json.Unmarshal(line, &ready) != nil {
		r.t.Fatalf("reference -http: %v, said %q", err, line)
	}
	b.base = "http://" + ready.Listen
	for key, path := range ready.Bodies {
		data, err := os.ReadFile(path)
		if err != nil {
			r.t.Fatal(err)
		}
		b.bodies[key] = bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	}
	return b
}

// stop ends the program (SIGTERM, then SIGKILL after 15 s); once is enough.
func (b *bareRun) stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

// call asks the program's route path and returns its answer.
func (b *bareRun) call(t *testing.T, method, path string) []byte {
	req, _ := http.NewRequest(method, b.base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("reference -http %s: %v", path, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reference -http %s: %s %s", path, resp.Status, body.Bytes())
	}
	return body.Bytes()
}

// groups is how many groups the program's writer has committed and how many
// notifications they held.
func (b *bareRun) groups(t *testing.T) models.NoteGroups {
	var g struct {
		Groups        int64 `json:"groups"`
		Notifications int64 `json:"notifications"`
	}
	if err := json.Unmarshal(b.call(t, http.MethodGet, "/groups"), &g); err != nil {
		t.Fatalf("reference -http /groups: %v", err)
	}
	return models.NoteGroups{Groups: g.Groups, Notifications: g.Notifications}
}

// TestLoadBareHTTP runs the bare HTTP program alone, on the load script's
// workloads, to split its cost: LOADTEST_BARE=full (as the load script runs
// it), jwt (the JWT check skipped) or write (answered at once, no writer).
// Its figures are logged, for docs/performance.md:
//
//	LOADTEST=1 LOADTEST_BARE=jwt go test -run TestLoadBareHTTP -v -timeout 10m .
func TestLoadBareHTTP(t *testing.T) {
	mode := os.Getenv("LOADTEST_BARE")
	if os.Getenv("LOADTEST") == "" || mode == "" {
		t.Skip("the bare HTTP ceiling alone: LOADTEST=1 LOADTEST_BARE=full|jwt|write go test -run TestLoadBareHTTP -v .")
	}
	wrk := wrkPath()
	if wrk == "" {
		t.Skip("wrk is not installed")
	}
	dir := t.TempDir()
	r := &loadRun{t: t, db: filepath.Join(dir, "load.db"), wrk: wrk, device: deviceOf(dir)}
	var flags []string
	if mode != "full" {
		flags = []string{"-skip", mode}
	}
	t.Logf("machine: %d CPUs, load average %s; the bare HTTP program %s", runtime.NumCPU(), loadAverage(), strings.Join(append([]string{"-http"}, flags...), " "))
	r.runBare(freshLinks, randomOld, flags...)
}
