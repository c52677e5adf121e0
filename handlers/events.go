package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/live"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

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
	st := &eventStream{a: a, l: a.locale(c), login: session(c).staffSessionID(), checked: a.Store.LoginsEnded(), checkedAt: time.Now()}
	conn := c.Context().Conn()
	st.sub, st.backlog, st.resync = a.events.Subscribe(st.login, c.Get("Last-Event-ID"), func() {
		conn.SetWriteDeadline(time.Now().Add(live.DropGrace))
	})
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	// The connection ends with the stream, rather than idling for a
	// request that a live table never sends.
	c.Context().SetConnectionClose()
	c.Context().SetBodyStreamWriter(st.write)
	return nil
}

// eventStream is one open live table's stream.
type eventStream struct {
	a       *app
	l       views.Locale
	login   string
	sub     *live.Subscription
	backlog []live.Event
	resync  bool
	checked uint64 // Store.LoginsEnded when the login was last checked
	// checkedAt is when it was last asked (see stillLoggedIn).
	checkedAt time.Time
}

// sharedLoginCheck is how long, on PostgreSQL, a stream trusts its last
// answer about its login: another instance may have ended it (a logout on
// B, a user disabled on B), which this Store's LoginsEnded does not count.
const sharedLoginCheck = time.Second

// write sends the catch-up, then each event, until the stream ends (its
// login ended, the broker dropped it, the client left, or streamLifetime).
func (st *eventStream) write(w *bufio.Writer) {
	defer st.a.events.Unsubscribe(st.sub)
	fmt.Fprintf(w, "retry: 2000\n\n")
	if st.resync {
		fmt.Fprintf(w, "event: resync\ndata: {}\n\n")
	}
	for _, ev := range st.backlog {
		writeSessionEvent(w, ev, st.l)
	}
	if w.Flush() != nil {
		return
	}
	ticker := time.NewTicker(keepAlive)
	defer ticker.Stop()
	deadline := time.After(streamLifetime)
	for {
		select {
		case ev, ok := <-st.sub.Events():
			if !ok || !st.stillLoggedIn(false) {
				return
			}
			writeSessionEvent(w, ev, st.l)
		case <-ticker.C:
			if !st.stillLoggedIn(true) {
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
}

// stillLoggedIn reports whether the stream's login still holds, so a login
// ended while the stream is open (logout, disabled user, new password) gets
// no further row. The database is asked again only when the Store has ended
// some login since the last answer, and at every keep-alive (always: an
// expired login, a change made by another process), so an event costs no
// query however many streams are open. On PostgreSQL, where several
// instances share the logins, it also asks when its last answer is
// sharedLoginCheck old: at most one query a second per stream.
func (st *eventStream) stillLoggedIn(always bool) bool {
	ended := st.a.Store.LoginsEnded()
	shared := st.a.Store.OnPostgres() && time.Since(st.checkedAt) >= sharedLoginCheck
	if ended == st.checked && !always && !shared {
		return true
	}
	st.checked, st.checkedAt = ended, time.Now()
	_, err := st.a.Store.UserBySession(context.Background(), st.login)
	return err == nil
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

// writeSessionEvent writes one row, or a resync when the broker may have
// missed events (its PostgreSQL relay reconnected). Rows carry no customer
// email or RUT, so viewers get the same as staff.
func writeSessionEvent(w *bufio.Writer, ev live.Event, l views.Locale) {
	if ev.Resync {
		fmt.Fprintf(w, "event: resync\ndata: {}\n\n")
		return
	}
	data, err := json.Marshal(newSessionRow(ev.Session, l))
	if err != nil {
		return
	}
	// JSON has no raw newlines, so one data line is a whole event.
	fmt.Fprintf(w, "id: %s\nevent: session\ndata: %s\n\n", ev.ID, strings.TrimSpace(string(data)))
}
