package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"etpay-dashboard/live"
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
	t.Parallel()
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
	t.Parallel()
	h := newHarness(t)
	if r := h.browser().get("/admin/events"); r.status != http.StatusSeeOther {
		t.Fatalf("anonymous stream: %d", r.status)
	}
}

func TestBrokerCloseEndsStreams(t *testing.T) {
	t.Parallel()
	broker := live.New()
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
	t.Parallel()
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

// streamBody opens /admin/events for b and reads its body to the end in the
// background: the channel gets how the body ended (nil: a clean end).
func (b *browser) streamBody(t *testing.T) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.h.base+"/admin/events", nil)
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ended <- err
	}()
	return ended
}

// TestLiveStreamsPerLoginAreCapped: a ninth stream of one login ends the
// oldest, whose body then ends cleanly (the server closed it, not left it
// idle); the other eight keep getting events.
func TestLiveStreamsPerLoginAreCapped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	oldest := b.streamBody(t)
	var streams []<-chan sseEvent
	for range 8 {
		events, _ := b.openStream(t, "")
		streams = append(streams, events)
	}
	select {
	case err := <-oldest:
		if err != nil {
			t.Fatalf("the oldest stream ended with %v, want a clean end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the oldest stream is still open after the ninth opened")
	}
	h.pendingSession("OC-1")
	for i, events := range streams {
		if ev := next(t, events); ev.name != "session" || !strings.Contains(ev.data, `"OC-1"`) {
			t.Fatalf("stream %d got %+v", i+2, ev)
		}
	}
	// Another login has streams of its own.
	other := h.loggedIn("staff@shop.cl", models.RoleStaff)
	events, _ := other.openStream(t, "")
	h.pendingSession("OC-2")
	if ev := next(t, events); !strings.Contains(ev.data, `"OC-2"`) {
		t.Fatalf("the other login's stream got %+v", ev)
	}
}

// TestLiveEventsNeedNoQueries closes the database under eight open streams:
// an event still reaches them all, so no stream asks the database per event
// (they did, once per stream per event, and 300 streams slowed ingest
// five-fold).
func TestLiveEventsNeedNoQueries(t *testing.T) {
	t.Parallel()
	broker := live.New()
	h := newHarness(t, withBroker(broker))
	b := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	var streams []<-chan sseEvent
	for range 8 {
		events, _ := b.openStream(t, "")
		streams = append(streams, events)
	}
	h.store.Close() // from here on every query fails
	broker.PublishSession(models.Session{ID: 42, MerchantOrderID: "OC-42", Status: models.StatusPending, UpdatedAt: time.Now()})
	for i, events := range streams {
		if ev := next(t, events); !strings.Contains(ev.data, `"OC-42"`) {
			t.Fatalf("stream %d got %+v", i, ev)
		}
	}
}

// TestStuckStreamsDelayNothing opens 50 streams whose clients never read,
// then publishes 600 events of 8 KB at the pace of a healthy stream: each
// reaches it, and the stuck streams, whose writes block once the socket
// buffers fill, are dropped and their connections closed by the server
// rather than held until the write timeout (10 minutes).
func TestStuckStreamsDelayNothing(t *testing.T) {
	t.Parallel()
	broker := live.New()
	h := newHarness(t, withBroker(broker))
	h.addUser("viewer@shop.cl", models.RoleViewer)
	var stuck []net.Conn
	for len(stuck) < 50 { // seven logins of one user, up to eight streams each
		b := h.browser()
		b.login("viewer@shop.cl")
		for range min(8, 50-len(stuck)) {
			stuck = append(stuck, b.stuckStream(t))
		}
	}
	b := h.browser()
	b.login("viewer@shop.cl")
	healthy, _ := b.openStream(t, "")
	time.Sleep(100 * time.Millisecond) // the last stuck streams subscribe
	withStuck := h.app.Server().GetOpenConnectionsCount()
	big := strings.Repeat("x", 8000)
	const n = 600
	for i := range n {
		broker.PublishSession(models.Session{ID: uint(i + 1), MerchantOrderID: "OC", PaymentToken: big, Status: models.StatusPending, UpdatedAt: time.Now()})
		if i%16 == 15 || i == n-1 { // at the pace of a healthy reader
			for j := i - i%16; j <= i; j++ {
				if ev := next(t, healthy); !strings.Contains(ev.data, fmt.Sprintf(`"id":%d,`, j+1)) {
					t.Fatalf("event %d: the healthy stream got %.60s", j+1, ev.data)
				}
			}
		}
	}
	want := withStuck - int32(len(stuck))
	open := h.app.Server().GetOpenConnectionsCount()
	for deadline := time.Now().Add(10 * time.Second); open > want && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		open = h.app.Server().GetOpenConnectionsCount()
	}
	if open > want {
		t.Fatalf("%d connections open on the server, want at most %d: %d stuck streams were not closed", open, want, open-want)
	}
}

// stuckStream opens /admin/events with b's cookies on a connection with a
// small receive buffer, and never reads from it.
func (b *browser) stuckStream(t *testing.T) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(b.h.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cookies := ""
	for _, c := range b.client.Jar.Cookies(mustURL(b.h.base)) {
		cookies += "Cookie: " + c.Name + "=" + c.Value + "\r\n"
	}
	if _, err := io.WriteString(conn, "GET /admin/events HTTP/1.1\r\nHost: shop.example\r\n"+cookies+"\r\n"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestLiveEventsStopWhenTheLoginEnds: a logout or a new password ends the
// login's open streams before their next row, as disabling the user does.
func TestLiveEventsStopWhenTheLoginEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(h *harness, b *browser, user *models.User)
	}{
		{"logout", func(h *harness, b *browser, _ *models.User) {
			if r := b.submit("/admin/sessions", "/logout", url.Values{}); r.status != http.StatusSeeOther {
				t.Fatalf("logout: %d", r.status)
			}
		}},
		{"new password", func(h *harness, _ *browser, user *models.User) {
			hash, _ := h.store.HashPassword("another long password")
			if err := h.store.SetPassword(context.Background(), user.ID, hash, ""); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			user := h.addUser("viewer@shop.cl", models.RoleViewer)
			b := h.browser()
			b.login("viewer@shop.cl")
			events, _ := b.openStream(t, "")
			h.pendingSession("OC-1")
			if ev := next(t, events); ev.name != "session" {
				t.Fatalf("first event %q", ev.name)
			}
			tt.end(h, b, user)
			h.pendingSession("OC-2")
			select {
			case ev, ok := <-events:
				if ok {
					t.Fatalf("an ended login still got %+v", ev)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream stayed open")
			}
		})
	}
}
