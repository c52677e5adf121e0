package main

// wrk for the load script (issue 15): Debian's wrk sends the ingest
// workloads (-t2 -c32), each first delivery exactly once, from
// testdata/wrk_deliveries.lua, and measures /healthz beside them. The Go
// client tops out well below the server on /healthz (~31–37k/s against
// wrk's ~63–80k/s on the same server), so wrk keeps the client out of the
// figures. .ci/load installs wrk when it is missing and runs as root.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	wrkThreads = 2
	wrkConns   = 32
	wrkScript  = "testdata/wrk_deliveries.lua"
	wrkMaxTime = "600s"
)

// wrkSummary is the JSON line wrk_deliveries.lua's done() prints.
type wrkSummary struct {
	Sent          int    `json:"sent"`
	SentByThread  []int  `json:"sent_by_thread"`
	Answered      int    `json:"answered"`
	Non2xx        int    `json:"non2xx"`
	FirstBad      string `json:"first_bad"`
	Requests      int    `json:"requests"`
	P50us         int64  `json:"p50_us"`
	P99us         int64  `json:"p99_us"`
	MaxUs         int64  `json:"max_us"`
	ConnectErrors int    `json:"connect_errors"`
	ReadErrors    int    `json:"read_errors"`
	WriteErrors   int    `json:"write_errors"`
	Timeouts      int    `json:"timeouts"`
}

// wrkPath is the wrk binary, or "" when there is none.
func wrkPath() string {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return ""
	}
	return p
}

// wrkDeliveries POSTs each body once to the server's /webhooks/etpay with
// wrk (see wrkDeliveriesTo).
func (r *loadRun) wrkDeliveries(name string, bodies [][]byte) (wrkSummary, time.Duration) {
	return r.wrkDeliveriesTo(name, r.base+"/webhooks/etpay", bodies)
}

// wrkDeliveriesTo POSTs each body once to url with wrk, the bodies split
// between its threads in turn (so both walk them in order), and returns
// what it measured: elapsed runs from the first thread's first request to
// the last thread's last answer, which each thread prints as it happens.
// Thread k sends bodies k, k+wrkThreads, ... in that order (see sentBodies).
func (r *loadRun) wrkDeliveriesTo(name, url string, bodies [][]byte) (wrkSummary, time.Duration) {
	dir, err := os.MkdirTemp(filepath.Dir(r.db), "wrk-")
	if err != nil {
		r.t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for k := 0; k < wrkThreads; k++ {
		var b strings.Builder
		for i := k; i < len(bodies); i += wrkThreads {
			b.Write(bodies[i])
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("bodies-%d.txt", k)), []byte(b.String()), 0o600); err != nil {
			r.t.Fatal(err)
		}
	}
	// -d bounds the run: a thread whose answer never comes (a dropped
	// connection) never prints "done", and wrk then ends after -d.
	cmd := exec.Command(r.wrk, "-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(wrkConns), "-d", wrkMaxTime,
		"--timeout", "30s", "-s", wrkScript, url, "--", dir)
	lines := r.startWrk(cmd)
	var start, end time.Time
	var sum wrkSummary
	var other []string
	done := 0
	for l := range lines {
		switch {
		case strings.HasPrefix(l.text, "start "):
			if start.IsZero() {
				start = l.at
			}
		case strings.HasPrefix(l.text, "done "):
			done++
			end = l.at
			if done == wrkThreads {
				_ = cmd.Process.Signal(syscall.SIGINT) // wrk sleeps for all of -d otherwise
			}
		case strings.HasPrefix(l.text, "{"):
			if err := json.Unmarshal([]byte(l.text), &sum); err != nil {
				r.t.Fatalf("wrk %s: %v in %q", name, err, l.text)
			}
		default:
			other = append(other, l.text)
		}
	}
	if err := cmd.Wait(); err != nil || start.IsZero() {
		r.t.Fatalf("wrk %s: %v; wrk said:\n%s", name, err, strings.Join(other, "\n"))
	}
	if done < wrkThreads {
		r.t.Logf("wrk %s: %d of %d threads got every answer in %s; wrk said:\n%s", name, done, wrkThreads, wrkMaxTime, strings.Join(other, "\n"))
		end = time.Now()
	}
	return sum, end.Sub(start)
}

