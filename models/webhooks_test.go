package models

import (
	"context"
	"encoding/json"
	"errors"
	"etpay-dashboard/testdb"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// openHookStore opens a store whose webhooks carry links on base.
func openHookStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), testdb.URL(t, "test.db"), WithPasswordCost(bcrypt.MinCost),
		WithBaseURL("https://pagos.tienda.cl/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustEndpoint(t *testing.T, s *Store, url string, events ...string) *WebhookEndpoint {
	t.Helper()
	e, err := s.CreateWebhookEndpoint(context.Background(), WebhookEndpointInput{URL: url, Events: events, Secret: "whsec_c2VjcmV0"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sentEvent is a queued event with its delivery, as a test reads it.
type sentEvent struct {
	MsgID, Type, Body string
	EndpointID        uint
	LinkID            *uint
}

func queuedEvents(t *testing.T, s *Store) []sentEvent {
	t.Helper()
	var rows []sentEvent
	err := s.read.Raw("SELECT e.msg_id, e.type, e.body, d.endpoint_id, e.link_id FROM webhook_deliveries d " +
		"JOIN webhook_events e ON e.id = d.event_id ORDER BY d.id").Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// body is the decoded body of a webhook.
type body struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		Link    *LinkView    `json:"link"`
		Session *SessionView `json:"session"`
	} `json:"data"`
}

func decode(t *testing.T, raw string) body {
	t.Helper()
	var b body
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	return b
}

// Without an endpoint nothing is queued; an endpoint gets only the types
// it subscribed to, while enabled, with the link as the API shows it.
func TestLinkEventsQueuedWithTheirChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	mustLink(t, s, "OC-0", "sandbox")
	if n := countRows(t, s, &WebhookEvent{}); n != 0 {
		t.Fatalf("%d events without an endpoint", n)
	}
	created := mustEndpoint(t, s, "https://shop.example/a", EventLinkCreated)
	cancelled := mustEndpoint(t, s, "https://shop.example/b", EventLinkCancelled, "no.such.type")
	if cancelled.Events != EventLinkCancelled {
		t.Errorf("events stored %q", cancelled.Events)
	}
	l := mustLink(t, s, "OC-1", "sandbox")
	if err := s.CancelLink(ctx, l.ID, 0); err != nil {
		t.Fatal(err)
	}
	got := queuedEvents(t, s)
	if len(got) != 2 || got[0].Type != EventLinkCreated || got[0].EndpointID != created.ID ||
		got[1].Type != EventLinkCancelled || got[1].EndpointID != cancelled.ID {
		t.Fatalf("queued %+v", got)
	}
	b := decode(t, got[1].Body)
	if b.Type != EventLinkCancelled || b.Data.Link == nil || b.Data.Link.Status != LinkCancelled || b.Data.Session != nil ||
		b.Data.Link.URL != "https://pagos.tienda.cl/pay/"+l.Code || !strings.HasPrefix(got[1].MsgID, "msg_") {
		t.Fatalf("body %s", got[1].Body)
	}
	if !strings.Contains(got[1].Body, `"session":null`) {
		t.Errorf("a link event's session is not null: %s", got[1].Body)
	}
	if err := s.SetWebhookEndpointEnabled(ctx, created.ID, false); err != nil {
		t.Fatal(err)
	}
	mustLink(t, s, "OC-2", "sandbox")
	if n := len(queuedEvents(t, s)); n != 2 {
		t.Fatalf("a disabled endpoint got an event: %d deliveries", n)
	}
	if s.hooks().wants(EventLinkCreated) {
		t.Error("the snapshot still wants link.created with its only endpoint disabled")
	}
}

// A payment and its event are one transaction: when the event cannot be
// stored, the payment is not recorded either, and ETpay's retry records both.
func TestPaymentNeverRecordedWithoutItsEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	mustEndpoint(t, s, "https://shop.example/hook", EventPaymentSucceeded, EventPaymentFailed)
	l := mustLink(t, s, "OC-9", "live")
	sess := mustSession(t, s, l, "tok-a")
	allow := refuseInserts(t, s, "refuse", "webhook_deliveries", "", "disk full")
	if _, err := s.RecordNotification(ctx, success("tok-a", "pay-1").input("OC-9")); err == nil {
		t.Fatal("recorded a payment whose event could not be queued")
	}
	if got := sessionStatus(t, s, sess.ID); got != StatusPending || countRows(t, s, &Notification{}) != 0 {
		t.Fatalf("after a failed event the session is %s", got)
	}
	allow()
	if _, err := s.RecordNotification(ctx, success("tok-a", "pay-1").input("OC-9")); err != nil {
		t.Fatal(err)
	}
	got := queuedEvents(t, s)
	if sessionStatus(t, s, sess.ID) != StatusPaid || len(got) != 1 || got[0].Type != EventPaymentSucceeded {
		t.Fatalf("after the retry: %+v", got)
	}
	b := decode(t, got[0].Body)
	if b.Data.Session == nil || b.Data.Session.Status != StatusPaid || b.Data.Session.PaymentToken != "pay-1" ||
		b.Data.Link == nil || b.Data.Link.Status != LinkPaid || b.Data.Link.ID != l.ID || b.Data.Link.CreatedAt == (APITime{}) {
		t.Fatalf("body %s", got[0].Body)
	}
	// A duplicate changes nothing and queues nothing; a failure on another
	// session queues payment.failed.
	other := mustSession(t, s, mustLink(t, s, "OC-10", "live"), "tok-b")
	for _, n := range []NotificationInput{success("tok-a", "pay-1").input("OC-9"), failure("tok-b", "pay-2").input("OC-10")} {
		if _, err := s.RecordNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	got = queuedEvents(t, s)
	if len(got) != 2 || got[1].Type != EventPaymentFailed || decode(t, got[1].Body).Data.Session.ID != other.ID {
		t.Fatalf("queued %+v", got)
	}
}

// link.expired is queued once per link when its expiry passes, to the
// endpoints that existed then; an expiry set in the past by staff queues
// it at once.
func TestLinkExpiredQueuedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	mustEndpoint(t, s, "https://shop.example/hook", EventLinkExpired)
	soon := time.Now().Add(time.Hour)
	l, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-1", Amount: 1000, Mode: "live", ExpiresAt: &soon})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.QueueLinkExpiries(ctx, time.Now()); n != 0 || err != nil {
		t.Fatalf("before the expiry: %d, %v", n, err)
	}
	for range 2 {
		if n, err := s.QueueLinkExpiries(ctx, soon.Add(time.Minute)); err != nil || len(queuedEvents(t, s)) != 1 {
			t.Fatalf("after the expiry: queued %d, %v; events %+v", n, err, queuedEvents(t, s))
		}
	}
	b := decode(t, queuedEvents(t, s)[0].Body)
	if b.Type != EventLinkExpired || b.Data.Link.ID != l.ID || b.Data.Link.Status != LinkExpired {
		t.Fatalf("body %+v", b)
	}
	// Staff expire another link now.
	other := mustLink(t, s, "OC-2", "live")
	past := time.Now().Add(-time.Minute)
	if err := s.SetLinkExpiry(ctx, other.ID, &past); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.QueueLinkExpiries(ctx, soon.Add(2*time.Minute)); n != 0 || len(queuedEvents(t, s)) != 2 {
		t.Fatalf("staff's expiry: %+v", queuedEvents(t, s))
	}
	later := soon.Add(150 * time.Second) // after where the job stopped
	third, _ := s.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-3", Amount: 1000, Mode: "live", ExpiresAt: &later})
	if _, err := s.QueueLinkExpiries(ctx, soon.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := queuedEvents(t, s); len(got) != 3 || *got[2].LinkID != third.ID {
		t.Fatalf("queued %+v", got)
	}
	// A link made already expired is announced as it is made.
	mustEndpoint(t, s, "https://shop.example/created", EventLinkCreated)
	fourth, _ := s.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-4", Amount: 1000, Mode: "live", ExpiresAt: &past})
	got := queuedEvents(t, s)
	if len(got) != 5 || got[3].Type != EventLinkCreated || got[4].Type != EventLinkExpired || *got[4].LinkID != fourth.ID {
		t.Fatalf("a link made expired: %+v", got)
	}
}

