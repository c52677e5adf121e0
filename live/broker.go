// Package live fans session changes out to the open live tables: a ring of
// recent events so a reconnecting browser catches up from its Last-Event-ID
// (or is told to resync), a cap on the streams of one login, and publishing
// that never waits on a slow stream. On PostgreSQL a Relay carries the events
// between instances (NOTIFY/LISTEN) with ids from the database. It knows
// nothing of HTTP: handlers turn its events into Server-Sent Events.
package live

import (
	"cmp"
	"crypto/rand"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"etpay-dashboard/models"
)

// Broker fans session changes out to every open live table. It keeps the
// last events so a reconnecting browser catches up from its Last-Event-ID.
// Publishing never waits on a stream: one that cannot take an event at once
// is dropped (its browser reconnects and catches up).
type Broker struct {
	mu    sync.Mutex
	epoch string // changes every start, so IDs from before a restart are recognised
	seq   uint64
	// recent is the ring of the latest events in id order; every event with
	// a number above floor is in it, so a Last-Event-ID from floor on can
	// catch up and an older one must resync.
	recent []Event
	floor  uint64
	// relay, when set, carries PublishSession to every instance; events
	// then enter recent only as the relay receives them, ids from the
	// database (global: an id newer than this instance knows is no reason
	// to resync, it may not have arrived yet).
	relay   *Relay
	subs    map[*Subscription]struct{}
	byLogin map[string][]*Subscription // each login's streams, oldest first
	closed  bool
	done    chan struct{}
}

// Subscription is one open stream.
type Subscription struct {
	ch    chan Event
	login string
	// after skips events up to it: a browser that caught up on another
	// instance may be ahead of this one.
	after uint64
	// kick makes the stream's connection give up writes that do not finish
	// soon: a dropped stream whose client stopped reading would otherwise
	// keep its connection until the write timeout.
	kick func()
}

// Event is a session as it is after a change, or a call to resync.
type Event struct {
	ID      string
	Session models.Session
	// Resync, when set, carries no session: events may have been missed
	// (the relay's connection dropped), so the table must be read again.
	Resync bool
	seq    uint64 // ID's number, to keep the ring in order
}

const (
	// backlogSize is how many events a reconnecting browser can catch up
	// on; further behind, it reloads the table instead.
	backlogSize = 512
	// maxStreamsPerLogin bounds the live tables one login keeps open (tabs,
	// reconnects); a new one beyond it ends the oldest.
	maxStreamsPerLogin = 8
	// DropGrace is how long a dropped stream's connection may take to write
	// what it has before it is cut (see Subscribe's kick).
	DropGrace = 2 * time.Second
)

// New returns a broker ready for subscribers.
func New() *Broker {
	return &Broker{
		epoch: rand.Text()[:8], subs: map[*Subscription]struct{}{},
		byLogin: map[string][]*Subscription{}, done: make(chan struct{}),
	}
}

// PublishSession tells every live table that s changed. With a relay it
// only queues the event for the database and returns at once: a payment
// never waits on the live tables.
func (b *Broker) PublishSession(s models.Session) {
	if b.relay != nil {
		b.relay.publish(s)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.seq++
	b.deliver(Event{ID: b.epoch + "-" + strconv.FormatUint(b.seq, 10), Session: s, seq: b.seq})
}

// deliver puts ev in the ring, in id order, and sends it to every stream
// that has not seen it. b.mu is held.
func (b *Broker) deliver(ev Event) {
	if ev.seq > b.floor {
		i, found := slices.BinarySearchFunc(b.recent, ev.seq, func(e Event, n uint64) int { return cmp.Compare(e.seq, n) })
		if found {
			return // delivered already
		}
		b.recent = slices.Insert(b.recent, i, ev)
		if over := len(b.recent) - backlogSize; over > 0 {
			b.floor = b.recent[over-1].seq
			b.recent = slices.Delete(b.recent, 0, over)
		}
	}
	for sub := range b.subs {
		if ev.seq <= sub.after {
			continue
		}
		select {
		case sub.ch <- ev:
		default:
			// A subscriber too slow to keep up is dropped; its browser
			// reconnects and catches up from its last event.
			b.drop(sub)
		}
	}
}

// Close ends every stream, so shutdown does not wait on open live tables.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	close(b.done)
	for sub := range b.subs {
		b.drop(sub)
	}
}

// Subscribe opens a stream for login and returns it with the backlog after
// lastID. resync is true when lastID is too old (or from another run) to
// catch up. A login already at maxStreamsPerLogin loses its oldest stream.
//
// kick, when set, is called when the broker drops the stream (too slow, over
// the cap, shutting down): it should make the stream's writes give up soon.
func (b *Broker) Subscribe(login, lastID string, kick func()) (sub *Subscription, backlog []Event, resync bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub = &Subscription{ch: make(chan Event, 64), login: login, kick: kick}
	if b.closed {
		close(sub.ch)
		return sub, nil, false
	}
	if streams := b.byLogin[login]; len(streams) >= maxStreamsPerLogin {
		b.drop(streams[0])
	}
	b.subs[sub] = struct{}{}
	b.byLogin[login] = append(b.byLogin[login], sub)
	if lastID == "" {
		return sub, nil, false
	}
	n, ok := b.parseID(lastID)
	newest := b.floor
	if len(b.recent) > 0 {
		newest = b.recent[len(b.recent)-1].seq
	}
	switch {
	case !ok || n < b.floor || (n > newest && b.relay == nil):
		return sub, nil, true
	case n > newest:
		sub.after = n // seen on another instance, not here yet
		return sub, nil, false
	}
	i, _ := slices.BinarySearchFunc(b.recent, n+1, func(e Event, n uint64) int { return cmp.Compare(e.seq, n) })
	return sub, append([]Event(nil), b.recent[i:]...), false
}

// parseID reads the number of an event id of this broker: the database's
// with a relay, this run's epoch and its count without.
func (b *Broker) parseID(id string) (uint64, bool) {
	if b.relay == nil {
		var ok bool
		if id, ok = strings.CutPrefix(id, b.epoch+"-"); !ok {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil
}

// Unsubscribe forgets a stream that ended by itself.
func (b *Broker) Unsubscribe(sub *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[sub]; ok {
		b.remove(sub)
		close(sub.ch)
	}
}

// drop ends a stream: its writer sees the channel close and returns, and its
// connection is cut if its writes are stuck. b.mu is held.
func (b *Broker) drop(sub *Subscription) {
	b.remove(sub)
	close(sub.ch)
	if sub.kick != nil {
		sub.kick()
	}
}

// Events is the stream's channel; it is closed when the broker drops the
// stream or closes.
func (sub *Subscription) Events() <-chan Event { return sub.ch }

// remove forgets sub. b.mu is held.
func (b *Broker) remove(sub *Subscription) {
	delete(b.subs, sub)
	streams := slices.DeleteFunc(b.byLogin[sub.login], func(s *Subscription) bool { return s == sub })
	if len(streams) == 0 {
		delete(b.byLogin, sub.login)
	} else {
		b.byLogin[sub.login] = streams
	}
}
