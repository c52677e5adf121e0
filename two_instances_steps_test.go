package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// sseEvent is one Server-Sent Event as read off a stream.
type sseEvent struct{ id, event, data string }

// openStream opens /admin/events on an instance with the cookie and sends
// each event it reads to the returned channel until ctx ends. When it
// returns, the stream is subscribed (the handler subscribes before it
// answers).
func openStream(t *testing.T, ctx context.Context, in *instance, c staffCookie) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.base+"/admin/events", nil)
	req.Header.Set("Cookie", c.header)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET /admin/events on %s: %v", in.name, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("GET /admin/events on %s: %d %s", in.name, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan sseEvent, 64)
	go func() {
		defer resp.Body.Close()
		defer close(events)
		var ev sseEvent
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			field, value, _ := strings.Cut(sc.Text(), ": ")
			switch field {
			case "id":
				ev.id = value
			case "event":
				ev.event = value
			case "data":
				ev.data = value
			case "":
				if ev.event != "" {
					events <- ev
				}
				ev = sseEvent{}
			}
		}
	}()
	return events
}

// eventCrossesInstances: a notification posted to A shows, within a second,
// on a live stream open on B, as the session's row with its raw status word
// under an event id from the database.
func eventCrossesInstances(t *testing.T, a, b *instance, login staffCookie, p payment) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openStream(t, ctx, b, login)
	sent := time.Now()
	if code, err := notify(client, a, p); err != nil || code/100 != 2 {
		t.Fatalf("notification to A: %d %v", code, err)
	}
	timeout := time.After(time.Second - time.Since(sent))
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("B's stream ended before the event arrived")
			}
			var row map[string]any
			if ev.event != "session" || json.Unmarshal([]byte(ev.data), &row) != nil || row["merchant_order_id"] != p.session.MerchantOrderID {
				continue // a resync, or another session's row
			}
			if row["status"] != models.StatusPaid {
				continue // an older change of this session, if any
			}
			if _, err := strconv.ParseUint(ev.id, 10, 64); err != nil {
				t.Errorf("event id %q is not a number from the database's sequence", ev.id)
			}
			if label, _ := row["status_label"].(string); label == "" || label == models.StatusPaid {
				t.Errorf("row %s: status_label %q, want the word as shown", ev.data, label)
			}
			t.Logf("A's notification reached B's stream in %v: id %s", time.Since(sent).Round(time.Millisecond), ev.id)
			return
		case <-timeout:
			t.Fatalf("the notification posted to A (session %d) did not reach B's stream within 1 s", p.session.ID)
		}
	}
}

// loginCrossesInstances: the cookie of a login made on A opens the pages
// of B; a logout on B ends the login on A, even for a copy of the cookie
// that B's answer did not clear.
func loginCrossesInstances(t *testing.T, a, b *instance, login staffCookie) {
	onA, onB := login, login
	for _, step := range []struct {
		in *instance
		c  *staffCookie
	}{{a, &onA}, {b, &onB}} {
		resp, _ := step.c.do(t, step.in, http.MethodGet, "/admin/sessions", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/sessions on %s with A's login: %d to %q", step.in.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	_, page := onB.do(t, b, http.MethodGet, "/admin/sessions", nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no csrf field on B's /admin/sessions (the logout form)")
	}
	resp, _ := onB.do(t, b, http.MethodPost, "/logout", url.Values{"csrf": {m[1]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("logout on B: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = onA.do(t, a, http.MethodGet, "/admin/sessions", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET /admin/sessions on A after the logout on B: %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// killMidLoad posts distinct first deliveries to A from eight goroutines,
// kills A with SIGKILL while they arrive, and checks that every one A
// acknowledged is stored and applied, and that B answered throughout: a
// notification posted to B during the load and one after the kill are
// acknowledged and stored, and /healthz answers.
func killMidLoad(t *testing.T, store *models.Store, a, b *instance, onB []payment, load []payment) {
	acked := make([]atomic.Bool, len(load))
	var ackCount, next atomic.Int32
	var wg sync.WaitGroup
	c := &http.Client{Timeout: 5 * time.Second}
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(load); i = int(next.Add(1)) - 1 {
				code, err := notify(c, a, load[i])
				if err != nil {
					return // A is gone
				}
				if code/100 == 2 {
					acked[i].Store(true)
					ackCount.Add(1)
				}
			}
		})
	}
	for waited := time.Now(); ackCount.Load() < 20; time.Sleep(time.Millisecond) {
		if time.Since(waited) > 30*time.Second {
			t.Fatalf("only %d notifications acknowledged by A in 30 s", ackCount.Load())
		}
	}
	if code, err := notify(client, b, onB[0]); err != nil || code/100 != 2 {
		t.Errorf("notification to B during the load: %d %v", code, err)
	}
	if err := a.cmd.Process.Kill(); err != nil { // SIGKILL: no chance to clean up
		t.Fatal(err)
	}
	a.cmd.Wait()
	wg.Wait()
	n := int(ackCount.Load())
	if n == len(load) {
		t.Fatal("A acknowledged every notification before the kill: the test proves nothing")
	}
	t.Logf("A acknowledged %d of %d notifications before SIGKILL", n, len(load))
	if code, body, err := get(client, b.base+"/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("B's /healthz after A died: %d %q %v", code, body, err)
	}
	if code, err := notify(client, b, onB[1]); err != nil || code/100 != 2 {
		t.Errorf("notification to B after A died: %d %v", code, err)
	}
	for i, p := range load {
		if acked[i].Load() {
			checkPaid(t, store, p)
		}
	}
	checkPaid(t, store, onB[0])
	checkPaid(t, store, onB[1])
}