// An endpoint made after a link expired, but before the expiry job saw it
// (the server was down), does not hear of that expiry.
func TestLinkExpiredOnlyToEndpointsThatExisted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	early := mustEndpoint(t, s, "https://shop.example/early", EventLinkExpired)
	soon := time.Now().Add(time.Hour)
	l, _ := s.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-1", Amount: 1000, Mode: "live", ExpiresAt: &soon})
	late := mustEndpoint(t, s, "https://shop.example/late", EventLinkExpired)
	between := early.CreatedAt.Add(late.CreatedAt.Sub(early.CreatedAt) / 2)
	if err := s.write.Exec("UPDATE links SET expires_at = ? WHERE id = ?", between.UTC(), l.ID).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := s.QueueLinkExpiries(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := queuedEvents(t, s); len(got) != 1 || got[0].EndpointID != early.ID {
		t.Fatalf("queued %+v, want one to endpoint %d", got, early.ID)
	}
}

// The worker's claim keeps a link's events in order per endpoint, takes one
// delivery per endpoint at a time, and skips busy and disabled endpoints.
func TestClaimKeepsOrderPerLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	a := mustEndpoint(t, s, "https://a.example/", EventLinkCreated, EventLinkCancelled)
	b := mustEndpoint(t, s, "https://b.example/", EventLinkCreated)
	l := mustLink(t, s, "OC-1", "live")
	if err := s.CancelLink(ctx, l.ID, 0); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	due, err := s.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), nil, 10)
	if err != nil || len(due) != 2 || due[0].EndpointID != a.ID || due[0].Type != EventLinkCreated || due[1].EndpointID != b.ID {
		t.Fatalf("first claim: %+v, %v", due, err)
	}
	if due[0].Attempt != 1 || len(due[0].Secrets) != 1 {
		t.Errorf("claimed %+v", due[0])
	}
	toB := WebhookResult{DeliveryID: due[1].DeliveryID, EndpointID: b.ID, At: now, StatusCode: 200, Delivered: true}
	if _, err := s.RecordWebhookAttempt(ctx, toB, nil); err != nil {
		t.Fatal(err)
	}
	// link.cancelled waits for link.created to reach a.
	if again, _ := s.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), nil, 10); len(again) != 0 {
		t.Fatalf("claimed while the first was being sent: %+v", again)
	}
	retry := WebhookResult{DeliveryID: due[0].DeliveryID, EndpointID: a.ID, At: now, StatusCode: 503, Next: now.Add(time.Hour)}
	if _, err := s.RecordWebhookAttempt(ctx, retry, nil); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ClaimWebhookDeliveries(ctx, now.Add(time.Minute), now.Add(2*time.Minute), nil, 10); len(again) != 0 {
		t.Fatalf("a later event overtook one in back-off: %+v", again)
	}
	later := now.Add(2 * time.Hour)
	if busy, _ := s.ClaimWebhookDeliveries(ctx, later, later.Add(time.Minute), []uint{a.ID}, 10); len(busy) != 0 {
		t.Fatalf("claimed for a busy endpoint: %+v", busy)
	}
	next, _ := s.ClaimWebhookDeliveries(ctx, later, later.Add(time.Minute), nil, 10)
	if len(next) != 1 || next[0].MsgID != due[0].MsgID || next[0].Attempt != 2 {
		t.Fatalf("retry claimed %+v, want %s again", next, due[0].MsgID)
	}
	ok := WebhookResult{DeliveryID: next[0].DeliveryID, EndpointID: a.ID, At: later, StatusCode: 200, Delivered: true}
	if _, err := s.RecordWebhookAttempt(ctx, ok, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWebhookEndpointEnabled(ctx, b.ID, false); err != nil {
		t.Fatal(err)
	}
	last, _ := s.ClaimWebhookDeliveries(ctx, later, later.Add(time.Minute), nil, 10)
	if len(last) != 1 || last[0].Type != EventLinkCancelled || last[0].EndpointID != a.ID {
		t.Fatalf("after delivery: %+v", last)
	}
}

