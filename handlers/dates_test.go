package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
	"etpay-dashboard/views"
)

// edgeDates are expiries as staff type them; want is the stored instant in
// Santiago (RFC 3339), or empty when the form must refuse it with message.
var edgeDates = []struct {
	name, typed, want, message string
}{
	{"never, typed as 9999", "9999-12-31T21:00", "", "entre los años 2000 y 2100"},
	{"the last minute of 2100", "2100-12-31T20:59", "2100-12-31T20:59:00-03:00", ""},
	{"2101 in UTC", "2100-12-31T21:00", "", "entre los años 2000 y 2100"},
	{"year 1999", "1999-12-31T23:59", "", "entre los años 2000 y 2100"},
	{"year 0001", "0001-01-01T00:00", "", "entre los años 2000 y 2100"},
	{"five-digit year", "10000-01-01T00:00", "", "Escribe la fecha y la hora como"},
	{"31 February", "2031-02-31T10:00", "", "Escribe la fecha y la hora como"},
	{"the past expires at once", "2001-01-01T00:00", "2001-01-01T00:00:00-03:00", ""},
	{"spring-forward gap: next valid minute", "2030-09-08T00:15", "2030-09-08T01:00:00-03:00", ""},
	{"fall-back overlap: first occurrence", "2030-04-06T23:30", "2030-04-06T23:30:00-03:00", ""},
}

// TestEdgeDatesThroughTheForms sets every edge date on a link's expiry and
// on a new link; whatever is stored, every page of the link still answers.
func TestEdgeDatesThroughTheForms(t *testing.T) {
	t.Parallel()
	h, staff, payURL, page := staffWithLink(t)
	for i, tt := range edgeDates {
		t.Run(tt.name, func(t *testing.T) {
			for _, form := range []string{"expiry", "new link"} {
				var r response
				var link func() *models.Link
				if form == "expiry" {
					r = staff.submit(page, page+"/expiry", url.Values{"expires_at": {tt.typed}})
					link = func() *models.Link { return linkOf(t, h, payURL) }
				} else {
					order := "OC-EDGE-" + itoa(uint(i))
					r = staff.submit("/admin/links/new", "/admin/links/new", url.Values{
						"merchant_order_id": {order}, "order_amount": {"1000"}, "expires_at": {tt.typed}})
					link = func() *models.Link { return onlyLinkFor(t, h, order) }
				}
				if tt.want == "" {
					if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tt.message) {
						t.Fatalf("%s %q: %d, want 422 with %q\n%s", form, tt.typed, r.status, tt.message, r.body)
					}
					continue
				}
				if r.status != http.StatusSeeOther {
					t.Fatalf("%s %q: %d, want 303\n%s", form, tt.typed, r.status, r.body)
				}
				l := link()
				if l.ExpiresAt == nil || l.ExpiresAt.In(views.Santiago).Format(time.RFC3339) != tt.want {
					t.Fatalf("%s %q stored %v, want %s", form, tt.typed, l.ExpiresAt, tt.want)
				}
				checkLinkPagesAnswer(t, h, staff, l)
			}
		})
	}
}

func onlyLinkFor(t *testing.T, h *harness, order string) *models.Link {
	t.Helper()
	db := openRaw(t, h)
	var id uint
	if err := db.Raw("SELECT id FROM links WHERE merchant_order_id = ?", order).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("link for %s: %v", order, err)
	}
	link, err := h.store.LinkByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// checkLinkPagesAnswer opens every page that shows a link: none may fail.
func checkLinkPagesAnswer(t *testing.T, h *harness, staff *browser, l *models.Link) {
	t.Helper()
	page := "/admin/links/" + itoa(l.ID)
	for _, p := range []string{page, page + "/qr.png", page + "/email/preview"} {
		if r := staff.get(p); r.status != http.StatusOK {
			t.Errorf("%s answered %d", p, r.status)
		}
	}
	customer := h.browser()
	for _, p := range []string{"/pay/" + l.Code, "/pay/" + l.Code + "/success", "/pay/" + l.Code + "/error"} {
		if r := customer.get(p); r.status >= 500 {
			t.Errorf("%s answered %d", p, r.status)
		}
	}
}

// A stored value no rule needs must never make a verified payment fail: an
// expiry an older version stored as year 10000 reads as none, the payment is
// recorded and acknowledged, and the link is flagged for a person.
func TestUnreadableExpiryDoesNotStopAPayment(t *testing.T) {
	testdb.SkipOnPostgres(t, "stores text no reader can parse in a time column; a timestamptz cannot hold it")
	t.Parallel()
	h := newHarness(t)
	for i, tt := range []struct{ name, stored string }{
		{"year 10000 as the driver writes it", "10000-01-01 00:00:00+00:00"},
		{"year 10000 as GORM writes it", "10000-01-01T00:00:00Z"},
		{"garbage", "mañana"},
		{"a number", "42"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			order := "OC-U-" + itoa(uint(i))
			sess, key := h.pendingSession(order)
			if err := openRaw(t, h).Exec("UPDATE links SET expires_at = ? WHERE id = ?", tt.stored, sess.LinkID).Error; err != nil {
				t.Fatal(err)
			}
			r := h.postNotification(notificationBody(signedNotification(t, sess.SessionToken, order, "success", key)))
			if r.status != http.StatusOK {
				t.Fatalf("verified success answered %d %s", r.status, r.body)
			}
			var status string
			openRaw(t, h).Raw("SELECT status FROM sessions WHERE id = ?", sess.ID).Scan(&status)
			if status != models.StatusPaid {
				t.Fatalf("session %s, want paid", status)
			}
			var link struct{ Status, ReviewReason string }
			openRaw(t, h).Raw("SELECT status, review_reason FROM links WHERE id = ?", sess.LinkID).Scan(&link)
			if link.Status != models.LinkPaid || link.ReviewReason != models.ReviewUnreadable {
				t.Fatalf("link %+v, want paid and flagged %s", link, models.ReviewUnreadable)
			}
		})
	}
}

// Edge expiries on the notification path: a success for a link whose expiry
// is at either end of the range, or already past, is recorded.
func TestEdgeExpiriesOnTheNotificationPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i, tt := range edgeDates {
		if tt.want == "" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			order := "OC-N-" + itoa(uint(i))
			sess, key := h.pendingSession(order)
			at, err := time.Parse(time.RFC3339, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.store.SetLinkExpiry(context.Background(), sess.LinkID, &at); err != nil {
				t.Fatal(err)
			}
			r := h.postNotification(notificationBody(signedNotification(t, sess.SessionToken, order, "success", key)))
			if r.status != http.StatusOK {
				t.Fatalf("verified success answered %d %s", r.status, r.body)
			}
			if s := h.session(sess.ID); s.Status != models.StatusPaid {
				t.Fatalf("session %s, want paid", s.Status)
			}
		})
	}
}
