package models

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// ruleNote is one notification in a rules case.
type ruleNote struct {
	verified       bool
	status, token  string // payment_status ("success" pays) and payment_token
	order, reason  string // order defaults to the session's
	linkUnreadable bool
}

func verifiedNote(status, token string) ruleNote {
	return ruleNote{verified: true, status: status, token: token}
}

// ruleCase is a session (and its link) as the case starts, notifications
// applied in turn (all but the last set the scene), and what the rules must
// decide for the last.
type ruleCase struct {
	name    string
	session *Session // nil: no session has the notification's token
	link    *Link    // nil: the link is not known
	notes   []ruleNote
	wantErr bool
	// Decided for the last notification.
	verdict, reason, effect string
	counts, moved           bool
	// The session as the last notification leaves it; noted says the
	// notification changed it at all (nil outcome Session otherwise).
	noted                     bool
	status, payToken          string
	conflict                  bool
	linkStatus, review        string // "" linkStatus: the notification does not pay the link
	linkPaidAtReceived, noPay bool
}

var (
	ruleNow     = time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	ruleEarlier = ruleNow.Add(-time.Hour)
)

func rulePending() *Session {
	return &Session{ID: 7, LinkID: 3, SessionToken: "tok-a", Status: StatusPending, MerchantOrderID: "OC-1", Amount: 1000}
}

func rulePaid(token string) *Session {
	s := rulePending()
	s.Status, s.PaymentStatus, s.PaymentToken, s.PaidAt = StatusPaid, "success", token, &ruleEarlier
	return s
}

func ruleOpenLink() *Link {
	return &Link{ID: 3, MerchantOrderID: "OC-1", Amount: 1000, Status: LinkOpen}
}

func ruleLink(edit func(*Link)) *Link {
	l := ruleOpenLink()
	edit(l)
	return l
}

