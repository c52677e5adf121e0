package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// A stop that comes as soon as the server is ready (a SIGTERM right after
// start) must end serve: shutting down before the listener's Serve has begun
// used to leave that Serve running forever.
func TestServeStopsWhenToldToAtOnce(t *testing.T) {
	vars, _ := newEnv(t, "LISTEN_ADDR", "127.0.0.1:0")
	for i := range 30 {
		ctx, cancel := context.WithCancel(context.Background())
		env := environment{storeOptions: testStoreOptions, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
			getenv: func(k string) string { return vars[k] }, ready: func(string) { cancel() }}
		done := make(chan error, 1)
		go func() { done <- run(ctx, env) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("start %d: serve did not return within 5 s of being stopped", i)
		}
		cancel()
	}
}