// Five days of failures without a success disable an endpoint and queue
// an email to each enabled admin, once; a success in between starts over.
func TestEndpointDisabledAfterFiveDaysOfFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	admin, err := s.CreateUser(ctx, "admin@shop.cl", "x", RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "staff@shop.cl", "x", RoleStaff); err != nil {
		t.Fatal(err)
	}
	e := mustEndpoint(t, s, "https://down.example/", EventLinkCreated)
	alert := func(ep *WebhookEndpoint, admins []User) ([]*OutboxMessage, error) {
		var out []*OutboxMessage
		for _, a := range admins {
			out = append(out, &OutboxMessage{Kind: MailAlertWebhook, To: a.Email, Subject: "off " + ep.URL, MessageID: newMsgID() + "@x"})
		}
		return out, nil
	}
	start := time.Now().Add(time.Minute) // after every delivery is queued
	attempt := func(at time.Time, ok bool) *WebhookEndpoint {
		t.Helper()
		mustLink(t, s, "OC-"+at.Format(time.RFC3339Nano), "live")
		due, err := s.ClaimWebhookDeliveries(ctx, at, at.Add(time.Minute), nil, 1)
		if err != nil || len(due) != 1 {
			t.Fatalf("claim at %v: %+v, %v", at, due, err)
		}
		r := WebhookResult{DeliveryID: due[0].DeliveryID, EndpointID: e.ID, At: at, Delivered: ok}
		off, err := s.RecordWebhookAttempt(ctx, r, alert)
		if err != nil {
			t.Fatal(err)
		}
		return off
	}
	attempt(start, false)
	attempt(start.Add(3*24*time.Hour), true) // a success: the run starts over
	attempt(start.Add(4*24*time.Hour), false)
	if off := attempt(start.Add(8*24*time.Hour), false); off != nil {
		t.Fatalf("disabled after 4 days of failures")
	}
	off := attempt(start.Add(9*24*time.Hour+time.Second), false)
	if off == nil || off.DisabledReason != DisabledFailing {
		t.Fatalf("not disabled after 5 days: %+v", off)
	}
	got, _ := s.WebhookEndpointByID(ctx, e.ID)
	msgs, _ := s.OutboxMessages(ctx, OutboxFilter{})
	if got.Enabled || len(msgs) != 1 || msgs[0].To != admin.Email || msgs[0].Kind != MailAlertWebhook {
		t.Fatalf("endpoint %+v, emails %+v", got, msgs)
	}
	if err := s.SetWebhookEndpointEnabled(ctx, e.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.WebhookEndpointByID(ctx, e.ID); !got.Enabled || got.FailingSince != nil {
		t.Fatalf("enabled again: %+v", got)
	}
}

