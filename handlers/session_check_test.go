package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"

	"etpay-dashboard/models"
)

// lostPayment makes a link, pays it in the sandbox, and returns its session,
// which stays pending because the notification never arrives.
func lostPayment(t *testing.T, h *harness, staff *browser) models.Session {
	t.Helper()
	payURL := staff.createLink("OC-LOST", "7990")
	payThroughFunnel(t, h.browser(), payURL, "approve")
	s := onlySession(t, h)
	if s.Status != models.StatusPending {
		t.Fatalf("the notification was not lost: %s", s.Status)
	}
	return s
}

func TestCheckWithETpayRecoversALostNotification(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withLostNotifications())
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	s := lostPayment(t, h, staff)

	page := "/admin/sessions/" + itoa(s.ID)
	r := staff.submit(page, page+"/check", url.Values{})
	if r.status != http.StatusSeeOther {
		t.Fatalf("check: %d", r.status)
	}
	after := h.session(s.ID)
	if after.Status != models.StatusPaid || after.PaymentToken == "" {
		t.Fatalf("after the check (%s) the session is %s %q", r.header.Get("Location"), after.Status, after.PaymentToken)
	}
	notes := h.notifications(s.ID)
	if len(notes) != 1 || notes[0].Source != "status_query" || notes[0].Verdict != models.VerdictVerified || notes[0].Effect != models.EffectPaid {
		t.Fatalf("timeline: %+v", notes)
	}
	shown := staff.get(r.header.Get("Location"))
	if !strings.Contains(shown.body, "consulta de estado a ETpay") || !strings.Contains(shown.body, "quedó registrada") {
		t.Fatalf("session page does not show the status query:\n%s", shown.body)
	}
	// Checking again changes nothing: the answer is a duplicate.
	staff.submit(page, page+"/check", url.Values{})
	if notes := h.notifications(s.ID); len(notes) != 2 || notes[1].Verdict != models.VerdictDuplicate {
		t.Fatalf("second check: %+v", notes)
	}
}

func TestCheckWithETpayEmptyAnswerIsNoNews(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	s, _ := h.pendingSession("OC-1") // opened, never paid: ETpay has nothing to say
	page := "/admin/sessions/" + itoa(s.ID)
	r := staff.submit(page, page+"/check", url.Values{})
	if got := h.session(s.ID).Status; got != models.StatusPending {
		t.Fatalf("an empty answer made the session %s", got)
	}
	if notes := h.notifications(s.ID); len(notes) != 0 {
		t.Fatalf("an empty answer stored %d notifications", len(notes))
	}
	if !strings.Contains(staff.get(r.header.Get("Location")).body, "aún no tiene novedades") {
		t.Fatal("no 'no news' notice")
	}
}

func TestReconciliationJobFindsOverdueSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withLostNotifications(), withJobs(), withEnv("RECONCILE_AFTER", "200ms"))
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	s := lostPayment(t, h, staff)
	deadline := time.Now().Add(10 * time.Second)
	for h.session(s.ID).Status != models.StatusPaid {
		if time.Now().After(deadline) {
			t.Fatal("the background job did not reconcile the session within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReplayOfAnAppliedNotificationChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	staff := h.browser()
	staff.login("staff@shop.cl")
	s, key := h.pendingSession("OC-1")
	h.postNotification(notificationBody(signedNotification(t, s.SessionToken, "OC-1", "success", key)))
	first := h.notifications(s.ID)[0]

	page := "/admin/sessions/" + itoa(s.ID)
	viewer := h.browser()
	viewer.login("viewer@shop.cl")
	if r := viewer.submit(page, "/admin/notifications/"+itoa(first.ID)+"/replay", url.Values{}); r.status != http.StatusForbidden {
		t.Fatalf("viewer replay: %d, want 403", r.status)
	}
	r := staff.submit(page, "/admin/notifications/"+itoa(first.ID)+"/replay", url.Values{})
	if r.status != http.StatusSeeOther {
		t.Fatalf("replay: %d", r.status)
	}
	notes := h.notifications(s.ID)
	if len(notes) != 2 || notes[1].Source != "replay" || notes[1].Verdict != models.VerdictDuplicate || notes[1].Effect != models.EffectNone {
		t.Fatalf("after replay: %+v", notes)
	}
	if after := h.session(s.ID); after.Status != models.StatusPaid || after.PaidAt == nil || !after.PaidAt.Equal(*h.session(s.ID).PaidAt) {
		t.Fatalf("replay changed the session: %+v", after)
	}
	if body := staff.get(page).body; !strings.Contains(body, "procesada de nuevo por staff@shop.cl") {
		t.Fatal("the timeline does not show the replay")
	}
}

func TestWebhookAnswers503WhileStorageIsBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withStoreOptions(models.WithBusyTimeout(200*time.Millisecond)))
	s, key := h.pendingSession("OC-1")

	// Another process holds the lock longer than the busy timeout.
	release := holdWriteLock(t, h, s.ID)
	body := notificationBody(signedNotification(t, s.SessionToken, "OC-1", "success", key))
	r := h.postNotification(body)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("answered %d (Retry-After %q), want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	release()

	if notes := h.notifications(s.ID); len(notes) != 0 {
		t.Fatalf("a 503 left %d rows behind", len(notes))
	}
	if r := h.postNotification(body); r.status != http.StatusOK {
		t.Fatalf("retry answered %d", r.status)
	}
	if got := h.session(s.ID).Status; got != models.StatusPaid {
		t.Fatalf("after the retry the session is %s", got)
	}
}
