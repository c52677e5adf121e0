package models

import (
	"context"
	"database/sql"
	"errors"
	"etpay-dashboard/testdb"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"gorm.io/gorm"
)

// openTestStore opens a fresh database file in a temp dir.
func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), testdb.URL(t, "test.db"), WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func mustLink(t *testing.T, s *Store, order string, mode string) *Link {
	t.Helper()
	l, err := s.CreateLink(context.Background(), LinkInput{MerchantOrderID: order, Amount: 50000, Mode: mode})
	if err != nil {
		t.Fatalf("CreateLink(%s, %s): %v", order, mode, err)
	}
	return l
}

func mustSession(t *testing.T, s *Store, link *Link, token string) *Session {
	t.Helper()
	sess := &Session{LinkID: link.ID, SessionToken: token, SignatureToken: "sig-" + token, Mode: link.Mode}
	if err := s.AddSession(context.Background(), sess); err != nil {
		t.Fatalf("AddSession(%s): %v", token, err)
	}
	return sess
}

func setLinkStatus(t *testing.T, s *Store, linkID uint, status string) {
	t.Helper()
	if err := s.write.Model(&Link{}).Where("id = ?", linkID).Update("status", status).Error; err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, s *Store, model any) int64 {
	t.Helper()
	var n int64
	if err := s.read.Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenPragmas(t *testing.T) {
	testdb.SkipOnPostgres(t, "SQLite's connection pragmas")
	s := openTestStore(t)
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "5000"},
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			for name, db := range map[string]*gorm.DB{"write": s.write, "read": s.read} {
				var got string
				if err := db.Raw("PRAGMA " + tt.pragma).Scan(&got).Error; err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("%s connection: PRAGMA %s = %q, want %q", name, tt.pragma, got, tt.want)
				}
			}
		})
	}
	var queryOnly string
	if err := s.read.Raw("PRAGMA query_only").Scan(&queryOnly).Error; err != nil {
		t.Fatal(err)
	}
	if queryOnly != "1" {
		t.Errorf("read connection query_only = %q, want 1", queryOnly)
	}
	if err := s.read.Exec("INSERT INTO settings(key, value) VALUES ('x', 'y')").Error; err == nil {
		t.Error("read connection accepted an INSERT")
	}
	// The writer checkpoints every 1,000 pages (short waits: see dsn) and
	// keeps statement journals in memory.
	for pragma, want := range map[string]string{"wal_autocheckpoint": "1000", "temp_store": "2", "journal_size_limit": "67108864"} {
		var got string
		if err := s.write.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil || got != want {
			t.Errorf("write connection: PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
	got, err := s.IntegrityCheck(context.Background())
	if err != nil || got != "ok" {
		t.Errorf("IntegrityCheck = %q, %v; want ok", got, err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenTwiceKeepsData(t *testing.T) {
	ctx := context.Background()
	path := testdb.URL(t, "test.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-1", Amount: 1000, Mode: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := s.SessionSecret(ctx)
	if err != nil || len(secret) < 32 {
		t.Fatalf("SessionSecret = %q, %v", secret, err)
	}
	again, err := s.SessionSecret(ctx)
	if err != nil || again != secret {
		t.Fatalf("second SessionSecret = %q, %v; want %q", again, err, secret)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(ctx, path) // migrations run again on an existing file
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.LinkByCode(ctx, l.Code)
	if err != nil || got.ID != l.ID {
		t.Fatalf("LinkByCode after reopen = %+v, %v", got, err)
	}
	if s3, err := s2.SessionSecret(ctx); err != nil || s3 != secret {
		t.Errorf("SessionSecret after reopen = %q, %v; want %q", s3, err, secret)
	}
}

var codePattern = regexp.MustCompile(`^[A-Z2-7]{26}$`)

func TestCreateLink(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	in := LinkInput{MerchantOrderID: "OC-700104", Amount: 50000, CustomerEmail: "a@b.cl", Description: "Pedido 700104", Mode: "sandbox"}
	l, err := s.CreateLink(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !codePattern.MatchString(l.Code) {
		t.Errorf("code %q is not 26 base32 characters", l.Code)
	}
	got, err := s.LinkByCode(ctx, l.Code)
	if err != nil {
		t.Fatal(err)
	}
	if got.MerchantOrderID != in.MerchantOrderID || got.Amount != in.Amount || got.CustomerEmail != in.CustomerEmail ||
		got.Description != in.Description || got.Mode != in.Mode || got.Status != LinkOpen || got.ReviewReason != "" || got.PaidAt != nil {
		t.Errorf("LinkByCode = %+v, want fields of %+v, status open", got, in)
	}
	if _, err := s.LinkByCode(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LinkByCode(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.LinkByID(ctx, l.ID+100); !errors.Is(err, ErrNotFound) {
		t.Errorf("LinkByID(unknown) error = %v, want ErrNotFound", err)
	}
	other := mustLink(t, s, "OC-2", "sandbox")
	if other.Code == l.Code {
		t.Error("two links got the same code")
	}
}

func TestCreateLinkOrderInUse(t *testing.T) {
	tests := []struct {
		name        string
		firstStatus string // status the first link is moved to
		secondMode  string
		wantErr     error
	}{
		{"first still open", LinkOpen, "sandbox", ErrOrderInUse},
		{"first paid", LinkPaid, "sandbox", ErrOrderInUse},
		{"first cancelled", LinkCancelled, "sandbox", nil},
		{"first open in the other mode", LinkOpen, "live", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTestStore(t)
			first := mustLink(t, s, "OC-9", "sandbox")
			setLinkStatus(t, s, first.ID, tt.firstStatus)
			second, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: "OC-9", Amount: 1, Mode: tt.secondMode})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("second CreateLink error = %v, want %v", err, tt.wantErr)
			}
			wantRows := int64(2)
			if tt.wantErr != nil {
				wantRows = 1
				if second != nil {
					t.Errorf("second link = %+v, want nil", second)
				}
			}
			if n := countRows(t, s, &Link{}); n != wantRows {
				t.Errorf("links stored = %d, want %d", n, wantRows)
			}
		})
	}
}

func TestAddSession(t *testing.T) {
	tests := []struct {
		name       string
		linkStatus string
		wantErr    error
	}{
		{"open link", LinkOpen, nil},
		{"paid link", LinkPaid, ErrLinkClosed},
		{"cancelled link", LinkCancelled, ErrLinkClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTestStore(t)
			l := mustLink(t, s, "OC-5", "sandbox")
			setLinkStatus(t, s, l.ID, tt.linkStatus)
			sess := &Session{LinkID: l.ID, SessionToken: "tok", SignatureToken: "sig", Mode: "sandbox", Status: StatusPaid}
			err := s.AddSession(ctx, sess)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AddSession error = %v, want %v", err, tt.wantErr)
			}
			rows, err := s.SessionsForLink(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != nil {
				if len(rows) != 0 {
					t.Errorf("sessions stored = %d, want 0", len(rows))
				}
				return
			}
			if len(rows) != 1 {
				t.Fatalf("sessions stored = %d, want 1", len(rows))
			}
			got := rows[0]
			if got.Status != StatusPending || got.MerchantOrderID != "OC-5" || got.Amount != 50000 || got.SessionToken != "tok" || got.SignatureToken != "sig" || got.Mode != "sandbox" {
				t.Errorf("stored session = %+v, want pending copy of the link's order and amount", got)
			}
			key, err := s.SigningKey(ctx, "tok")
			if err != nil || key != "sig" {
				t.Errorf("SigningKey = %q, %v; want sig", key, err)
			}
		})
	}
	t.Run("unknown link", func(t *testing.T) {
		s := openTestStore(t)
		err := s.AddSession(context.Background(), &Session{LinkID: 42, SessionToken: "tok", SignatureToken: "sig", Mode: "sandbox"})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("AddSession error = %v, want ErrNotFound", err)
		}
	})
}

func TestReusableSession(t *testing.T) {
	const window = 30 * time.Minute
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		age      time.Duration // how long ago the session was made
		status   string
		since    func(now time.Time) time.Time
		reusable bool
	}{
		{"fresh pending", 0, StatusPending, func(now time.Time) time.Time { return now.Add(-window) }, true},
		{"29 minutes old", 29 * time.Minute, StatusPending, func(now time.Time) time.Time { return now.Add(-window) }, true},
		{"31 minutes old", 31 * time.Minute, StatusPending, func(now time.Time) time.Time { return now.Add(-window) }, false},
		{"since given in Santiago time", 29 * time.Minute, StatusPending, func(now time.Time) time.Time { return now.Add(-window).In(santiago) }, true},
		{"31 minutes old, since in Santiago time", 31 * time.Minute, StatusPending, func(now time.Time) time.Time { return now.Add(-window).In(santiago) }, false},
		{"fresh but paid", 0, StatusPaid, func(now time.Time) time.Time { return now.Add(-window) }, false},
		{"fresh but failed", 0, StatusFailed, func(now time.Time) time.Time { return now.Add(-window) }, false},
		{"since in the future", 0, StatusPending, func(now time.Time) time.Time { return now.Add(time.Minute) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTestStore(t)
			l := mustLink(t, s, "OC-1", "sandbox")
			sess := mustSession(t, s, l, "tok-1")
			now := time.Now()
			err := s.write.Model(&Session{}).Where("id = ?", sess.ID).
				Updates(map[string]any{"created_at": now.Add(-tt.age).UTC(), "status": tt.status}).Error
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.ReusableSession(ctx, l.ID, tt.since(now))
			if tt.reusable {
				if err != nil || got.ID != sess.ID {
					t.Fatalf("ReusableSession = %+v, %v; want session %d", got, err, sess.ID)
				}
				return
			}
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("ReusableSession = %+v, %v; want ErrNotFound", got, err)
			}
		})
	}
	t.Run("newest pending wins, other links ignored", func(t *testing.T) {
		ctx := context.Background()
		s := openTestStore(t)
		l := mustLink(t, s, "OC-1", "sandbox")
		mustSession(t, s, l, "tok-old")
		newer := mustSession(t, s, l, "tok-new")
		otherLink := mustLink(t, s, "OC-2", "sandbox")
		mustSession(t, s, otherLink, "tok-other")
		got, err := s.ReusableSession(ctx, l.ID, time.Now().Add(-window))
		if err != nil || got.SessionToken != "tok-new" || got.ID != newer.ID {
			t.Fatalf("ReusableSession = %+v, %v; want tok-new", got, err)
		}
	})
}

// note is one notification fed to RecordNotification in a scenario.
type note struct {
	token    string // session token
	order    string // merchant_order_id claim; "" means the session's own
	status   string // raw payment_status
	payToken string
	verified bool
	reason   string
	body     string // "" means a body built from the fields
}

func (n note) input(defaultOrder string) NotificationInput {
	order := n.order
	if order == "" {
		order = defaultOrder
	}
	body := n.body
	if body == "" {
		body = fmt.Sprintf(`{"session_token":%q,"merchant_order_id":%q,"payment_status":%q,"payment_token":%q}`, n.token, order, n.status, n.payToken)
	}
	return NotificationInput{
		ReceivedAt:      time.Now(),
		RemoteAddr:      "192.0.2.1",
		Body:            []byte(body),
		Verified:        n.verified,
		Reason:          n.reason,
		SessionToken:    n.token,
		MerchantOrderID: order,
		PaymentToken:    n.payToken,
		PaymentStatus:   n.status,
		Paid:            n.status == "success",
	}
}

func success(token, payToken string) note {
	return note{token: token, status: "success", payToken: payToken, verified: true}
}

func failure(token, payToken string) note {
	return note{token: token, status: "rejected", payToken: payToken, verified: true}
}

// scenarioSession is what a scenario wants of session tok-a afterwards.
type scenarioSession struct {
	status, paymentStatus, paymentToken string
	conflict                            bool
}

// notificationScenarios are notifications applied in turn to a pending
// session tok-a (and its sibling tok-b) of one link, with what the last one
// must do.
var notificationScenarios = []struct {
	name  string
	notes []note // all but the last set the scene; the last is checked
	// want for the last notification
	verdict, effect, reason string
	count                   int
	// want for session tok-a afterwards
	sess scenarioSession
	// want for the link afterwards
	linkStatus, review string
	stored             int64 // notification rows afterwards
}{
	{
		name:    "pending + success -> paid",
		notes:   []note{success("tok-a", "pay-1")},
		verdict: VerdictVerified, effect: EffectPaid, count: 1,
		sess:       scenarioSession{status: StatusPaid, paymentStatus: "success", paymentToken: "pay-1"},
		linkStatus: LinkPaid, stored: 1,
	},
	{
		name:    "pending + failure -> failed",
		notes:   []note{failure("tok-a", "pay-1")},
		verdict: VerdictVerified, effect: EffectFailed, count: 1,
		sess:       scenarioSession{status: StatusFailed, paymentStatus: "rejected", paymentToken: "pay-1"},
		linkStatus: LinkOpen, stored: 1,
	},
	{
		// failed is not final, but ETpay contradicted itself: flagged for staff.
		name:    "failed + success -> paid, flagged as a conflict",
		notes:   []note{failure("tok-a", "pay-1"), success("tok-a", "pay-2")},
		verdict: VerdictVerified, effect: EffectPaid, count: 1,
		sess:       scenarioSession{status: StatusPaid, paymentStatus: "success", paymentToken: "pay-2", conflict: true},
		linkStatus: LinkPaid, stored: 2,
	},
	{
		name:    "paid + failure stays paid as a conflict",
		notes:   []note{success("tok-a", "pay-1"), failure("tok-a", "pay-2")},
		verdict: VerdictVerified, effect: EffectConflict, count: 1,
		sess:       scenarioSession{status: StatusPaid, paymentStatus: "success", paymentToken: "pay-1", conflict: true},
		linkStatus: LinkPaid, stored: 2,
	},
	{
		name:    "paid + success with another payment_token is a conflict",
		notes:   []note{success("tok-a", "pay-1"), success("tok-a", "pay-2")},
		verdict: VerdictVerified, effect: EffectConflict, count: 1,
		sess:       scenarioSession{status: StatusPaid, paymentStatus: "success", paymentToken: "pay-1", conflict: true},
		linkStatus: LinkPaid, stored: 2,
	},
	{
		name:    "duplicate success changes nothing",
		notes:   []note{success("tok-a", "pay-1"), success("tok-a", "pay-1")},
		verdict: VerdictDuplicate, effect: EffectNone, count: 1,
		sess:       scenarioSession{status: StatusPaid, paymentStatus: "success", paymentToken: "pay-1"},
		linkStatus: LinkPaid, stored: 2,
	},
	{
		// The session now holds the success: the repeat is known as one by
		// the stored results, not by the session's own payment fields.
		name:    "a repeat of an earlier result is a duplicate",
		notes:   []note{failure("tok-a", "pay-1"), success("tok-a", "pay-2"), failure("tok-a", "pay-1")},
		verdict: VerdictDuplicate, effect: EffectNone, count: 1,
		sess:       scenarioSession{status: StatusPaid, paymentStatus: "success", paymentToken: "pay-2", conflict: true},
		linkStatus: LinkPaid, stored: 3,
	},
	{
		name:    "duplicate failure changes nothing",
		notes:   []note{failure("tok-a", "pay-1"), failure("tok-a", "pay-1")},
		verdict: VerdictDuplicate, effect: EffectNone, count: 1,
		sess:       scenarioSession{status: StatusFailed, paymentStatus: "rejected", paymentToken: "pay-1"},
		linkStatus: LinkOpen, stored: 2,
	},
	{
		name:    "unverified is rejected and changes nothing",
		notes:   []note{{token: "tok-a", status: "success", payToken: "pay-1", reason: "bad_signature"}},
		verdict: VerdictRejected, effect: EffectNone, reason: "bad_signature", count: 1,
		sess:       scenarioSession{status: StatusPending},
		linkStatus: LinkOpen, stored: 1,
	},
	{
		name: "identical rejected body twice is one row counted twice",
		notes: []note{
			{token: "tok-a", status: "success", payToken: "pay-1", reason: "bad_signature"},
			{token: "tok-a", status: "success", payToken: "pay-1", reason: "bad_signature"},
		},
		verdict: VerdictRejected, effect: EffectNone, reason: "bad_signature", count: 2,
		sess:       scenarioSession{status: StatusPending},
		linkStatus: LinkOpen, stored: 1,
	},
	{
		name: "unverified success after paid changes nothing",
		notes: []note{
			success("tok-a", "pay-1"),
			{token: "tok-a", status: "rejected", payToken: "pay-2", reason: "bad_signature"},
		},
		verdict: VerdictRejected, effect: EffectNone, reason: "bad_signature", count: 1,
		sess:       scenarioSession{status: StatusPaid, paymentStatus: "success", paymentToken: "pay-1"},
		linkStatus: LinkPaid, stored: 2,
	},
	{
		name:    "merchant_order_id mismatch is rejected",
		notes:   []note{{token: "tok-a", order: "OC-OTHER", status: "success", payToken: "pay-1", verified: true}},
		verdict: VerdictRejected, effect: EffectNone, reason: ReasonOrderMismatch, count: 1,
		sess:       scenarioSession{status: StatusPending},
		linkStatus: LinkOpen, stored: 1,
	},
	{
		name:    "second session of the same link paid -> double payment",
		notes:   []note{success("tok-b", "pay-b"), success("tok-a", "pay-1")},
		verdict: VerdictVerified, effect: EffectPaid, count: 1,
		sess:       scenarioSession{status: StatusPaid, paymentStatus: "success", paymentToken: "pay-1"},
		linkStatus: LinkPaid, review: "double_payment", stored: 2,
	},
}

func TestRecordNotification(t *testing.T) {
	for _, tt := range notificationScenarios {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTestStore(t)
			l := mustLink(t, s, "OC-700104", "sandbox")
			sessA := mustSession(t, s, l, "tok-a")
			mustSession(t, s, l, "tok-b")

			var last *Notification
			for i, n := range tt.notes {
				got, err := s.RecordNotification(ctx, n.input(l.MerchantOrderID))
				if err != nil {
					t.Fatalf("notification %d: %v", i, err)
				}
				last = got
			}
			checkScenario(t, s, l, sessA, last, tt.verdict, tt.effect, tt.reason, tt.count, tt.sess, tt.linkStatus, tt.review, tt.stored)
		})
	}
}

