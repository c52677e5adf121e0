package handlers_test

import (
	"context"
	"etpay-dashboard/testdb"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// Junk cannot starve customers' emails: 500 rejected notifications with two
// staff opted in to alerts queue at most two alert emails per person (a
// digest with counts by reason), and a link email queued afterwards reaches
// the SMTP server within 10 seconds.
func TestJunkAlertsAreADigest(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	h := startMailApp(t, testdb.URL(t, "test.db"), sink.url())
	ctx := context.Background()
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	admin := h.addUser("admin@shop.cl", models.RoleAdmin)
	for _, id := range []uint{1, admin.ID} {
		if err := h.store.SetMailAlerts(ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 500; i += 4 {
				body := fmt.Sprintf(`{"payment":"junk-%d"}`, i)
				if i%2 == 1 {
					body = fmt.Sprintf("not json %d", i)
				}
				req, _ := http.NewRequest(http.MethodPost, h.base+"/webhooks/etpay", strings.NewReader(body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()

	start := time.Now()
	createLinkWithEmail(t, staff, "OC-AFTER-JUNK", "12990", "cliente@correo.cl", "")
	deadline := start.Add(10 * time.Second)
	for !receivedFor(sink, "cliente@correo.cl") {
		if time.Now().After(deadline) {
			t.Fatalf("the link email did not reach the SMTP server within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("link email delivered %v after it was queued", time.Since(start).Round(time.Millisecond))

	time.Sleep(300 * time.Millisecond) // a few more polls of the worker
	perUser := map[string]int{}
	for _, m := range outboxRows(t, h.store) {
		if m.Kind == models.MailAlertRejected {
			perUser[m.To]++
		}
	}
	for _, to := range []string{"staff@shop.cl", "admin@shop.cl"} {
		if n := perUser[to]; n < 1 || n > 2 {
			t.Errorf("%s has %d rejected-notification alerts queued, want 1 or 2", to, n)
		}
	}
	var digest string
	for _, m := range sink.messages() {
		if m.to[0] == "admin@shop.cl" {
			digest = parseMail(t, m.data).text
		}
	}
	if !strings.Contains(digest, "no se pudieron aceptar") || !strings.Contains(digest, "/admin/overview") {
		t.Errorf("digest does not tell the rejected notifications by reason:\n%s", digest)
	}
}

func receivedFor(sink *smtpSink, to string) bool {
	for _, m := range sink.messages() {
		if m.to[0] == to {
			return true
		}
	}
	return false
}

// A link email still queued when its link is cancelled, paid or expired is
// withdrawn, shown so in the link's history, and never sent, not even after
// a restart.
func TestClosedLinksSendNoEmail(t *testing.T) {
	t.Parallel()
	sink := newStoppedSMTPSink(t)
	db := testdb.URL(t, "test.db")
	h := startMailApp(t, db, sink.url())
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	ctx := context.Background()

	cancelled := createLinkWithEmail(t, staff, "OC-CANCEL", "1000", "a@cliente.cl", "")
	if r := staff.submit(cancelled, cancelled+"/cancel", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.status)
	}
	expired := createLinkWithEmail(t, staff, "OC-EXPIRE", "1000", "b@cliente.cl", "")
	expiredLink := linkAt(t, h.harness, expired)
	past := time.Now().Add(-time.Minute)
	if err := h.store.SetLinkExpiry(ctx, expiredLink.ID, &past); err != nil {
		t.Fatal(err)
	}
	paid := createLinkWithEmail(t, staff, "OC-PAID", "1000", "c@cliente.cl", "")
	payThroughFunnel(t, h.browser(), h.base+"/pay/"+linkAt(t, h.harness, paid).Code, "approve")
	open := createLinkWithEmail(t, staff, "OC-OPEN", "1000", "d@cliente.cl", "")

	// Restart with the mail server up.
	h.stop()
	sink.start()
	h = startMailApp(t, db, sink.url())
	staff = h.browser()
	staff.login("staff@shop.cl")
	sink.wait(2, 15*time.Second) // the open link's email and the paid one's receipt
	// The expired link's email is withdrawn when the worker comes to it.
	waitOutbox(t, h.store, 15*time.Second, "three link emails withdrawn", func(rows []models.OutboxMessage) bool {
		n := 0
		for _, m := range rows {
			if m.Kind == models.MailLink && m.Status == models.MailWithdrawn {
				n++
			}
		}
		return n == 3
	})
	got := map[string]string{}
	for _, m := range sink.messages() {
		got[m.to[0]] += parseMail(t, m.data).subject + "\n"
	}
	for _, to := range []string{"a@cliente.cl", "b@cliente.cl"} {
		if got[to] != "" {
			t.Errorf("%s got %q for a closed link", to, got[to])
		}
	}
	if strings.Contains(got["c@cliente.cl"], "OC-PAID") && !strings.Contains(got["c@cliente.cl"], "recibimos tu pago") {
		t.Errorf("the paid link's customer got %q", got["c@cliente.cl"])
	}
	if strings.Count(got["c@cliente.cl"], "\n") != 1 {
		t.Errorf("the paid link's customer got %q, want only the receipt", got["c@cliente.cl"])
	}
	if got["d@cliente.cl"] == "" {
		t.Errorf("the open link's email was not sent")
	}
	for _, page := range []string{cancelled, expired, paid} {
		if body := staff.get(page).body; !strings.Contains(body, "Correo retirado sin enviar") {
			t.Errorf("%s does not show its email withdrawn", page)
		}
	}
	if body := staff.get(open).body; strings.Contains(body, "Correo retirado") {
		t.Errorf("the open link shows a withdrawn email")
	}
}

func linkAt(t *testing.T, h *harness, page string) *models.Link {
	t.Helper()
	var id uint
	fmt.Sscanf(page, "/admin/links/%d", &id)
	l, err := h.store.LinkByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
