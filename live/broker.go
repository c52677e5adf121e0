// Package live fans session changes out to the open live tables: a ring of
// recent events so a reconnecting browser catches up from its Last-Event-ID
// (or is told to resync), a cap on the streams of one login, and publishing
// that never waits on a slow stream. It knows nothing of HTTP: handlers turn
// its events into Server-Sent Events.
package live

import (
	"crypto/rand"
	"slices"
	"strconv"
	"sync"
	"time"

	"etpay-dashboard/models"
)

// Broker fans session changes out to every open live table. It keeps the
// last events so a reconnecting browser catches up from its Last-Event-ID.
// Publishing never waits on a stream: one that cannot take an event at once
// is dropped (its browser reconnects and catches up).
type Broker struct {
	mu      sync.Mutex
	epoch   string // changes every start, so IDs from before a restart are recognised
	seq     uint64
	recent  []Event // ring of the latest events, oldest first
	subs    map[*Subscription]struct{}
	byLogin map[string][]*Subscription // each login's streams, oldest first
	closed  bool
	done    chan struct{}
}

// Subscription is one open stream.
type Subscription struct {
	ch    chan Event
	login string
	// kick makes the stream's connection give up writes that do not finish
	// soon: a dropped stream whose client stopped reading would otherwise
	// keep its connection until the write timeout.
	kick func()
}

// Event is a session as it is after a change.
type Event struct {
	ID      string
	Session models.Session
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

// PublishSession tells every live table that s changed.
func (b *Broker) PublishSession(s models.Session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.seq++
	ev := Event{ID: b.epoch + "-" + strconv.FormatUint(b.seq, 10), Session: s}
	b.recent = append(b.recent, ev)
	if len(b.recent) > backlogSize {
		b.recent = b.recent[len(b.recent)-backlogSize:]
	}
	for sub := range b.subs {
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
	for i, ev := range b.recent {
		if ev.ID == lastID {
			return sub, append([]Event(nil), b.recent[i+1:]...), false
		}
	}
	return sub, nil, true
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
