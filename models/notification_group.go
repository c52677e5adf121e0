package models

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// noteGroup is a group of notifications applied together. Everything the
// rules need is read up front with one query per table; the rules (see
// applyRules) then run on those rows in memory, one notification after the
// other, exactly as if each had been applied alone in turn; and what they
// changed is written at the end with one statement per kind of change. The
// pure-Go SQLite driver parses every statement each time it runs, so
// statements per group, not per notification, is what makes a burst cheap.
type noteGroup struct {
	groupRows    // read by loadGroup, kept as the notifications so far left them
	groupChanges // what to write (see write)
	// budget is what rejected bodies may still take this hour.
	budget *bodyBudget
	// d is the engine, whose clock the group's times are read from.
	d dialect
}

// groupRows are the rows a group's rules need.
type groupRows struct {
	sessions map[string]*Session // by session_token (without signature tokens)
	links    map[uint]*Link      // by id: the links successes may pay
	// results says which verified results each session already has (a
	// notification saying one of them again is a duplicate).
	results map[resultKey]bool
	// rejected are the stored (or about to be) rejected rows by body and
	// reason: an identical rejected body is counted on its first row.
	rejected map[rejectedKey]*Notification
	// unreadable names the columns read as empty because their stored value
	// could not be read (a row damaged, or written by an older version).
	unreadable      map[string][]string // by "table id"
	unreadableLinks map[uint]bool
	// queuedMail are the links with a link email or reminder
	// queued when read: only those have emails for a payment to withdraw.
	queuedMail map[uint]bool
}

// groupChanges is what a group's rules changed, in the order first changed.
type groupChanges struct {
	changedSessions []*Session
	sessionMoved    map[uint]bool // status or payment changed, not only the note
	changedLinks    []*Link
	linkChanged     map[uint]bool
	recounted       []*Notification // stored rejected rows counted again
	copies          []rowCopy       // callers' results that copy a rejected row
	inserts         []*Notification
}

type resultKey struct {
	sessionID                   uint
	paymentToken, paymentStatus string
}

type rejectedKey struct{ bodyHash, reason string }

// applyGroup applies reqs as one group. A notification the rules refuse (a
// verified one whose session is unknown) gets its error in errs and writes
// nothing; a failed statement is returned, and then the caller must roll back.
func applyGroup(ctx context.Context, t *noteTx, reqs []*noteRequest, errs []error) error {
	g, err := loadGroup(ctx, t, reqs)
	if err != nil {
		return err
	}
	g.budget = t.budget
	for i, r := range reqs {
		if r.verified {
			errs[i] = g.applyVerified(r)
		} else {
			g.recordRejected(r)
		}
	}
	// The emails are built on other goroutines while this one writes the
	// group (the receipt and alerts are queued as their data and rendered
	// when sent: see emails.Render), CPU the single writer need not spend.
	built := startGroupMail(ctx, t, reqs, errs)
	defer built.wait() // never leave them writing to reqs
	if err := g.write(ctx, t); err != nil {
		return err
	}
	if err := queueNoteEvents(ctx, t, reqs, errs); err != nil {
		return err
	}
	queueGroupMail(ctx, t, reqs, built.wait())
	return nil
}

// applyVerified applies a verified notification to its session: the rules
// decide (see applyRules), and the group records what they changed.
func (g *noteGroup) applyVerified(r *noteRequest) error {
	n := r.n
	sess := g.sessions[n.SessionToken]
	in := ruleInput{Note: *n, Verified: true, Paid: r.paid, Session: sess}
	if sess != nil {
		in.Link, in.LinkUnreadable = g.links[sess.LinkID], g.unreadableLinks[sess.LinkID]
		in.Known = g.results[resultKey{sess.ID, n.PaymentToken, n.PaymentStatus}]
	}
	out, err := applyRules(in)
	if err != nil {
		// Nothing recorded: an error leaves the group as it was.
		return err
	}
	n.SessionID = &sess.ID
	n.Verdict, n.Reason, n.Effect = out.Verdict, out.Reason, out.Effect
	r.unreadable = append(g.unreadable[fmt.Sprintf("session %d", sess.ID)], g.unreadable[fmt.Sprintf("link %d", sess.LinkID)]...)
	if out.Link != nil {
		r.link = clone(in.Link)
		g.changeLink(in.Link, out.Link)
	}
	g.changeSession(sess, out)
	if out.Counts {
		g.results[resultKey{sess.ID, n.PaymentToken, n.PaymentStatus}] = true
	}
	r.sess = clone(sess)
	g.inserts = append(g.inserts, n)
	return nil
}

