//go:build unix

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServerLogsGroupsOnSIGUSR1: the running server answers SIGUSR1 with
// one log line of the writer's group sizes, and keeps serving.
func TestServerLogsGroupsOnSIGUSR1(t *testing.T) {
	vars, _ := newEnv(t)
	srv := startServer(t, vars)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	const want = `msg="notification groups" groups=0 notifications=0 mean=0.0 by_size=""`
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s line in the log:\n%s", want, srv.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := client.Get("http://" + srv.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz after SIGUSR1: %d", resp.StatusCode)
	}
}