// TestRecordNotificationInOneGroup applies each scenario's notifications in
// one group commit: a group must come out exactly as one by one.
func TestRecordNotificationInOneGroup(t *testing.T) {
	for _, tt := range notificationScenarios {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t)
			l := mustLink(t, s, "OC-700104", "sandbox")
			sessA := mustSession(t, s, l, "tok-a")
			mustSession(t, s, l, "tok-b")

			var batch []*noteRequest
			for _, n := range tt.notes {
				batch = append(batch, newNoteRequest(context.Background(), n.input(l.MerchantOrderID)))
			}
			s.applyNotes(batch)
			for i, r := range batch {
				if err := <-r.done; err != nil {
					t.Fatalf("notification %d: %v", i, err)
				}
			}
			last := batch[len(batch)-1].result().Notification
			checkScenario(t, s, l, sessA, last, tt.verdict, tt.effect, tt.reason, tt.count, tt.sess, tt.linkStatus, tt.review, tt.stored)
		})
	}
}

func checkScenario(t *testing.T, s *Store, l *Link, sessA *Session, last *Notification, verdict, effect, reason string, count int,
	want scenarioSession, linkStatus, review string, stored int64) {
	t.Helper()
	ctx := context.Background()
	if last.Verdict != verdict || last.Effect != effect || last.Reason != reason || last.Count != count || last.ID == 0 {
		t.Errorf("last notification id/verdict/effect/reason/count = %d/%q/%q/%q/%d, want stored/%q/%q/%q/%d",
			last.ID, last.Verdict, last.Effect, last.Reason, last.Count, verdict, effect, reason, count)
	}
	if last.SessionID == nil || *last.SessionID != sessA.ID {
		t.Errorf("last notification session = %v, want %d", last.SessionID, sessA.ID)
	}
	sess, err := s.SessionByID(ctx, sessA.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := scenarioSession{sess.Status, sess.PaymentStatus, sess.PaymentToken, sess.Conflict}
	if got != want {
		t.Errorf("session = %+v, want %+v", got, want)
	}
	// failed_at may stay on a session that later got paid: it records the failure.
	if (sess.Status == StatusPaid) != (sess.PaidAt != nil) ||
		(sess.Status == StatusFailed && sess.FailedAt == nil) ||
		(sess.Status == StatusPending && sess.FailedAt != nil) {
		t.Errorf("session status %s with paid_at %v, failed_at %v", sess.Status, sess.PaidAt, sess.FailedAt)
	}
	unverified := verdict == VerdictRejected && reason != ReasonOrderMismatch
	switch {
	case unverified && sess.LastNotificationNote == VerdictRejected:
		// Unverified junk never moves what staff read as news from ETpay.
		t.Errorf("session last notification = %v %q after unverified junk", sess.LastNotificationAt, sess.LastNotificationNote)
	case !unverified && (sess.LastNotificationAt == nil || sess.LastNotificationNote != verdict):
		t.Errorf("session last notification = %v %q, want a time and %q", sess.LastNotificationAt, sess.LastNotificationNote, verdict)
	}
	link, err := s.LinkByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if link.Status != linkStatus || link.ReviewReason != review {
		t.Errorf("link status/review = %q/%q, want %q/%q", link.Status, link.ReviewReason, linkStatus, review)
	}
	if (link.Status == LinkPaid) != (link.PaidAt != nil) {
		t.Errorf("link status %s with paid_at %v", link.Status, link.PaidAt)
	}
	if n := countRows(t, s, &Notification{}); n != stored {
		t.Errorf("notification rows = %d, want %d", n, stored)
	}
}

func TestRecordNotificationHistory(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	l := mustLink(t, s, "OC-1", "sandbox")
	sess := mustSession(t, s, l, "tok-a")
	for _, n := range []note{failure("tok-a", "pay-1"), success("tok-a", "pay-2"), success("tok-a", "pay-2")} {
		if _, err := s.RecordNotification(ctx, n.input("OC-1")); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.NotificationsForSession(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Verdict+"/"+r.Effect+"/"+r.PaymentStatus+"/"+r.PaymentToken)
		if r.RemoteAddr != "192.0.2.1" || r.Source != "webhook" || !strings.Contains(r.Body, r.PaymentToken) || len(r.BodyHash) != 64 {
			t.Errorf("row %+v lost what was received", r)
		}
	}
	want := []string{"verified/failed/rejected/pay-1", "verified/paid/success/pay-2", "duplicate/none/success/pay-2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("history = %v, want %v", got, want)
	}
}

func TestRecordNotificationUnknownSession(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	l := mustLink(t, s, "OC-1", "sandbox")
	mustSession(t, s, l, "tok-a")

	t.Run("verified for an unknown session", func(t *testing.T) {
		_, err := s.RecordNotification(ctx, success("tok-nope", "pay-1").input("OC-1"))
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("error = %v, want ErrNotFound", err)
		}
		if n := countRows(t, s, &Notification{}); n != 0 {
			t.Errorf("notification rows = %d, want 0 (the transaction rolls back)", n)
		}
	})
	t.Run("rejected for an unknown session is stored without a session", func(t *testing.T) {
		got, err := s.RecordNotification(ctx, note{token: "tok-nope", status: "success", reason: "unknown_session"}.input("OC-1"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Verdict != VerdictRejected || got.SessionID != nil || got.ID == 0 {
			t.Errorf("notification = %+v, want a stored rejected row with no session", got)
		}
	})
	t.Run("different rejection reasons are separate rows", func(t *testing.T) {
		body := `not even json`
		a, err := s.RecordNotification(ctx, note{body: body, reason: "malformed"}.input(""))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.RecordNotification(ctx, note{body: body, reason: "oversized"}.input(""))
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == b.ID || a.Count != 1 || b.Count != 1 {
			t.Errorf("rows %d/%d counts %d/%d, want two rows counted once", a.ID, b.ID, a.Count, b.Count)
		}
	})
}

func TestRecordNotificationPaidAfterCancel(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	l := mustLink(t, s, "OC-1", "sandbox")
	sess := mustSession(t, s, l, "tok-a")
	setLinkStatus(t, s, l.ID, LinkCancelled)
	got, err := s.RecordNotification(ctx, success("tok-a", "pay-1").input("OC-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Effect != EffectPaid {
		t.Errorf("effect = %q, want paid (the money moved)", got.Effect)
	}
	link, err := s.LinkByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if link.Status != LinkCancelled || link.ReviewReason != "paid_after_cancel" {
		t.Errorf("link status/review = %q/%q, want cancelled/paid_after_cancel", link.Status, link.ReviewReason)
	}
	if ss, _ := s.SessionByID(ctx, sess.ID); ss == nil || ss.Status != StatusPaid || ss.PaymentToken != "pay-1" {
		t.Errorf("session = %+v, want paid with pay-1", ss)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	const hash = "$2a$12$not-a-real-hash-the-store-does-not-check-it"

	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on a fresh database = %d, %v", n, err)
	}
	created, err := s.CreateFirstAdmin(ctx, "Boss@Tienda.CL", hash)
	if err != nil || !created {
		t.Fatalf("CreateFirstAdmin = %v, %v; want true", created, err)
	}
	created, err = s.CreateFirstAdmin(ctx, "other@tienda.cl", "other-hash")
	if err != nil || created {
		t.Fatalf("second CreateFirstAdmin = %v, %v; want false", created, err)
	}
	boss, err := s.UserByEmail(ctx, " BOSS@tienda.cl ")
	if err != nil {
		t.Fatal(err)
	}
	if boss.Email != "boss@tienda.cl" || boss.Role != RoleAdmin || boss.PasswordHash != hash {
		t.Errorf("first admin = %+v", boss)
	}
	if _, err := s.UserByEmail(ctx, "other@tienda.cl"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByEmail(other) error = %v, want ErrNotFound", err)
	}

	tests := []struct {
		name    string
		email   string
		wantErr error
	}{
		{"new staff", "Ana@Tienda.cl", nil},
		{"same email, other case", "ana@tienda.CL", ErrEmailTaken},
		{"first admin's email", "boss@tienda.cl", ErrEmailTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.CreateUser(ctx, tt.email, "h", RoleStaff)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateUser(%q) error = %v, want %v", tt.email, err, tt.wantErr)
			}
			if err == nil && u.Email != strings.ToLower(tt.email) {
				t.Errorf("stored email = %q", u.Email)
			}
		})
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}

	if err := s.CreateStaffSession(ctx, "sid-1", boss.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateStaffSession(ctx, "sid-expired", boss.ID, -time.Minute); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserBySession(ctx, "sid-1"); err != nil || u.ID != boss.ID {
		t.Errorf("UserBySession(sid-1) = %+v, %v", u, err)
	}
	if _, err := s.UserBySession(ctx, "sid-expired"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserBySession(expired) error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteStaffSession(ctx, "sid-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserBySession(ctx, "sid-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserBySession after delete error = %v, want ErrNotFound", err)
	}
}

// TestKeyPoolKeepsItsConnections: connections the signing-key pool opened
// stay open once idle (a new one re-reads the schema: see openKeyPool).
func TestKeyPoolKeepsItsConnections(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	var keys *sql.DB
	switch k := s.keys.(type) {
	case *sql.DB:
		keys = k
	case *pgPool:
		keys = k.db
	}
	conns := make([]*sql.Conn, keyConns)
	for i := range conns {
		var err error
		if conns[i], err = keys.Conn(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if st := keys.Stats(); st.MaxIdleClosed != 0 || st.Idle != keyConns {
		t.Errorf("after %d connections were used at once: %d idle, %d closed for being idle; want %d and 0", keyConns, st.Idle, st.MaxIdleClosed, keyConns)
	}
}