// A test event goes to its endpoint only; a resend re-queues the same
// webhook-id; deleting an endpoint takes its deliveries and log along.
func TestTestEventResendAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	a := mustEndpoint(t, s, "https://a.example/", EventLinkCreated)
	mustEndpoint(t, s, "https://b.example/", EventLinkCreated)
	id, err := s.QueueWebhookTest(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := queuedEvents(t, s)
	if len(got) != 1 || got[0].MsgID != id || got[0].EndpointID != a.ID || decode(t, got[0].Body).Type != EventTest {
		t.Fatalf("test event: %+v", got)
	}
	if _, err := s.QueueWebhookTest(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("test for a missing endpoint: %v", err)
	}
	now := time.Now()
	due, _ := s.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), nil, 5)
	if _, err := s.RecordWebhookAttempt(ctx, WebhookResult{DeliveryID: due[0].DeliveryID, EndpointID: a.ID, At: now,
		StatusCode: 204, Delivered: true, Answer: strings.Repeat("x", 5000)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ResendWebhookDelivery(ctx, a.ID, due[0].DeliveryID); err != nil {
		t.Fatal(err)
	}
	again, _ := s.ClaimWebhookDeliveries(ctx, time.Now(), time.Now().Add(time.Minute), nil, 5)
	if len(again) != 1 || again[0].MsgID != id {
		t.Fatalf("resend claimed %+v", again)
	}
	log, _ := s.WebhookLog(ctx, a.ID, 10)
	if len(log) != 1 || len(log[0].Answer) != WebhookAnswerKeep || log[0].MsgID != id || log[0].StatusCode != 204 {
		t.Fatalf("log %+v", log)
	}
	if err := s.DeleteWebhookEndpoint(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, &WebhookDelivery{}) + countRows(t, s, &WebhookAttempt{}); n != 0 {
		t.Fatalf("%d rows left of a deleted endpoint", n)
	}
	if err := s.DeleteWebhookEndpoint(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

// A rotation keeps the previous secret signing for a day.
func TestRotationOverlap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	e := mustEndpoint(t, s, "https://a.example/", EventLinkCreated)
	now := time.Now()
	if err := s.RotateWebhookSecret(ctx, e.ID, "whsec_bmV3", now); err != nil {
		t.Fatal(err)
	}
	got, _ := s.WebhookEndpointByID(ctx, e.ID)
	if sec := got.Secrets(now.Add(23 * time.Hour)); len(sec) != 2 || sec[0] != "whsec_bmV3" || sec[1] != e.Secret {
		t.Fatalf("during the overlap: %v", sec)
	}
	if sec := got.Secrets(now.Add(24 * time.Hour)); len(sec) != 1 || sec[0] != "whsec_bmV3" {
		t.Fatalf("after the overlap: %v", sec)
	}
}

// A second rotation within the overlap (a double click on "Rotar secreto",
// or a reload that posts it again) keeps every secret the shop may still
// hold signing for a day: the first one, which the shop has not replaced
// yet, and the one in between, which it may have.
func TestRotationDuringTheOverlapKeepsEarlierSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	e := mustEndpoint(t, s, "https://a.example/", EventLinkCreated)
	now := time.Now()
	if err := s.RotateWebhookSecret(ctx, e.ID, "whsec_bmV3", now); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateWebhookSecret(ctx, e.ID, "whsec_dGhpcmQ=", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.WebhookEndpointByID(ctx, e.ID)
	if sec := got.Secrets(now.Add(23 * time.Hour)); !slices.Equal(sec, []string{"whsec_dGhpcmQ=", "whsec_bmV3", e.Secret}) {
		t.Fatalf("during the overlap: %v, want the new, the one in between and the first", sec)
	}
	if sec := got.Secrets(now.Add(25 * time.Hour)); !slices.Equal(sec, []string{"whsec_dGhpcmQ="}) {
		t.Fatalf("after the overlap: %v", sec)
	}
	// Past the overlap a rotation starts afresh: the expired secrets sign no more.
	if err := s.RotateWebhookSecret(ctx, e.ID, "whsec_Zm91cnRo", now.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.WebhookEndpointByID(ctx, e.ID)
	if sec := got.Secrets(now.Add(26 * time.Hour)); !slices.Equal(sec, []string{"whsec_Zm91cnRo", "whsec_dGhpcmQ="}) {
		t.Fatalf("a rotation after the overlap: %v", sec)
	}
}

// Every path that makes a link queues its link.created: the panel's, the
// panel's with an email, and the API's idempotent one (which once did not).
func TestEveryWayOfMakingALinkQueuesLinkCreated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	mustEndpoint(t, s, "https://shop.example/a", EventLinkCreated)
	mustLink(t, s, "OC-1", "sandbox")
	email := func(l *Link) (*OutboxMessage, error) {
		return &OutboxMessage{Kind: MailLink, To: "c@example.com", Subject: "link", TextBody: "x"}, nil
	}
	if _, _, err := s.CreateLinkWithEmail(ctx, LinkInput{MerchantOrderID: "OC-2", Amount: 1000, Mode: "sandbox"}, email); err != nil {
		t.Fatal(err)
	}
	answer := func(l *Link) (int, []byte, error) { return 201, []byte("{}"), nil }
	req := IdempotentRequest{APIKeyID: 1, Key: "k", RequestHash: "h", At: time.Now()}
	if _, _, err := s.CreateLinkOnce(ctx, LinkInput{MerchantOrderID: "OC-3", Amount: 1000, Mode: "sandbox"}, nil, req, answer); err != nil {
		t.Fatal(err)
	}
	var orders []string
	for _, e := range queuedEvents(t, s) {
		if e.Type == EventLinkCreated {
			orders = append(orders, decode(t, e.Body).Data.Link.MerchantOrderID)
		}
	}
	if strings.Join(orders, ",") != "OC-1,OC-2,OC-3" {
		t.Fatalf("link.created queued for %v, want OC-1, OC-2 and OC-3", orders)
	}
}

// An endpoint gets one delivery at a time: a payment's event goes before a
// backlog of other events (an import's link.created), while a link's own
// events still go in order.
func TestPaymentEventsGoBeforeABacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	a := mustEndpoint(t, s, "https://a.example/", EventLinkCreated, EventPaymentSucceeded)
	paid := mustLink(t, s, "OC-PAID", "sandbox")
	now := time.Now()
	first, err := s.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), nil, 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("paid link's link.created: %+v, %v", first, err)
	}
	done := WebhookResult{DeliveryID: first[0].DeliveryID, EndpointID: a.ID, At: now, StatusCode: 200, Delivered: true}
	if _, err := s.RecordWebhookAttempt(ctx, done, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		mustLink(t, s, fmt.Sprintf("OC-IMPORT-%d", i), "sandbox")
	}
	fresh := mustLink(t, s, "OC-FRESH", "sandbox") // paid before its link.created went out
	for _, l := range []*Link{paid, fresh} {
		mustSession(t, s, l, "tok-"+l.MerchantOrderID)
		if _, err := s.RecordNotification(ctx, success("tok-"+l.MerchantOrderID, "pay-"+l.MerchantOrderID).input(l.MerchantOrderID)); err != nil {
			t.Fatal(err)
		}
	}
	now = time.Now()
	var order []string
	for range 3 {
		due, err := s.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), nil, 1)
		if err != nil || len(due) != 1 {
			t.Fatalf("claim: %+v, %v", due, err)
		}
		order = append(order, due[0].Type+" "+decode(t, due[0].Body).Data.Link.MerchantOrderID)
		ok := WebhookResult{DeliveryID: due[0].DeliveryID, EndpointID: a.ID, At: now, StatusCode: 200, Delivered: true}
		if _, err := s.RecordWebhookAttempt(ctx, ok, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"payment.succeeded OC-PAID", "link.created OC-IMPORT-0", "link.created OC-IMPORT-1"}
	if !slices.Equal(order, want) {
		t.Errorf("delivered %q, want %q (OC-FRESH's payment waits for its link.created)", order, want)
	}
}

