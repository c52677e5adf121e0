package main

// The honest ceiling of notification ingest (issue 15): the reference
// commits 256 notifications at a time, but wrk -c32 keeps at most 32 in
// flight, so the app's groups can hold no more than 32. The load script
// reads the writer's group sizes around each workload (the server logs
// them on SIGUSR1), re-runs the reference at those sizes, and prints,
// for information, both that figure and the CPU the target rate leaves a
// notification on this machine. The targets stay against the
// reference's groups of 256.

import (
	"fmt"
	"math"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
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
// and the CPU budget a notification has at the target rate.
func (r *loadRun) ceiling(recent, random int, ds map[string]delivery, refs map[string]refResult) {
	dr, do := ds[recentWorkload.key], ds[randomWorkload.key]
	if dr.groups.Groups == 0 || do.groups.Groups == 0 {
		r.add("notifications per commit", "unknown", "", "the server did not report its group sizes", true)
		return
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
}

// runReference builds and runs .ci/reference on the same disk with the
// same numbers of sessions and extra flags, and returns its figures by
// workload.
func (r *loadRun) runReference(recent, random int, flags ...string) map[string]refResult {
	dir := filepath.Dir(r.db)
	bin := filepath.Join(dir, "reference")
	if _, err := os.Stat(bin); err != nil {
		build := exec.Command("go", "build", "-o", bin, "./.ci/reference")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			r.t.Fatalf("build the reference: %v", err)
		}
	}
	args := append([]string{"-dir", dir, "-sessions", strconv.Itoa(loadSessions),
		"-recent", strconv.Itoa(recent), "-random", strconv.Itoa(random)}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("reference: %v\n%s", err, out)
	}
	return r.referenceFigures(out)
}