// wrkLine is one line of wrk's output and when it was read.
type wrkLine struct {
	text string
	at   time.Time
}

// startWrk starts cmd and returns its output lines, timed as they arrive;
// the channel closes when wrk closes its output.
func (r *loadRun) startWrk(cmd *exec.Cmd) <-chan wrkLine {
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	lines := make(chan wrkLine, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- wrkLine{sc.Text(), time.Now()}
		}
	}()
	return lines
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrkHealthz is the same server's /healthz under the same wrk, for
// context: the cheapest answer it gives at 32 connections.
func (r *loadRun) wrkHealthz() float64 {
	out, err := exec.Command(r.wrk, "-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(wrkConns), "-d", "3s",
		r.base+"/healthz").CombinedOutput()
	m := wrkRate.FindSubmatch(out)
	if err != nil || m == nil {
		r.t.Fatalf("wrk /healthz: %v\n%s", err, out)
	}
	rate, _ := strconv.ParseFloat(string(m[1]), 64)
	r.t.Logf("/healthz by wrk: %.0f req/s", rate)
	return rate
}

// serverUsage is what the server process and the disk had done at one
// moment: the ingest figures are differences of two.
type serverUsage struct {
	wchar   int64
	sectors int64 // the device's sectors written; -1 when unknown
	cpu     time.Duration
}

func (r *loadRun) serverUsage() serverUsage { return r.usageOf(r.cmd.Process.Pid) }

// usageOf is what process pid and the disk had done at one moment.
func (r *loadRun) usageOf(pid int) serverUsage {
	return serverUsage{wchar: writtenBytes(pid), sectors: sectorsWritten(r.device), cpu: processCPU(pid)}
}

// clockTick is the length of one clock tick of /proc/<pid>/stat.
var clockTick = func() time.Duration {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	hz, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || hz <= 0 {
		hz = 100
	}
	return time.Second / time.Duration(hz)
}()

// processCPU is the user + system CPU time pid has used so far.
func processCPU(pid int) time.Duration {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	// The command name may hold spaces: fields count from after its ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// deviceOf is the block device holding dir's filesystem, by its
// /sys/dev/block name ("254:0"), or "" when there is none (tmpfs, overlay).
func deviceOf(dir string) string {
	var st syscall.Stat_t
	if syscall.Stat(dir, &st) != nil {
		return ""
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	name := fmt.Sprintf("%d:%d", major, minor)
	if _, err := os.Stat("/sys/dev/block/" + name + "/stat"); err != nil {
		return ""
	}
	return name
}

// sectorsWritten is the device's sectors written so far (the 7th field of
// its stat file, 512 bytes each), -1 when unknown. The device is shared:
// anything else writing to it meanwhile is counted too.
func sectorsWritten(device string) int64 {
	if device == "" {
		return -1
	}
	b, err := os.ReadFile("/sys/dev/block/" + device + "/stat")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 7 {
		return -1
	}
	n, err := strconv.ParseInt(f[6], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// sentBodies are the bodies wrk sent, in their order: thread k sent the
// first sum.SentByThread[k] of bodies k, k+wrkThreads, ... All of them
// unless -d ran out.
func sentBodies(bodies [][]byte, sum wrkSummary) [][]byte {
	if len(sum.SentByThread) != wrkThreads {
		return nil
	}
	var sent [][]byte
	for i, b := range bodies {
		if i/wrkThreads < sum.SentByThread[i%wrkThreads] {
			sent = append(sent, b)
		}
	}
	return sent
}
