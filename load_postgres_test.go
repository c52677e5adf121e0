package main

// The load script on PostgreSQL (issue 16, bash .ci/load --postgres): the
// same TestLoad with the server's DATABASE_URL on a throwaway cluster, and
// one more figure that only a shared database allows: a second instance of
// the binary on the same database, the recent first-delivery workload split
// between the two.

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"etpay-dashboard/models"
)

// twoInstanceLinks is how many fresh links each half of the two-instance
// phase notifies: one instance alone first, then two instances together.
const twoInstanceLinks = 20_000

// postgresVersion is the PostgreSQL server's version line, from the newest
// Debian server binaries (.ci/postgres starts those).
func postgresVersion() string {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		return "(version unknown)"
	}
	out, err := exec.Command(bins[len(bins)-1], "--version").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(out))
}

// twoInstances adds 2 × twoInstanceLinks links opened minutes ago, sends the
// first half's first deliveries to the running instance alone, then starts
// a second instance of the binary on the same database and sends the second
// half split between the two at once (one wrk -t2 -c32 against each, as
// behind a load balancer), and adds both figures side by side.
func (r *loadRun) twoInstances(store *models.Store) {
	if r.wrk == "" {
		r.add("two instances: first deliveries, recent", "skipped", "", "wrk is not installed", true)
		return
	}
	fresh := r.freshSessions(store, 2*twoInstanceLinks)
	one, two := signedBodies(r.t, fresh[:twoInstanceLinks]), signedBodies(r.t, fresh[twoInstanceLinks:])

	r.t.Logf("two instances: load average %s", loadAverage())
	sum, elapsed := r.wrkDeliveries("one instance", one)
	single := delivery{answered: sum.Answered, non2xx: sum.Non2xx + len(one) - sum.Answered, elapsed: elapsed,
		p99: time.Duration(sum.P99us) * time.Microsecond}

	second, stop := r.startSecond()
	defer stop()
	halves := [2][][]byte{}
	for i, b := range two {
		halves[i%2] = append(halves[i%2], b)
	}
	var sums [2]wrkSummary
	var times [2]time.Duration
	var wg sync.WaitGroup
	for k, run := range []*loadRun{r, second} {
		wg.Add(1)
		go func() {
			defer wg.Done() // also when wrkDeliveries fails the test
			sums[k], times[k] = run.wrkDeliveries(fmt.Sprintf("instance %d of 2", k+1), halves[k])
		}()
	}
	wg.Wait()
	// Both wrk start together: the combined run lasts as long as the longer.
	both := delivery{answered: sums[0].Answered + sums[1].Answered, elapsed: max(times[0], times[1]),
		p99: time.Duration(max(sums[0].P99us, sums[1].P99us)) * time.Microsecond}
	both.non2xx = sums[0].Non2xx + sums[1].Non2xx + len(two) - both.answered
	r.twoInstanceFigures(single, both, sums, times)
}

// twoInstanceFigures adds the one-instance and the two-instance lines.
func (r *loadRun) twoInstanceFigures(single, both delivery, sums [2]wrkSummary, times [2]time.Duration) {
	r.add("one instance: first deliveries, recent", fmt.Sprintf("%.0f/s", single.rate()), "",
		fmt.Sprintf("p99 %v; non-2xx %d; n=%d (wrk -t%d -c%d)", single.p99.Round(100*time.Microsecond), single.non2xx, single.answered, wrkThreads, wrkConns), true)
	r.add("two instances: first deliveries, recent, combined", fmt.Sprintf("%.0f/s", both.rate()), "",
		fmt.Sprintf("%.2fx one instance; instance 1 %d in %v, instance 2 %d in %v (a wrk -t%d -c%d each)",
			both.rate()/single.rate(), sums[0].Answered, times[0].Round(time.Millisecond), sums[1].Answered, times[1].Round(time.Millisecond), wrkThreads, wrkConns), true)
	r.add("two instances: p99 (the worse of the two)", both.p99.Round(100*time.Microsecond).String(), "<= 50ms",
		fmt.Sprintf("instance 1 %v, instance 2 %v; one instance %v", (time.Duration(sums[0].P99us)*time.Microsecond).Round(100*time.Microsecond),
			(time.Duration(sums[1].P99us)*time.Microsecond).Round(100*time.Microsecond), single.p99.Round(100*time.Microsecond)), both.p99 <= 50*time.Millisecond)
	r.add("two instances: non-2xx answers", fmt.Sprint(both.non2xx), "0", "", both.non2xx == 0)
}

// startSecond starts a second instance of the binary on the same database
// and configuration, on its own loopback port, and returns a loadRun whose
// base is that instance (for wrkDeliveries) and the func that stops it.
func (r *loadRun) startSecond() (*loadRun, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(filepath.Join(filepath.Dir(r.db), "server2.log"))
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(r.bin)
	// The same settings, only LISTEN_ADDR differs (the last value wins).
	cmd.Env = append(r.env(), "LISTEN_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logFile.Close()
	}
	second := *r
	second.base, second.addr, second.cmd = "http://"+addr, addr, cmd
	client := &http.Client{Timeout: time.Second}
	for time.Since(begin) < 30*time.Second {
		if code, _, err := get(client, second.base+"/readyz"); err == nil && code == 200 {
			r.t.Logf("second instance on %s ready after %v", addr, time.Since(begin).Round(time.Millisecond))
			return &second, stop
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	r.t.Fatal("second instance not ready after 30s")
	return nil, nil
}