var ruleCases = []ruleCase{
	{name: "first success pays", session: rulePending(), link: ruleOpenLink(), notes: []ruleNote{verifiedNote("success", "pay-1")},
		verdict: VerdictVerified, effect: EffectPaid, counts: true, moved: true, noted: true, status: StatusPaid, payToken: "pay-1",
		linkStatus: LinkPaid, linkPaidAtReceived: true},
	{name: "first failure fails the session", session: rulePending(), notes: []ruleNote{verifiedNote("rejected", "pay-1")},
		verdict: VerdictVerified, effect: EffectFailed, counts: true, moved: true, noted: true, status: StatusFailed, payToken: "pay-1"},
	{name: "failure then success pays and flags a conflict", session: rulePending(), link: ruleOpenLink(),
		notes:   []ruleNote{verifiedNote("rejected", "pay-1"), verifiedNote("success", "pay-2")},
		verdict: VerdictVerified, effect: EffectPaid, counts: true, moved: true, noted: true, status: StatusPaid, payToken: "pay-2",
		conflict: true, linkStatus: LinkPaid, linkPaidAtReceived: true},
	{name: "paid then failure is a conflict", session: rulePending(), link: ruleOpenLink(),
		notes:   []ruleNote{verifiedNote("success", "pay-1"), verifiedNote("rejected", "pay-2")},
		verdict: VerdictVerified, effect: EffectConflict, counts: true, noted: true, status: StatusPaid, payToken: "pay-1", conflict: true},
	{name: "paid then another payment is a conflict", session: rulePending(), link: ruleOpenLink(),
		notes:   []ruleNote{verifiedNote("success", "pay-1"), verifiedNote("success", "pay-2")},
		verdict: VerdictVerified, effect: EffectConflict, counts: true, noted: true, status: StatusPaid, payToken: "pay-1", conflict: true},
	{name: "a paid session needs no link for a later success", session: rulePaid("pay-1"), notes: []ruleNote{verifiedNote("success", "pay-2")},
		verdict: VerdictVerified, effect: EffectConflict, counts: true, noted: true, status: StatusPaid, payToken: "pay-1", conflict: true},
	{name: "a success repeated is a duplicate", session: rulePending(), link: ruleOpenLink(),
		notes:   []ruleNote{verifiedNote("success", "pay-1"), verifiedNote("success", "pay-1")},
		verdict: VerdictDuplicate, effect: EffectNone, counts: true, noted: true, status: StatusPaid, payToken: "pay-1"},
	{name: "a failure repeated is a duplicate", session: rulePending(),
		notes:   []ruleNote{verifiedNote("rejected", "pay-1"), verifiedNote("rejected", "pay-1")},
		verdict: VerdictDuplicate, effect: EffectNone, counts: true, noted: true, status: StatusFailed, payToken: "pay-1"},
	{name: "a second failure changes nothing", session: rulePending(),
		notes:   []ruleNote{verifiedNote("rejected", "pay-1"), verifiedNote("rejected", "pay-2")},
		verdict: VerdictVerified, effect: EffectNone, counts: true, noted: true, status: StatusFailed, payToken: "pay-1"},
	{name: "the same payment again, not on record, changes nothing", session: rulePaid("pay-1"),
		notes:   []ruleNote{verifiedNote("success", "pay-1")},
		verdict: VerdictVerified, effect: EffectNone, counts: true, noted: true, status: StatusPaid, payToken: "pay-1"},
	{name: "order mismatch is rejected and noted", session: rulePending(), link: ruleOpenLink(),
		notes:   []ruleNote{{verified: true, status: "success", token: "pay-1", order: "OC-OTHER"}},
		verdict: VerdictRejected, reason: ReasonOrderMismatch, effect: EffectNone, noted: true, status: StatusPending},
	{name: "order mismatch does not make the result known", session: rulePending(), link: ruleOpenLink(),
		notes:   []ruleNote{{verified: true, status: "success", token: "pay-1", order: "OC-OTHER"}, verifiedNote("success", "pay-1")},
		verdict: VerdictVerified, effect: EffectPaid, counts: true, moved: true, noted: true, status: StatusPaid, payToken: "pay-1",
		linkStatus: LinkPaid, linkPaidAtReceived: true},
	{name: "unverified changes nothing on the session", session: rulePending(), link: ruleOpenLink(),
		notes:   []ruleNote{{status: "success", token: "pay-1", reason: "bad_signature"}},
		verdict: VerdictRejected, reason: "bad_signature", effect: EffectNone, status: StatusPending},
	{name: "unverified changes nothing on a paid session", session: rulePaid("pay-1"),
		notes:   []ruleNote{{status: "rejected", token: "pay-2", reason: "bad_signature"}},
		verdict: VerdictRejected, reason: "bad_signature", effect: EffectNone, status: StatusPaid, payToken: "pay-1"},
	{name: "unverified for an unknown session is no error", notes: []ruleNote{{status: "success", token: "pay-1", reason: "unknown_session"}},
		verdict: VerdictRejected, reason: "unknown_session", effect: EffectNone},
	{name: "verified for an unknown session is an error", notes: []ruleNote{verifiedNote("success", "pay-1")}, wantErr: true},
	{name: "a success whose link is unknown is an error", session: rulePending(), notes: []ruleNote{verifiedNote("success", "pay-1")}, wantErr: true},
	{name: "success on a cancelled link flags review", session: rulePending(), link: ruleLink(func(l *Link) { l.Status = LinkCancelled }),
		notes:   []ruleNote{verifiedNote("success", "pay-1")},
		verdict: VerdictVerified, effect: EffectPaid, counts: true, moved: true, noted: true, status: StatusPaid, payToken: "pay-1",
		linkStatus: LinkCancelled, review: ReviewPaidAfterCancel, noPay: true},
	{name: "success on an expired link pays it and flags review", session: rulePending(),
		link:    ruleLink(func(l *Link) { l.ExpiresAt = &ruleEarlier }),
		notes:   []ruleNote{verifiedNote("success", "pay-1")},
		verdict: VerdictVerified, effect: EffectPaid, counts: true, moved: true, noted: true, status: StatusPaid, payToken: "pay-1",
		linkStatus: LinkPaid, review: ReviewPaidAfterExpiry, linkPaidAtReceived: true},
	{name: "success on an already-paid link flags a double payment", session: rulePending(),
		link:    ruleLink(func(l *Link) { l.Status, l.PaidAt = LinkPaid, &ruleEarlier }),
		notes:   []ruleNote{verifiedNote("success", "pay-1")},
		verdict: VerdictVerified, effect: EffectPaid, counts: true, moved: true, noted: true, status: StatusPaid, payToken: "pay-1",
		linkStatus: LinkPaid, review: ReviewDoublePayment, noPay: true},
	{name: "unreadable link is paid and flagged unreadable_data", session: rulePending(), link: ruleOpenLink(),
		notes:   []ruleNote{{verified: true, status: "success", token: "pay-1", linkUnreadable: true}},
		verdict: VerdictVerified, effect: EffectPaid, counts: true, moved: true, noted: true, status: StatusPaid, payToken: "pay-1",
		linkStatus: LinkPaid, review: ReviewUnreadable, linkPaidAtReceived: true},
	{name: "unreadable cancelled link keeps the cancel review", session: rulePending(),
		link:    ruleLink(func(l *Link) { l.Status = LinkCancelled }),
		notes:   []ruleNote{{verified: true, status: "success", token: "pay-1", linkUnreadable: true}},
		verdict: VerdictVerified, effect: EffectPaid, counts: true, moved: true, noted: true, status: StatusPaid, payToken: "pay-1",
		linkStatus: LinkCancelled, review: ReviewPaidAfterCancel, noPay: true},
}

