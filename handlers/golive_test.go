package handlers_test

import (
	"encoding/csv"
	"etpay-dashboard/testdb"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// The go-live page reads its checklist from the real state: before a live
// payment it is not ready; after a real webhook notification paid a live
// session, the payment is listed with its payment_token for ETpay, in the
// email text and in the CSV.
func TestGoLiveChecklistFromRealState(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now()}
	h := newHarness(t, withEnv("BASE_URL", "https://pagos.tienda.cl"), withEnv("MERCHANT_NAME", "Tienda Ñuñoa"), withClock(clock.Now))
	admin := h.loggedInHTTPS("admin@shop.cl", models.RoleAdmin)
	page := html.UnescapeString(admin.get("/admin/golive").body)
	// Scheduled backups: none yet on SQLite; PostgreSQL's own, said so.
	for _, want := range []string{`id="golive-live_mode" data-ok="true"`, `id="golive-https" data-ok="true"`,
		`id="golive-notification" data-ok="false"`, `id="golive-payment" data-ok="false"`, `id="golive-backup" data-ok="` + strconv.FormatBool(testdb.OnPostgres()) + `"`,
		`id="golive-two_factor" data-ok="false"`,
		"Aún falta algo"} {
		if !strings.Contains(page, want) {
			t.Errorf("before any live payment the page lacks %s", want)
		}
	}
	s, key := h.pendingSession("OC-GOLIVE-1")
	if r := h.postNotification(notificationBody(signedNotification(t, s.SessionToken, "OC-GOLIVE-1", "success", key))); r.status != http.StatusOK {
		t.Fatalf("notification: %d", r.status)
	}
	admin.enrol(clock) // two-step verification on, through its page
	page = html.UnescapeString(admin.get("/admin/golive").body)
	for _, want := range []string{`id="golive-notification" data-ok="true"`, `id="golive-payment" data-ok="true"`,
		`id="golive-two_factor" data-ok="true"`,
		"OC-GOLIVE-1", "PT-success", "Somos Tienda Ñuñoa (código de comercio " + testMerchant + ")",
		"- Orden OC-GOLIVE-1 · payment_token PT-success · $1.000 · "} {
		if !strings.Contains(page, want) {
			t.Errorf("after a live payment the page lacks %q", want)
		}
	}
	r := admin.get("/admin/golive.csv")
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 2 || strings.Join(rows[0], ",") != "merchant_order_id,payment_token,order_amount,paid_at" ||
		rows[1][0] != "OC-GOLIVE-1" || rows[1][1] != "PT-success" || rows[1][2] != "1000" || !strings.HasSuffix(rows[1][3], "-03:00") {
		t.Fatalf("CSV %v (%v):\n%s", rows, err, r.body)
	}
	if !strings.Contains(r.header.Get("Content-Disposition"), "pagos-live-") {
		t.Errorf("CSV file name: %q", r.header.Get("Content-Disposition"))
	}
}

// plainJar keeps cookies by name and sends them all, Secure ones included:
// a browser behind a TLS proxy gets them over https, but the test talks to
// the app's plain loopback port.
type plainJar struct{ cookies map[string]*http.Cookie }

func (j *plainJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		j.cookies[c.Name] = c
	}
}

func (j *plainJar) Cookies(*url.URL) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// loggedInHTTPS is loggedIn for an app whose BASE_URL is https.
func (h *harness) loggedInHTTPS(email, role string) *browser {
	h.t.Helper()
	h.addUser(email, role)
	b := h.browser()
	b.client.Jar = &plainJar{cookies: map[string]*http.Cookie{}}
	b.login(email)
	return b
}