// An endpoint gets only the events of the mode it was added in: one added
// while testing in sandbox never receives live customers' payments. An
// endpoint from before modes gets every event until a start adopts it.
func TestEndpointsGetTheirOwnModesEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openHookStore(t)
	add := func(url, mode string) *WebhookEndpoint {
		e, err := s.CreateWebhookEndpoint(ctx, WebhookEndpointInput{URL: url, Events: []string{EventLinkCreated}, Secret: "whsec_c2VjcmV0", Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	sandbox, live, old := add("https://sandbox.example/", "sandbox"), add("https://live.example/", "live"), add("https://old.example/", "")
	mustLink(t, s, "OC-LIVE", "live")
	got := map[uint]int{}
	for _, ev := range queuedEvents(t, s) {
		got[ev.EndpointID]++
	}
	if got[live.ID] != 1 || got[sandbox.ID] != 0 || got[old.ID] != 1 {
		t.Fatalf("a live link's link.created went to %v; want live %d and old %d once, sandbox %d never", got, live.ID, old.ID, sandbox.ID)
	}
	if err := s.AdoptWebhookEndpoints(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	mustLink(t, s, "OC-LIVE-2", "live")
	clear(got)
	for _, ev := range queuedEvents(t, s) {
		got[ev.EndpointID]++
	}
	if got[live.ID] != 2 || got[old.ID] != 1 || got[sandbox.ID] != 0 {
		t.Errorf("after the old endpoint adopted sandbox: %v", got)
	}
	// An admin's test event goes to the endpoint named, whatever its mode.
	if _, err := s.QueueWebhookTest(ctx, sandbox.ID); err != nil {
		t.Fatal(err)
	}
	clear(got)
	for _, ev := range queuedEvents(t, s) {
		got[ev.EndpointID]++
	}
	if got[sandbox.ID] != 1 {
		t.Errorf("test event to the sandbox endpoint: %v", got)
	}
}
