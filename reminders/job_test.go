package reminders

import (
	"context"
	"etpay-dashboard/testdb"
	"log/slog"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/models"
)

// fixture is a store with one open link whose email the server took at sent.
type fixture struct {
	t     *testing.T
	store *models.Store
	job   *Job
	now   time.Time
	link  *models.Link
	sent  time.Time
}

func newFixture(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	env["DATABASE_URL"] = testdb.URL(t, "test.db")
	env["MERCHANT_NAME"] = "Tienda Ñuñoa"
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	store, err := models.Open(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{t: t, store: store}
	f.job = &Job{Config: cfg, Store: store, Logger: slog.New(slog.DiscardHandler), Shop: emails.FixedName(cfg.MerchantName),
		Now: func() time.Time { return f.now }}
	expires := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Minute)
	link, msg, err := store.CreateLinkWithEmail(context.Background(), models.LinkInput{MerchantOrderID: "OC-1", Amount: 12990,
		CustomerEmail: "ana@correo.cl", Mode: string(cfg.Mode), ExpiresAt: &expires}, func(l *models.Link) (*models.OutboxMessage, error) {
		return emails.Link(cfg, f.job.Shop, l, "en")
	})
	if err != nil {
		t.Fatal(err)
	}
	f.link, f.now = link, time.Now()
	f.sent = f.send(msg.ID)
	return f
}

// send claims and sends message id as the outbox worker would, at the
// fixture's now, and returns that time.
func (f *fixture) send(id uint) time.Time {
	f.t.Helper()
	m, err := f.store.ClaimDueMessage(context.Background(), time.Now(), time.Now().Add(time.Minute))
	if err != nil || m.ID != id {
		f.t.Fatalf("claim: %+v, %v; want message %d", m, err, id)
	}
	if err := f.store.MarkMessageSent(context.Background(), id, "250 ok", f.now); err != nil {
		f.t.Fatal(err)
	}
	return f.now
}

// reminders are the link's reminder emails.
func (f *fixture) reminders() []models.OutboxMessage {
	f.t.Helper()
	mails, err := f.store.LinkEmails(context.Background(), f.link.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []models.OutboxMessage
	for _, m := range mails {
		if m.Kind == models.MailReminder {
			out = append(out, m)
		}
	}
	return out
}

func (f *fixture) once() int {
	f.t.Helper()
	n, err := f.job.Once(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// With REMIND_MAX=1 the clock moved past REMIND_AFTER twice gives one
// reminder, in the language of the link's email, and no second.
func TestReminderSentOnce(t *testing.T) {
	f := newFixture(t, map[string]string{"REMIND_AFTER": "48h"})
	f.now = f.sent.Add(47 * time.Hour)
	if n := f.once(); n != 0 {
		t.Fatalf("%d reminders before REMIND_AFTER", n)
	}
	f.now = f.sent.Add(49 * time.Hour)
	if n := f.once(); n != 1 {
		t.Fatalf("%d reminders after REMIND_AFTER, want 1", n)
	}
	if n := f.once(); n != 0 {
		t.Fatalf("the same look again queued %d more", n)
	}
	got := f.reminders()
	if len(got) != 1 {
		t.Fatalf("reminders: %d", len(got))
	}
	r, _ := f.store.OutboxMessageByID(context.Background(), got[0].ID)
	for _, want := range []string{"Reminder from Tienda Ñuñoa", "OC-1"} {
		if !strings.Contains(r.Subject, want) {
			t.Errorf("subject %q lacks %q", r.Subject, want)
		}
	}
	for _, want := range []string{"$12.990", f.job.Config.URL("/pay/" + f.link.Code), "Valid until"} {
		if !strings.Contains(r.TextBody, want) || !strings.Contains(r.HTMLBody, want) {
			t.Errorf("reminder lacks %q:\n%s", want, r.TextBody)
		}
	}
	f.send(r.ID)
	f.now = f.now.Add(49 * time.Hour)
	if n := f.once(); n != 0 {
		t.Fatalf("REMIND_MAX=1, yet a second reminder")
	}
}

// A link paid before its reminder falls due gets none, however long after.
func TestNoReminderAfterPayment(t *testing.T) {
	f := newFixture(t, map[string]string{"REMIND_AFTER": "48h", "REMIND_MAX": "3"})
	ctx := context.Background()
	sess := &models.Session{LinkID: f.link.ID, SessionToken: "tok-1", SignatureToken: "sig", Mode: f.link.Mode}
	if err := f.store.AddSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	res, err := f.store.RecordNotification(ctx, models.NotificationInput{ReceivedAt: time.Now(), Body: []byte(`{}`), Verified: true,
		SessionToken: "tok-1", MerchantOrderID: "OC-1", PaymentToken: "pay-1", PaymentStatus: "success", Paid: true})
	if err != nil || res.Effect != models.EffectPaid {
		t.Fatalf("payment: %+v, %v", res, err)
	}
	for _, h := range []time.Duration{49, 200, 500} {
		f.now = f.sent.Add(h * time.Hour)
		if n := f.once(); n != 0 {
			t.Fatalf("%d reminders for a paid link, %dh after its email", n, h)
		}
	}
}

// Turned off by staff, a link gets no reminder; turned on again, it does.
func TestRemindersOff(t *testing.T) {
	f := newFixture(t, map[string]string{"REMIND_AFTER": "48h"})
	if err := f.store.SetLinkReminders(context.Background(), f.link.ID, true); err != nil {
		t.Fatal(err)
	}
	f.now = f.sent.Add(49 * time.Hour)
	if n := f.once(); n != 0 {
		t.Fatalf("%d reminders with reminders off", n)
	}
	if err := f.store.SetLinkReminders(context.Background(), f.link.ID, false); err != nil {
		t.Fatal(err)
	}
	if n := f.once(); n != 1 {
		t.Fatalf("%d reminders after turning them on again, want 1", n)
	}
}

// Without REMIND_AFTER there are no reminders, and Run returns at once.
func TestRemindersUnset(t *testing.T) {
	f := newFixture(t, map[string]string{})
	f.now = f.sent.Add(1000 * time.Hour)
	if n := f.once(); n != 0 {
		t.Fatalf("%d reminders with REMIND_AFTER unset", n)
	}
	f.job.Run(context.Background()) // would block on its ticker if it ran
}
