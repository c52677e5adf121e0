package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/emails"
	"etpay-dashboard/models"
	"etpay-dashboard/reminders"
)

// remindersAt is the reminders job of h's app with its clock at *now.
func remindersAt(h *harness, now *time.Time) *reminders.Job {
	return &reminders.Job{Config: h.cfg, Store: h.store, Logger: slog.New(slog.DiscardHandler), Shop: emails.FixedName("Tienda"),
		Now: func() time.Time { return *now }}
}

// sendQueued sends every queued email as the outbox worker would, accepted at.
func sendQueued(t *testing.T, h *harness, at time.Time) {
	t.Helper()
	ctx := context.Background()
	for {
		m, err := h.store.ClaimDueMessage(ctx, time.Now(), time.Now().Add(time.Minute))
		if err != nil {
			return
		}
		if err := h.store.MarkMessageSent(ctx, m.ID, "250 ok", at); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLinkReminders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("REMIND_AFTER", "48h"), withEnv("REMIND_MAX", "2"))
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	page := createLinkWithEmail(t, staff, "OC-R1", "12990", "ana@correo.cl", "")
	now := time.Now()
	sendQueued(t, h, now)
	job := remindersAt(h, &now)

	now = now.Add(49 * time.Hour)
	if n, err := job.Once(context.Background()); err != nil || n != 1 {
		t.Fatalf("reminders: %d, %v; want 1", n, err)
	}
	body := staff.get(page).body
	for _, want := range []string{`id="reminders"`, "Recordatorios enviados a este link: 1.", "hasta 2 en total", "2 días",
		`<span class="tag">Recordatorio de pago</span>`, "Desactivar recordatorios"} {
		if !strings.Contains(body, want) {
			t.Errorf("link page lacks %q", want)
		}
	}

	// Staff turn them off: the next one, due after the first went out, never comes.
	sendQueued(t, h, now)
	r := staff.submit(page, page+"/reminders", url.Values{"reminders_off": {"1"}})
	if r.status != http.StatusSeeOther || staff.followDone(r) != "Recordatorios desactivados para este link." {
		t.Fatalf("turn off: %d", r.status)
	}
	now = now.Add(49 * time.Hour)
	if n, _ := job.Once(context.Background()); n != 0 {
		t.Fatalf("%d reminders with reminders off", n)
	}
	body = staff.get(page).body
	if !strings.Contains(body, "Los recordatorios de este link están desactivados.") || !strings.Contains(body, "Activar recordatorios") {
		t.Error("link page does not say reminders are off")
	}
	entries, _ := h.store.AuditEntries(context.Background(), models.AuditPage{})
	if entries[0].Action != models.AuditReminders || entries[0].Detail != "OC-R1: off" {
		t.Errorf("audit: %+v", entries[0])
	}
	if r := staff.submit(page, page+"/reminders", url.Values{"reminders_off": {"maybe"}}); r.status != http.StatusBadRequest {
		t.Errorf("reminders_off=maybe: %d, want 400", r.status)
	}
}

// A link paid through the funnel gets no reminder, however long after; an
// unpaid one beside it gets its one.
func TestNoReminderAfterPaying(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("REMIND_AFTER", "48h"))
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	paid := linkAt(t, h, createLinkWithEmail(t, staff, "OC-R2", "12990", "ana@correo.cl", ""))
	unpaid := linkAt(t, h, createLinkWithEmail(t, staff, "OC-R3", "12990", "luis@correo.cl", ""))
	sent := time.Now()
	sendQueued(t, h, sent)
	payThroughFunnel(t, h.browser(), h.base+"/pay/"+paid.Code, "approve")
	if l, _ := h.store.LinkByID(context.Background(), paid.ID); l.Status != models.LinkPaid {
		t.Fatalf("link is %s after paying", l.Status)
	}
	now := sent.Add(49 * time.Hour)
	job := remindersAt(h, &now)
	if n, err := job.Once(context.Background()); err != nil || n != 1 {
		t.Fatalf("%d reminders (%v), want 1: the unpaid link's", n, err)
	}
	now = sent.Add(200 * time.Hour)
	if n, err := job.Once(context.Background()); err != nil || n != 0 {
		t.Fatalf("%d more reminders (%v)", n, err)
	}
	for _, l := range []*models.Link{paid, unpaid} {
		mails, _ := h.store.LinkEmails(context.Background(), l.ID)
		var reminded int
		for _, m := range mails {
			if m.Kind == models.MailReminder {
				reminded++
			}
		}
		if want := map[uint]int{paid.ID: 0, unpaid.ID: 1}[l.ID]; reminded != want {
			t.Errorf("%s: %d reminders, want %d", l.MerchantOrderID, reminded, want)
		}
	}
}

// The import's pages, a link's reminders and their audit entries speak Spanish.
func TestImportAndRemindersSpeakSpanish(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("REMIND_AFTER", "48h"))
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	preview := admin.uploadOK("pedidos.csv", chileanCSV(t, "merchant_order_id;order_amount;customer_email;description",
		"OC-1;$12.990;ana@correo.cl;Suscripción", "OC-1;1000;;", "OC-2;0;x;"))
	pages := []string{"/admin/links/import", preview}
	for _, p := range pages {
		if found := englishIn(visibleText(t, admin.get(p).body)); len(found) > 0 {
			t.Errorf("%s shows English in Spanish: %q", p, found)
		}
	}
	admin.submit(preview, preview, url.Values{"send_email": {"on"}})
	link := linkAt(t, h, "/admin/links/1")
	now := time.Now()
	sendQueued(t, h, now)
	now = now.Add(49 * time.Hour)
	if n, _ := remindersAt(h, &now).Once(context.Background()); n != 1 {
		t.Fatalf("reminders: %d", n)
	}
	admin.submit(linkPathOf(link), linkPathOf(link)+"/reminders", url.Values{"reminders_off": {"1"}})
	for _, p := range []string{preview, linkPathOf(link), "/admin/audit", "/admin/outbox"} {
		page := admin.get(p)
		if page.status != http.StatusOK {
			t.Errorf("GET %s: %d", p, page.status)
		}
		if found := englishIn(visibleText(t, page.body)); len(found) > 0 {
			t.Errorf("%s shows English in Spanish: %q\n%s", p, found, visibleText(t, page.body))
		}
	}
	audit := admin.get("/admin/audit").body
	for _, want := range []string{"pedidos.csv: 1 links creados (con correo), 2 filas rechazadas", "OC-1: recordatorios desactivados"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
}
