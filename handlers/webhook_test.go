package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

func itoa(id uint) string { return strconv.FormatUint(uint64(id), 10) }

func signedNotification(t *testing.T, sessionToken, order, status, key string) string {
	t.Helper()
	tok, err := etpay.SignNotification(etpay.NotificationClaims{
		SessionToken: sessionToken, MerchantOrderID: order, PaymentToken: "PT-" + status, PaymentStatus: status,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func notificationBody(token string) string {
	b, _ := json.Marshal(map[string]string{"payment": token})
	return string(b)
}

// forgeToken builds a token with any header, HMAC-SHA256 signed with key, as an attacker would.
func forgeToken(header, claims map[string]any, key string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsigned := enc(header) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// postNotification sends body to the webhook the way ETpay's SDK does: no Content-Type.
func (h *harness) postNotification(body string) response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.base+"/webhooks/etpay", strings.NewReader(body))
	req.Header.Del("Content-Type")
	return h.browser().do(req)
}

// pendingSession makes a link and opens it, returning its session and signing key.
func (h *harness) pendingSession(order string) (models.Session, string) {
	h.t.Helper()
	ctx := context.Background()
	link, err := h.store.CreateLink(ctx, models.LinkInput{MerchantOrderID: order, Amount: 1000, Mode: "live"})
	if err != nil {
		h.t.Fatal(err)
	}
	if r := h.browser().get("/pay/" + link.Code); r.status != http.StatusSeeOther {
		h.t.Fatalf("open link: %d", r.status)
	}
	sessions, err := h.store.SessionsForLink(ctx, link.ID)
	if err != nil || len(sessions) != 1 {
		h.t.Fatalf("sessions: %v %v", sessions, err)
	}
	key, err := h.store.SigningKey(ctx, sessions[0].SessionToken)
	if err != nil {
		h.t.Fatal(err)
	}
	return sessions[0], key
}

func (h *harness) session(id uint) *models.Session {
	h.t.Helper()
	s, err := h.store.SessionByID(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) notifications(id uint) []models.Notification {
	h.t.Helper()
	n, err := h.store.NotificationsForSession(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestWebhookRejectsForgeries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, keyA := h.pendingSession("OC-A")
	b, keyB := h.pendingSession("OC-B")
	// A session whose stored key is empty must not verify a token signed with "".
	emptyLink, err := h.store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: "OC-E", Amount: 1000, Mode: "live"})
	if err != nil {
		t.Fatal(err)
	}
	empty := models.Session{LinkID: emptyLink.ID, SessionToken: "SessionWithNoKey", Mode: "live"}
	if err := h.store.AddSession(context.Background(), &empty); err != nil {
		t.Fatal(err)
	}

	claims := func(s models.Session) map[string]any {
		return map[string]any{"session_token": s.SessionToken, "merchant_order_id": s.MerchantOrderID, "payment_token": "PT", "payment_status": "success"}
	}
	withExp := func(m map[string]any, exp int64) map[string]any { m["exp"] = exp; return m }
	hs := func(alg string) map[string]any { return map[string]any{"alg": alg, "typ": "JWT"} }
	good := signedNotification(t, a.SessionToken, "OC-A", "success", keyA)
	parts := strings.Split(good, ".")
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims(claims(a))).SignedString([]byte(keyA))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims(a))).SignedString(jwt.UnsafeAllowNoneSignatureType)

	tests := []struct {
		name    string
		body    string
		status  int
		session *models.Session // whose state must not change and which gets the rejected row
		reason  string
	}{
		{"wrong key", notificationBody(signedNotification(t, a.SessionToken, "OC-A", "success", "not the key")), 401, &a, "bad_signature"},
		{"alg none", notificationBody(none), 401, &a, "algorithm"},
		{"HS512 header", notificationBody(hs512), 401, &a, "algorithm"},
		{"RS256 header", notificationBody(forgeToken(hs("RS256"), claims(a), keyA)), 401, &a, "algorithm"},
		{"tampered claims", notificationBody(parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"session_token":"`+a.SessionToken+`","merchant_order_id":"OC-A","payment_token":"X","payment_status":"success"}`)) + "." + parts[2]), 401, &a, "bad_signature"},
		{"empty-key forgery", notificationBody(forgeToken(hs("HS256"), claims(empty), "")), 401, &empty, "unknown_session"},
		{"exp 0", notificationBody(forgeToken(hs("HS256"), withExp(claims(a), 0), keyA)), 401, &a, "expired"},
		{"expired", notificationBody(forgeToken(hs("HS256"), withExp(claims(a), 1000), keyA)), 401, &a, "expired"},
		{"unknown session", notificationBody(signedNotification(t, "NoSuchSession", "OC-A", "success", keyA)), 401, nil, "unknown_session"},
		{"A signed with B's key", notificationBody(signedNotification(t, a.SessionToken, "OC-A", "success", keyB)), 401, &a, "bad_signature"},
		{"order mismatch", notificationBody(signedNotification(t, b.SessionToken, "OC-A", "success", keyB)), 422, &b, "order_mismatch"},
		{"empty body", "", 400, nil, "malformed"},
		{"open brace", "{", 400, nil, "malformed"},
		{"array", "[]", 400, nil, "malformed"},
		{"payment not a string", `{"payment":1}`, 400, nil, "malformed"},
		{"payment empty", `{"payment":""}`, 400, nil, "malformed"},
		{"not a JWT", `{"payment":"hello"}`, 400, nil, "malformed"},
		{"oversized body", `{"payment":"` + strings.Repeat("a", 70<<10) + `"}`, 413, nil, "too_large"},
		{"1 MiB token of dots", `{"payment":"` + strings.Repeat(".", 1<<20) + `"}`, 413, nil, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.postNotification(tt.body)
			if r.status != tt.status {
				t.Fatalf("answered %d %q, want %d", r.status, r.body, tt.status)
			}
			if tt.session != nil {
				s := h.session(tt.session.ID)
				if s.Status != models.StatusPending || s.PaymentToken != "" {
					t.Fatalf("session changed: %s %q", s.Status, s.PaymentToken)
				}
				notes := h.notifications(tt.session.ID)
				last := notes[len(notes)-1]
				if last.Verdict != models.VerdictRejected || last.Reason != tt.reason {
					t.Fatalf("stored %s/%s, want rejected/%s", last.Verdict, last.Reason, tt.reason)
				}
			} else {
				n, err := h.store.LatestNotification(context.Background())
				if err != nil || n.Verdict != models.VerdictRejected || n.Reason != tt.reason {
					t.Fatalf("stored %+v (%v), want rejected/%s", n, err, tt.reason)
				}
				if len(n.Body) > 64<<10 {
					t.Fatalf("stored %d bytes of an oversized body", len(n.Body))
				}
			}
		})
	}
	if r := h.browser().get("/healthz"); r.status != 200 {
		t.Fatalf("server unhealthy after forgeries: %d", r.status)
	}
	if r := h.browser().get("/webhooks/etpay"); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET on the webhook answered %d, want 405", r.status)
	}
}

func TestWebhookCountsIdenticalRejections(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, _ := h.pendingSession("OC-A")
	forged := notificationBody(signedNotification(t, a.SessionToken, "OC-A", "success", "wrong"))
	for range 3 {
		if r := h.postNotification(forged); r.status != 401 {
			t.Fatalf("forgery answered %d", r.status)
		}
	}
	notes := h.notifications(a.ID)
	if len(notes) != 1 || notes[0].Count != 3 {
		t.Fatalf("want one rejected row counted 3 times, got %d rows (%+v)", len(notes), notes)
	}
}

func TestWebhookAcceptsAnyContentType(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, key := h.pendingSession("OC-A")
	req, _ := http.NewRequest(http.MethodPost, h.base+"/webhooks/etpay", strings.NewReader(notificationBody(signedNotification(t, a.SessionToken, "OC-A", "success", key))))
	req.Header.Set("Content-Type", "text/plain")
	if r := h.browser().do(req); r.status != 200 {
		t.Fatalf("answered %d %s", r.status, r.body)
	}
	if s := h.session(a.ID); s.Status != models.StatusPaid || s.PaymentToken != "PT-success" {
		t.Fatalf("session %s %q, want paid", s.Status, s.PaymentToken)
	}
}

func TestWebhookDuplicatesChangeNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, key := h.pendingSession("OC-A")
	body := notificationBody(signedNotification(t, a.SessionToken, "OC-A", "success", key))
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.postNotification(body).status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Fatalf("delivery %d answered %d", i, s)
		}
	}
	verdicts := map[string]int{}
	effects := map[string]int{}
	for _, n := range h.notifications(a.ID) {
		verdicts[n.Verdict]++
		effects[n.Effect]++
	}
	if verdicts[models.VerdictVerified] != 1 || verdicts[models.VerdictDuplicate] != 49 || effects[models.EffectPaid] != 1 {
		t.Fatalf("verdicts %v effects %v, want 1 verified + 49 duplicates and one state change", verdicts, effects)
	}
}

func TestWebhookOrdering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		sequence  []string
		final     string
		conflict  bool
		lastEffct string
	}{
		{"late failure never downgrades", []string{"success", "rejected"}, models.StatusPaid, true, models.EffectConflict},
		{"success after failure pays, flagged", []string{"rejected", "success"}, models.StatusPaid, true, models.EffectPaid},
		{"failure", []string{"cancelled"}, models.StatusFailed, false, models.EffectFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			a, key := h.pendingSession("OC-A")
			for _, status := range tt.sequence {
				if r := h.postNotification(notificationBody(signedNotification(t, a.SessionToken, "OC-A", status, key))); r.status != 200 {
					t.Fatalf("%s answered %d", status, r.status)
				}
			}
			s := h.session(a.ID)
			if s.Status != tt.final || s.Conflict != tt.conflict {
				t.Fatalf("session %s conflict=%v, want %s conflict=%v", s.Status, s.Conflict, tt.final, tt.conflict)
			}
			notes := h.notifications(a.ID)
			if got := notes[len(notes)-1].Effect; got != tt.lastEffct {
				t.Fatalf("last effect %q, want %q", got, tt.lastEffct)
			}
			if tt.final == models.StatusPaid && s.PaymentStatus != "success" {
				t.Fatalf("a paid session keeps payment_status %q, want the success that paid it", s.PaymentStatus)
			}
		})
	}
}

// TestConcurrentSuccessAndFailure sends a success and a failure for one
// session at the same moment, many times: whichever lands first, the session
// ends paid and flagged for staff.
func TestConcurrentSuccessAndFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 10 {
		order := "OC-" + itoa(uint(i))
		s, key := h.pendingSession(order)
		var wg sync.WaitGroup
		for _, status := range []string{"success", "rejected"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := h.postNotification(notificationBody(signedNotification(t, s.SessionToken, order, status, key))); r.status != 200 {
					t.Errorf("%s answered %d", status, r.status)
				}
			}()
		}
		wg.Wait()
		after := h.session(s.ID)
		if after.Status != models.StatusPaid || !after.Conflict || after.PaymentToken != "PT-success" {
			t.Fatalf("round %d: session %s conflict=%v token %q, want paid, flagged, PT-success", i, after.Status, after.Conflict, after.PaymentToken)
		}
	}
}

func TestPaymentOnAnExpiredLinkIsFlagged(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s, key := h.pendingSession("OC-1")
	expired := time.Now().Add(-time.Minute)
	if err := h.store.SetLinkExpiry(context.Background(), s.LinkID, &expired); err != nil {
		t.Fatal(err)
	}
	if r := h.postNotification(notificationBody(signedNotification(t, s.SessionToken, "OC-1", "success", key))); r.status != 200 {
		t.Fatalf("answered %d", r.status)
	}
	link, err := h.store.LinkByID(context.Background(), s.LinkID)
	if err != nil || link.Status != models.LinkPaid || link.ReviewReason != models.ReviewPaidAfterExpiry {
		t.Fatalf("link %+v (%v), want paid and flagged paid_after_expiry", link, err)
	}
}

// Anyone who knows a session_token (customers see it in the funnel's URL) can
// post junk naming it: it is kept in the session's history, rejected, but
// nothing staff read as news from ETpay moves.
func TestUnverifiedNotificationsChangeNothingOnTheSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, key := h.pendingSession("OC-A")
	if r := h.postNotification(notificationBody(signedNotification(t, a.SessionToken, "OC-A", "rejected", key))); r.status != 200 {
		t.Fatalf("genuine failure answered %d", r.status)
	}
	before := h.session(a.ID)
	junk := []struct {
		name string
		body string
		want int
	}{
		{"wrong key", notificationBody(signedNotification(t, a.SessionToken, "OC-A", "success", "not the key")), 401},
		{"alg none", notificationBody(forgeToken(map[string]any{"alg": "none"}, map[string]any{
			"session_token": a.SessionToken, "merchant_order_id": "OC-A", "payment_status": "success"}, "")), 401},
		{"expired", notificationBody(forgeToken(map[string]any{"alg": "HS256"}, map[string]any{
			"session_token": a.SessionToken, "merchant_order_id": "OC-A", "payment_status": "success", "exp": 1}, key)), 401},
		{"claims named twice", notificationBody(forgeRawClaims(`{"session_token":"`+a.SessionToken+
			`","merchant_order_id":"OC-A","payment_status":"rejected","payment_status":"success"}`, key)), 400},
		{"body key named twice", `{"payment":"x","payment":"` + signedNotification(t, a.SessionToken, "OC-A", "success", key) + `"}`, 400},
	}
	for _, j := range junk {
		if r := h.postNotification(j.body); r.status != j.want {
			t.Errorf("%s: answered %d, want %d", j.name, r.status, j.want)
		}
	}
	after := h.session(a.ID)
	if after.Status != before.Status || after.PaymentStatus != before.PaymentStatus || after.Conflict != before.Conflict ||
		!after.LastNotificationAt.Equal(*before.LastNotificationAt) || after.LastNotificationNote != before.LastNotificationNote ||
		!after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("junk moved the session:\nbefore %+v\nafter  %+v", before, after)
	}
	rejected := 0
	for _, n := range h.notifications(a.ID) {
		if n.Verdict == models.VerdictRejected {
			rejected++
		}
	}
	if rejected < 3 {
		t.Fatalf("want the signed-looking junk in the session's history as rejected, got %d rows", rejected)
	}
}

// forgeRawClaims signs raw claims JSON (which may name a key twice) with HS256.
func forgeRawClaims(claims, key string) string {
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
