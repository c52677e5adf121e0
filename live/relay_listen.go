package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// listenLoop keeps a listening connection until ctx ends, connecting again
// with a doubling wait (retryMin to retryMax) while the database is away.
func (r *Relay) listenLoop(ctx context.Context) {
	wait := r.retryMin
	for {
		listened, err := r.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			wait = r.retryMin
			r.logger.Warn("live events: the listening connection dropped; the open tables resync when it is back", "err", err)
		} else {
			r.logger.Warn("live events: cannot listen to the database", "err", err, "retry_in", wait)
		}
		if !r.wait(ctx, wait) {
			return
		}
		wait = min(2*wait, r.retryMax)
	}
}

// listenOnce connects, listens and hands each notification to the broker
// until the connection fails; listened reports whether it got that far.
func (r *Relay) listenOnce(ctx context.Context) (listened bool, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := r.connect(dialCtx)
	if err != nil {
		return false, err
	}
	defer closeConn(conn)
	floor, err := r.startListening(dialCtx, conn)
	if err != nil {
		return false, err
	}
	r.listenerPID.Store(conn.PgConn().PID())
	// Events may have been missed while not listening: every event above
	// floor will arrive from now on, none before it can be caught up on.
	r.broker.restart(floor)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, r.quiet)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			r.receive(ctx, n.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while: make sure the connection still answers.
			pingCtx, cancel := context.WithTimeout(ctx, min(statementTimeout, r.quiet))
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}

// startListening listens on the channel, then reads how far the sequence
// has gone: every event numbered after that is notified after LISTEN took
// effect, so this connection receives it.
func (r *Relay) startListening(ctx context.Context, conn *pgx.Conn) (floor uint64, err error) {
	var channel string
	if err := conn.QueryRow(ctx, "SELECT "+channelSQL("$1"), r.channel).Scan(&channel); err != nil {
		return 0, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return 0, err
	}
	var last int64
	var called bool
	if err := conn.QueryRow(ctx, "SELECT last_value, is_called FROM "+r.sequence).Scan(&last, &called); err != nil {
		return 0, err
	}
	if !called {
		last-- // a fresh sequence: its first value is still to come
	}
	return uint64(max(last, 0)), nil
}

// receive hands one notification to the broker. One it cannot read means a
// lost event: the open tables resync.
func (r *Relay) receive(ctx context.Context, payload string) {
	ev, err := r.decode(ctx, payload)
	if err != nil {
		r.logger.Error("live events: a notification could not be read; the open tables resync", "err", err)
		r.broker.resync()
		return
	}
	r.broker.receive(ev)
}

// decode reads "<id> <notice>", reading the session from the database when
// the notice carries only its id.
func (r *Relay) decode(ctx context.Context, payload string) (Event, error) {
	id, body, _ := strings.Cut(payload, " ")
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("event id %q: %w", id, err)
	}
	var n notice
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		return Event{}, fmt.Errorf("event %d: %w", seq, err)
	}
	ev := Event{ID: id, seq: seq}
	switch {
	case n.Session != nil:
		ev.Session = n.Session.session()
	case n.Read != 0 && r.load != nil:
		loadCtx, cancel := context.WithTimeout(ctx, statementTimeout)
		defer cancel()
		s, err := r.load(loadCtx, n.Read)
		if err != nil {
			return Event{}, fmt.Errorf("event %d: reading session %d: %w", seq, n.Read, err)
		}
		ev.Session = *s
		ev.Session.Link = nil // the live table needs the row only
	default:
		return Event{}, fmt.Errorf("event %d carries no session", seq)
	}
	return ev, nil
}

// resync tells every open stream to read its table again. It is sent
// without waiting; a stream too full to take it is dropped (its browser
// reconnects, and resyncs if behind).
func (b *Broker) resync() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resyncLocked()
}

// resyncLocked is resync with b.mu held.
func (b *Broker) resyncLocked() {
	for sub := range b.subs {
		select {
		case sub.ch <- Event{Resync: true}:
		default:
			b.drop(sub)
		}
	}
}

// receive delivers an event the relay read from the database.
func (b *Broker) receive(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.deliver(ev)
	}
}

// restart starts the ring again after the relay (re)connected: it holds
// every event after floor from now on, and the open streams resync.
func (b *Broker) restart(floor uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if floor < b.floor {
		b.recent = nil // the sequence went back (a restored database): start afresh
	}
	b.recent = slices.DeleteFunc(b.recent, func(e Event) bool { return e.seq <= floor })
	b.floor = floor
	b.resyncLocked()
}
