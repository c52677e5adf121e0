package live

import (
	"testing"

	"etpay-dashboard/models"
)

func session(id uint) models.Session { return models.Session{ID: id} }

func TestSubscribersGetEveryEventInOrder(t *testing.T) {
	b := New()
	sub, backlog, resync := b.Subscribe("login-a", "", nil)
	if len(backlog) != 0 || resync {
		t.Fatalf("a fresh stream got backlog %v, resync %v", backlog, resync)
	}
	for id := uint(1); id <= 3; id++ {
		b.PublishSession(session(id))
	}
	for want := uint(1); want <= 3; want++ {
		ev := <-sub.Events()
		if ev.Session.ID != want || ev.ID == "" {
			t.Fatalf("event %+v, want session %d with an id", ev, want)
		}
	}
}

func TestCatchUpFromLastEventIDOrResync(t *testing.T) {
	b := New()
	for id := uint(1); id <= 5; id++ {
		b.PublishSession(session(id))
	}
	first, _, _ := b.Subscribe("x", "", nil)
	b.PublishSession(session(6))
	seen := (<-first.Events()).ID

	_, backlog, resync := b.Subscribe("y", seen, nil)
	if resync || len(backlog) != 0 {
		t.Fatalf("caught up after the newest: backlog %d, resync %v", len(backlog), resync)
	}
	b.PublishSession(session(7))
	b.PublishSession(session(8))
	_, backlog, resync = b.Subscribe("z", seen, nil)
	if resync || len(backlog) != 2 || backlog[0].Session.ID != 7 || backlog[1].Session.ID != 8 {
		t.Fatalf("backlog after %s = %+v (resync %v), want sessions 7 and 8", seen, backlog, resync)
	}
	if _, _, resync := b.Subscribe("w", "another-run-1", nil); !resync {
		t.Fatal("an id from another run does not ask for a resync")
	}
	// Further behind than the backlog keeps: resync.
	for id := uint(100); id < 100+backlogSize; id++ {
		b.PublishSession(session(id))
	}
	if _, _, resync := b.Subscribe("v", seen, nil); !resync {
		t.Fatal("an id older than the backlog does not ask for a resync")
	}
}

func TestALoginKeepsAtMostEightStreams(t *testing.T) {
	b := New()
	kicked := 0
	var subs []*Subscription
	for range maxStreamsPerLogin {
		sub, _, _ := b.Subscribe("login", "", func() { kicked++ })
		subs = append(subs, sub)
	}
	other, _, _ := b.Subscribe("other login", "", nil)
	newest, _, _ := b.Subscribe("login", "", nil)
	if _, open := <-subs[0].Events(); open || kicked != 1 {
		t.Fatalf("the oldest stream is open=%v, kicked %d times; want closed and kicked", open, kicked)
	}
	b.PublishSession(session(1))
	for i, sub := range append(subs[1:], other, newest) {
		if ev := <-sub.Events(); ev.Session.ID != 1 {
			t.Fatalf("stream %d got %+v", i, ev)
		}
	}
}

// A stream that stops reading is dropped, never waited on.
func TestAStuckStreamIsDroppedNotWaitedOn(t *testing.T) {
	b := New()
	stuck, _, _ := b.Subscribe("a", "", nil)
	healthy, _, _ := b.Subscribe("b", "", nil)
	for id := uint(1); id <= 1000; id++ { // returns: publishing never blocks
		b.PublishSession(session(id))
		if ev := <-healthy.Events(); ev.Session.ID != id {
			t.Fatalf("healthy stream got %+v, want %d", ev, id)
		}
	}
	n := 0
	for range stuck.Events() {
		n++
	}
	if n == 0 || n >= 1000 {
		t.Fatalf("the stuck stream held %d events before it was dropped", n)
	}
}

func TestCloseEndsEveryStream(t *testing.T) {
	b := New()
	sub, _, _ := b.Subscribe("a", "", nil)
	b.Close()
	if _, open := <-sub.Events(); open {
		t.Fatal("a stream outlived Close")
	}
	late, _, _ := b.Subscribe("a", "", nil)
	if _, open := <-late.Events(); open {
		t.Fatal("a stream opened after Close is open")
	}
	b.PublishSession(session(1)) // no panic after Close
	b.Unsubscribe(sub)
}