// TestApplyRules runs the rules alone, without a database: each case's
// notifications in turn, each seeing the session, link and known results as
// the ones before left them.
func TestApplyRules(t *testing.T) {
	for _, tt := range ruleCases {
		t.Run(tt.name, func(t *testing.T) {
			sess, link := clonePtr(tt.session), clonePtr(tt.link)
			known := map[resultKey]bool{}
			var (
				out ruleOutcome
				err error
				in  ruleInput
			)
			for i, rn := range tt.notes {
				at := ruleNow.Add(time.Duration(i-len(tt.notes)+1) * time.Minute) // the last one at ruleNow
				in = rn.input(sess, link, known, at)
				out, err = decide(t, in)
				if err != nil {
					break
				}
				if out.Session != nil {
					sess = out.Session
				}
				if out.Link != nil {
					link = out.Link
				}
				if out.Counts {
					known[resultKey{sess.ID, rn.token, rn.status}] = true
				}
			}
			tt.check(t, in, out, err)
		})
	}
}

func (rn ruleNote) input(sess *Session, link *Link, known map[resultKey]bool, at time.Time) ruleInput {
	n := Notification{ReceivedAt: at, LastReceivedAt: at, Count: 1, Reason: rn.reason, MerchantOrderID: rn.order,
		PaymentToken: rn.token, PaymentStatus: rn.status, Effect: EffectNone}
	in := ruleInput{Note: n, Verified: rn.verified, Paid: rn.status == "success", Session: sess, Link: link, LinkUnreadable: rn.linkUnreadable}
	if sess != nil {
		if in.Note.MerchantOrderID == "" {
			in.Note.MerchantOrderID = sess.MerchantOrderID
		}
		in.Known = known[resultKey{sess.ID, rn.token, rn.status}]
	}
	return in
}