// changeSession records that the rules changed sess as out says.
func (g *noteGroup) changeSession(sess *Session, out ruleOutcome) {
	*sess = *out.Session
	sess.UpdatedAt = g.d.stored(time.Now().UTC())
	if !slices.Contains(g.changedSessions, sess) {
		g.changedSessions = append(g.changedSessions, sess)
	}
	if out.Moved {
		g.sessionMoved[sess.ID] = true
	}
}

// changeLink records that the rules changed link to paid.
func (g *noteGroup) changeLink(link, paid *Link) {
	*link = *paid
	link.UpdatedAt = g.d.stored(time.Now().UTC())
	if !g.linkChanged[link.ID] {
		g.linkChanged[link.ID] = true
		g.changedLinks = append(g.changedLinks, link)
	}
}

// recordRejected stores a notification that failed verification: counted on
// the first row of an identical rejected body, else a new row attached to the
// session it names. It changes nothing on the session (see applyRules).
func (g *noteGroup) recordRejected(r *noteRequest) {
	n := r.n
	sess := g.sessions[n.SessionToken]
	out, _ := applyRules(ruleInput{Note: *n, Session: sess}) // never an error: not verified
	n.Verdict, n.Reason, n.Effect = out.Verdict, out.Reason, out.Effect
	k := rejectedKey{n.BodyHash, n.Reason}
	if row := g.rejected[k]; row != nil {
		row.Count++
		row.LastReceivedAt = n.ReceivedAt
		if row.ID != 0 && !slices.Contains(g.recounted, row) {
			g.recounted = append(g.recounted, row)
		}
		r.n = g.copyOf(row) // the row as this delivery left it
		return
	}
	// Attached to the session it names, so staff see the attempt in its
	// history, but nothing on the session moves: anyone who knows a
	// session_token (it is in the funnel's URL) can send junk naming it.
	if sess != nil {
		n.SessionID = &sess.ID
	}
	g.keepRejectedBody(r)
	row := *n // later deliveries count on the row, not on this caller's result
	g.rejected[k] = &row
	g.inserts = append(g.inserts, &row)
	g.copies = append(g.copies, rowCopy{n, &row})
}

// keepRejectedBody cuts a new rejected row's body to what staff need (its
// first RejectedBodyKeep bytes; size and hash are of the whole) and drops it
// altogether once the hour's budget for rejected bodies is spent: junk
// cannot fill the disk.
func (g *noteGroup) keepRejectedBody(r *noteRequest) {
	n := r.n
	if len(n.Body) > RejectedBodyKeep {
		n.Body = n.Body[:RejectedBodyKeep]
	}
	if !g.budget.take(n.ReceivedAt, len(n.Body)) {
		n.Body, n.BodyDropped = "", true
	}
}

// copyOf is a caller's own copy of a row as it is now; it gets the row's ID
// once the row is stored.
func (g *noteGroup) copyOf(row *Notification) *Notification {
	c := *row
	g.copies = append(g.copies, rowCopy{&c, row})
	return &c
}

// rowCopy is a caller's result that copies a row the group stores.
type rowCopy struct{ result, row *Notification }

// clone is a copy of a row as it is now, for a caller to keep.
func clone[T any](v *T) *T {
	c := *v
	return &c
}
