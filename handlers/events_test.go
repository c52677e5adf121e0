package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/handlers"
	"etpay-dashboard/models"
)

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	id, name, data string
}

// openStream subscribes b to /admin/events and returns parsed events as they come.
func (b *browser) openStream(t *testing.T, lastEventID string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.h.base+"/admin/events", nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan sseEvent, 16)
	go func() {
		defer close(events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return events, resp
}

func next(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sseEvent{}
}

func TestLiveEventsCarryTheChangedRow(t *testing.T) {
	h := newHarness(t)
	b := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	events, resp := b.openStream(t, "")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}

	sess, key := h.pendingSession("OC-1")
	created := next(t, events)
	var row map[string]any
	if err := json.Unmarshal([]byte(created.data), &row); err != nil {
		t.Fatal(err)
	}
	if created.name != "session" || row["merchant_order_id"] != "OC-1" || row["status"] != "pending" {
		t.Fatalf("creation event %+v", created)
	}

	h.postNotification(notificationBody(signedNotification(t, sess.SessionToken, sess.MerchantOrderID, "success", key)))
	paid := next(t, events)
	json.Unmarshal([]byte(paid.data), &row)
	if row["status"] != "paid" || row["payment_token"] != "PT-success" || row["status_label"] != "pagada" || row["amount"] != "$1.000" {
		t.Fatalf("payment event %s", paid.data)
	}

	// A browser that reconnects with its last event ID gets what it missed.
	replay, _ := h.browser().openStreamAs(t, b, created.id)
	if ev := next(t, replay); ev.id != paid.id {
		t.Fatalf("catch-up gave %q, want %q", ev.id, paid.id)
	}
	// An ID from another run (or too old) asks the page to reload the table.
	stale, _ := h.browser().openStreamAs(t, b, "old-run-7")
	if ev := next(t, stale); ev.name != "resync" {
		t.Fatalf("stale ID gave %q, want resync", ev.name)
	}
}

// openStreamAs opens a stream with b's cookies.
func (*browser) openStreamAs(t *testing.T, b *browser, lastEventID string) (<-chan sseEvent, *http.Response) {
	return b.openStream(t, lastEventID)
}

func TestLiveEventsNeedLogin(t *testing.T) {
	h := newHarness(t)
	if r := h.browser().get("/admin/events"); r.status != http.StatusSeeOther {
		t.Fatalf("anonymous stream: %d", r.status)
	}
}

func TestBrokerCloseEndsStreams(t *testing.T) {
	broker := handlers.NewBroker()
	h := newHarness(t, withBroker(broker))
	b := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	events, _ := b.openStream(t, "")
	time.Sleep(100 * time.Millisecond) // let the stream subscribe
	broker.Close()
	select {
	case _, ok := <-events:
		if ok {
			t.Fatal("an event instead of the end of the stream")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the stream stayed open after Close")
	}
}

func TestLiveEventsStopWhenTheUserIsDisabled(t *testing.T) {
	h := newHarness(t)
	viewer := h.addUser("viewer@shop.cl", models.RoleViewer)
	b := h.browser()
	b.login("viewer@shop.cl")
	events, _ := b.openStream(t, "")
	h.pendingSession("OC-1")
	if ev := next(t, events); ev.name != "session" {
		t.Fatalf("first event %q", ev.name)
	}
	if err := h.store.DisableUser(context.Background(), viewer.ID); err != nil {
		t.Fatal(err)
	}
	h.pendingSession("OC-2")
	select {
	case ev, ok := <-events:
		if ok {
			t.Fatalf("a disabled user still got %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream neither ended nor stayed silent-and-closed")
	}
}