// decide runs applyRules and checks it is pure: it leaves its input as it
// was, and the same input gives the same outcome.
func decide(t *testing.T, in ruleInput) (ruleOutcome, error) {
	t.Helper()
	sess, link := clonePtr(in.Session), clonePtr(in.Link)
	out, err := applyRules(in)
	if !reflect.DeepEqual(in.Session, sess) || !reflect.DeepEqual(in.Link, link) {
		t.Fatalf("applyRules changed its input: session %+v, link %+v", in.Session, in.Link)
	}
	again, againErr := applyRules(in)
	if !reflect.DeepEqual(out, again) || (err == nil) != (againErr == nil) {
		t.Fatalf("applyRules is not deterministic: %+v, %v then %+v, %v", out, err, again, againErr)
	}
	return out, err
}

func (tt ruleCase) check(t *testing.T, in ruleInput, out ruleOutcome, err error) {
	t.Helper()
	if tt.wantErr {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if out.Verdict != tt.verdict || out.Reason != tt.reason || out.Effect != tt.effect || out.Counts != tt.counts || out.Moved != tt.moved {
		t.Errorf("verdict/reason/effect/counts/moved = %s/%q/%s/%v/%v, want %s/%q/%s/%v/%v", out.Verdict, out.Reason, out.Effect, out.Counts,
			out.Moved, tt.verdict, tt.reason, tt.effect, tt.counts, tt.moved)
	}
	tt.checkSession(t, in, out)
	tt.checkLink(t, in, out)
}

func (tt ruleCase) checkSession(t *testing.T, in ruleInput, out ruleOutcome) {
	t.Helper()
	if !tt.noted {
		if out.Session != nil {
			t.Errorf("the session changed: %+v", out.Session)
		}
		if in.Session != nil && (in.Session.Status != tt.status || in.Session.PaymentToken != tt.payToken) {
			t.Errorf("session before = %s/%s, want %s/%s", in.Session.Status, in.Session.PaymentToken, tt.status, tt.payToken)
		}
		return
	}
	s := out.Session
	if s == nil {
		t.Fatal("the session was not noted")
	}
	if s.Status != tt.status || s.PaymentToken != tt.payToken || s.Conflict != tt.conflict {
		t.Errorf("session status/token/conflict = %s/%s/%v, want %s/%s/%v", s.Status, s.PaymentToken, s.Conflict, tt.status, tt.payToken, tt.conflict)
	}
	if s.LastNotificationAt == nil || !s.LastNotificationAt.Equal(ruleNow) || s.LastNotificationNote != out.Verdict {
		t.Errorf("last notification = %v %q, want %v %q", s.LastNotificationAt, s.LastNotificationNote, ruleNow, out.Verdict)
	}
	if tt.moved && tt.status == StatusPaid && (s.PaidAt == nil || !s.PaidAt.Equal(ruleNow)) {
		t.Errorf("paid at %v, want %v", s.PaidAt, ruleNow)
	}
	if tt.moved && tt.status == StatusFailed && (s.FailedAt == nil || !s.FailedAt.Equal(ruleNow)) {
		t.Errorf("failed at %v, want %v", s.FailedAt, ruleNow)
	}
}

func (tt ruleCase) checkLink(t *testing.T, in ruleInput, out ruleOutcome) {
	t.Helper()
	if tt.linkStatus == "" {
		if out.Link != nil {
			t.Errorf("the link changed: %+v", out.Link)
		}
		return
	}
	l := out.Link
	if l == nil {
		t.Fatal("the link was not paid")
	}
	if l.Status != tt.linkStatus || l.ReviewReason != tt.review {
		t.Errorf("link status/review = %s/%q, want %s/%q", l.Status, l.ReviewReason, tt.linkStatus, tt.review)
	}
	switch {
	case tt.linkPaidAtReceived && (l.PaidAt == nil || !l.PaidAt.Equal(ruleNow)):
		t.Errorf("link paid at %v, want %v", l.PaidAt, ruleNow)
	case tt.noPay && !reflect.DeepEqual(l.PaidAt, in.Link.PaidAt):
		t.Errorf("link paid at %v, want it unchanged (%v)", l.PaidAt, in.Link.PaidAt)
	}
}

func clonePtr[T any](v *T) *T {
	if v == nil {
		return nil
	}
	return clone(v)
}
