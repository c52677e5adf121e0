package handlers

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// Broker fans session changes out to every open live table. It keeps the
// last events so a reconnecting browser catches up from its Last-Event-ID.
// Publishing never waits on a stream: one that cannot take an event at once
// is dropped (its browser reconnects and catches up).
type Broker struct {
	mu      sync.Mutex
	epoch   string // changes every start, so IDs from before a restart are recognised
	seq     uint64
	recent  []sessionEvent // ring of the latest events, oldest first
	subs    map[*subscriber]struct{}
	byLogin map[string][]*subscriber // each login's streams, oldest first
	closed  bool
	done    chan struct{}
}

// subscriber is one open stream.
type subscriber struct {
	ch    chan sessionEvent
	login string
	// kick makes the stream's connection give up writes that do not finish
	// soon: a dropped stream whose client stopped reading would otherwise
	// keep its connection until the write timeout.
	kick func()
}

// sessionEvent is a session as it is after a change.
type sessionEvent struct {
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
	// dropGrace is how long a dropped stream's connection may take to write
	// what it has before it is cut.
	dropGrace = 2 * time.Second
)

// NewBroker returns a broker ready for subscribers.
func NewBroker() *Broker {
	return &Broker{
		epoch: rand.Text()[:8], subs: map[*subscriber]struct{}{},
		byLogin: map[string][]*subscriber{}, done: make(chan struct{}),
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
	ev := sessionEvent{ID: b.epoch + "-" + strconv.FormatUint(b.seq, 10), Session: s}
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

// subscribe opens a stream for login and returns it with the backlog after
// lastID. resync is true when lastID is too old (or from another run) to
// catch up. A login already at maxStreamsPerLogin loses its oldest stream.
func (b *Broker) subscribe(login, lastID string, kick func()) (sub *subscriber, backlog []sessionEvent, resync bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub = &subscriber{ch: make(chan sessionEvent, 64), login: login, kick: kick}
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
			return sub, append([]sessionEvent(nil), b.recent[i+1:]...), false
		}
	}
	return sub, nil, true
}

// unsubscribe forgets a stream that ended by itself.
func (b *Broker) unsubscribe(sub *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[sub]; ok {
		b.remove(sub)
		close(sub.ch)
	}
}

// drop ends a stream: its writer sees the channel close and returns, and its
// connection is cut if its writes are stuck. b.mu is held.
func (b *Broker) drop(sub *subscriber) {
	b.remove(sub)
	close(sub.ch)
	if sub.kick != nil {
		sub.kick()
	}
}

// remove forgets sub. b.mu is held.
func (b *Broker) remove(sub *subscriber) {
	delete(b.subs, sub)
	streams := slices.DeleteFunc(b.byLogin[sub.login], func(s *subscriber) bool { return s == sub })
	if len(streams) == 0 {
		delete(b.byLogin, sub.login)
	} else {
		b.byLogin[sub.login] = streams
	}
}

// streamLifetime bounds one stream; the browser reconnects by itself and
// catches up, so long-lived connections never pile up.
const streamLifetime = 5 * time.Minute

// keepAlive is how often an idle stream sends a comment, so dead
// connections are noticed and proxies keep the stream open.
const keepAlive = 15 * time.Second

// streamEvents is GET /admin/events: Server-Sent Events carrying each
// changed session as the table row the user would see.
func (a *app) streamEvents(c *fiber.Ctx) error {
	// The stream writer runs after the request is recycled: copy what it needs.
	l := a.locale(c)
	sid := session(c).staffSessionID()
	lastID := c.Get("Last-Event-ID")
	conn := c.Context().Conn()
	sub, backlog, resync := a.events.subscribe(sid, lastID, func() {
		conn.SetWriteDeadline(time.Now().Add(dropGrace))
	})

	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	// The connection ends with the stream, rather than idling for a
	// request that a live table never sends.
	c.Context().SetConnectionClose()
	// A login ended while the stream is open (logout, disabled user, new
	// password) gets no further row. The database is asked again only when
	// the Store has ended some login since the last answer, and at every
	// keep-alive (an expired login, a change made by another process), so an
	// event costs no query however many streams are open.
	checked := a.Store.LoginsEnded()
	stillLoggedIn := func(always bool) bool {
		ended := a.Store.LoginsEnded()
		if ended == checked && !always {
			return true
		}
		checked = ended
		_, err := a.Store.UserBySession(context.Background(), sid)
		return err == nil
	}
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer a.events.unsubscribe(sub)
		fmt.Fprintf(w, "retry: 2000\n\n")
		if resync {
			fmt.Fprintf(w, "event: resync\ndata: {}\n\n")
		}
		for _, ev := range backlog {
			writeSessionEvent(w, ev, l)
		}
		if w.Flush() != nil {
			return
		}
		ticker := time.NewTicker(keepAlive)
		defer ticker.Stop()
		deadline := time.After(streamLifetime)
		for {
			select {
			case ev, ok := <-sub.ch:
				if !ok || !stillLoggedIn(false) {
					return
				}
				writeSessionEvent(w, ev, l)
			case <-ticker.C:
				if !stillLoggedIn(true) {
					return
				}
				fmt.Fprintf(w, ": keep-alive\n\n")
			case <-deadline:
				return
			}
			if w.Flush() != nil {
				return
			}
		}
	})
	return nil
}

// sessionRow is a session as the live table shows it, already formatted for
// one user's language; the page's script puts each field in with textContent.
type sessionRow struct {
	ID uint `json:"id"`
	// Version orders updates of one row: the page ignores one older than
	// what it shows, as two changes may be published out of order.
	Version          int64  `json:"version"`
	URL              string `json:"url"`
	MerchantOrderID  string `json:"merchant_order_id"`
	Mode             string `json:"mode"`
	Amount           string `json:"amount"`
	Status           string `json:"status"`
	StatusLabel      string `json:"status_label"`
	PaymentToken     string `json:"payment_token"`
	CreatedAt        string `json:"created_at"`
	PaidAt           string `json:"paid_at"`
	LastNotification string `json:"last_notification"`
}

func newSessionRow(s models.Session, l views.Locale) sessionRow {
	row := sessionRow{
		ID:               s.ID,
		Version:          s.UpdatedAt.UnixNano(),
		URL:              "/admin/sessions/" + strconv.FormatUint(uint64(s.ID), 10),
		MerchantOrderID:  s.MerchantOrderID,
		Mode:             s.Mode,
		Amount:           l.CLP(s.Amount),
		Status:           s.Status,
		StatusLabel:      l.T("status." + s.Status),
		PaymentToken:     s.PaymentToken,
		CreatedAt:        l.Time(s.CreatedAt),
		PaidAt:           l.Time(s.PaidAt),
		LastNotification: "—",
	}
	if s.LastNotificationAt != nil {
		row.LastNotification = l.Time(s.LastNotificationAt) + " · " + l.T("verdict."+s.LastNotificationNote)
	}
	return row
}

// writeSessionEvent writes one row. Rows carry no customer email or RUT, so
// viewers get the same as staff.
func writeSessionEvent(w *bufio.Writer, ev sessionEvent, l views.Locale) {
	data, err := json.Marshal(newSessionRow(ev.Session, l))
	if err != nil {
		return
	}
	// JSON has no raw newlines, so one data line is a whole event.
	fmt.Fprintf(w, "id: %s\nevent: session\ndata: %s\n\n", ev.ID, strings.TrimSpace(string(data)))
}
