package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// ErrClosed is returned for writes attempted after the Store was closed.
var ErrClosed = errors.New("store closed")

// maxNoteBatch bounds one group commit, so one transaction stays short (and
// its statements under SQLite's limit of 32,766 bound parameters: 18 a
// notification).
const maxNoteBatch = 256

// noteRequest is one notification waiting for the writer.
type noteRequest struct {
	ctx            context.Context
	n              *Notification
	verified, paid bool
	orig           Notification // as received, for reset
	mail           NotificationMail
	done           chan error
	// Set by the writer.
	sess       *Session // the session as this notification left it
	link       *Link    // for a payment applied: the link as it was before
	queued     int
	mailErr    error
	unreadable []string // columns of its rows that could not be read
}

// reset forgets what an abandoned attempt found, before applying r again.
func (r *noteRequest) reset() {
	n := r.orig
	r.n = &n
	r.sess, r.link, r.queued, r.mailErr, r.unreadable = nil, nil, 0, nil, nil
}

func (r *noteRequest) result() *NotificationResult {
	return &NotificationResult{Notification: r.n, Session: r.sess, Queued: r.queued, MailErr: r.mailErr, Unreadable: r.unreadable}
}

// notifier is the single goroutine that writes notifications. Callers queue
// requests; it takes whatever has gathered (at most maxNoteBatch) and applies
// it in one transaction, so a burst costs one commit (one fsync) instead of
// one per notification, without ever delaying a lone notification.
//
// The writer's pieces, one file each: this one (the loop, its transaction and
// its savepoint fallback); notification_load.go (reading a group's rows);
// notification_rules.go (what one notification does to its session and link,
// a pure function of those rows); notification_group.go (applying the rules
// to a group's notifications in turn and recording what changed);
// notification_write.go (writing what changed);
// notification_mail.go (queueing the emails a group calls for); and
// sql_helpers.go (placeholders and nullable arguments).
type notifier struct {
	mu     sync.RWMutex // held for reading while sending, for writing while closing
	closed bool
	queue  chan *noteRequest
	done   chan struct{}
	keys   keyCache
	groups groupCounter
	// budget is what rejected bodies took this hour; only the writer
	// goroutine touches it.
	budget bodyBudget
}

// startNotifier starts the Store's writer; a Store always has one.
func (s *Store) startNotifier(ctx context.Context) error {
	budget, err := s.loadBodyBudget(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("read rejected-body budget: %w", err)
	}
	s.notes = &notifier{queue: make(chan *noteRequest, maxNoteBatch), done: make(chan struct{}), budget: budget}
	go s.runNotifier()
	return nil
}

func (q *notifier) submit(ctx context.Context, req *noteRequest) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	select {
	case q.queue <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop lets queued requests finish and ends the writer goroutine.
func (q *notifier) stop() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.queue)
	}
	q.mu.Unlock()
	<-q.done
}

func (s *Store) runNotifier() {
	defer close(s.notes.done)
	batch := make([]*noteRequest, 0, maxNoteBatch)
	for first := range s.notes.queue {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxNoteBatch {
			select {
			case r, ok := <-s.notes.queue:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.notes.groups.add(len(batch))
		s.applyNotes(batch)
	}
}

// applyNotes applies a batch in one transaction and tells every caller.
//
// The fast way applies the whole batch as one group (see applyGroup): a few
// statements for all of it, whatever its size. If any statement fails, the
// transaction is rolled back, so nothing of the batch was written, and the
// batch is applied again the careful way: each notification as a group of
// its own under its own savepoint, so that a failure undoes only its own.
func (s *Store) applyNotes(batch []*noteRequest) {
	errs := make([]error, len(batch))
	err := s.applyBatch(batch, errs, false)
	if errors.Is(err, errRetryCarefully) {
		for _, r := range batch {
			r.reset()
		}
		clear(errs)
		err = s.applyBatch(batch, errs, true)
	}
	for i, r := range batch {
		switch {
		case errs[i] != nil:
			r.done <- errs[i]
		case err != nil:
			r.done <- err
		default:
			r.done <- nil
		}
	}
}

// errRetryCarefully abandons a batch's fast transaction (see applyNotes).
var errRetryCarefully = errors.New("a statement of the group failed: retry the batch with savepoints")

// applyBatch applies batch in one transaction, the fast way or carefully
// (see applyNotes); errs gets each notification's own error.
func (s *Store) applyBatch(batch []*noteRequest, errs []error, carefully bool) error {
	// Not any caller's ctx: one caller giving up must not undo the others.
	ctx := context.Background()
	budget := s.notes.budget
	err := s.write.Transaction(func(tx *gorm.DB) error {
		hooks, err := s.hooksIn(tx, EventPaymentSucceeded, EventPaymentFailed)
		if err != nil {
			return err
		}
		t := &noteTx{gorm: tx, conn: tx.Statement.ConnPool, budget: &budget, hooks: hooks, baseURL: s.baseURL}
		live, liveErrs := liveRequests(batch, errs)
		apply := applyFast
		if carefully {
			apply = applyCarefully
		}
		applied, err := apply(ctx, t, live, liveErrs)
		if err != nil {
			return err
		}
		if applied == 0 {
			return errNothingApplied
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record notification batch: %w", err)
	}
	s.notes.budget = budget
	return nil
}

// liveRequests are the requests of batch whose callers still wait, with
// where each one's error goes; a caller that gave up before its turn gets
// its context's error and is skipped.
func liveRequests(batch []*noteRequest, errs []error) ([]*noteRequest, []*error) {
	live := make([]*noteRequest, 0, len(batch))
	liveErrs := make([]*error, 0, len(batch))
	for i, r := range batch {
		if errs[i] = r.ctx.Err(); errs[i] == nil {
			live, liveErrs = append(live, r), append(liveErrs, &errs[i])
		}
	}
	return live, liveErrs
}

// applyFast applies reqs as one group and says how many were applied; a
// failed statement abandons the transaction with errRetryCarefully.
func applyFast(ctx context.Context, t *noteTx, reqs []*noteRequest, errs []*error) (int, error) {
	groupErrs := make([]error, len(reqs))
	if err := applyGroup(ctx, t, reqs, groupErrs); err != nil {
		return 0, errRetryCarefully
	}
	applied := 0
	for i, err := range groupErrs {
		*errs[i] = err
		if err == nil {
			applied++
		}
	}
	return applied, nil
}

// applyCarefully applies each of reqs as a group of its own under its own
// savepoint, so that a failure undoes only its own notification (and the
// body budget it took); it says how many were applied.
func applyCarefully(ctx context.Context, t *noteTx, reqs []*noteRequest, errs []*error) (int, error) {
	applied := 0
	for i, r := range reqs {
		if _, err := t.conn.ExecContext(ctx, "SAVEPOINT note"); err != nil {
			return 0, fmt.Errorf("savepoint: %w", err)
		}
		before := *t.budget
		groupErrs := make([]error, 1)
		err := applyGroup(ctx, t, reqs[i:i+1], groupErrs)
		if err = errors.Join(err, groupErrs[0]); err != nil {
			*errs[i] = err
			r.reset()
			*t.budget = before
			if _, err := t.conn.ExecContext(ctx, "ROLLBACK TO note"); err != nil {
				return 0, fmt.Errorf("roll back to savepoint: %w", err)
			}
		} else {
			applied++
		}
		if _, err := t.conn.ExecContext(ctx, "RELEASE note"); err != nil {
			return 0, fmt.Errorf("release savepoint: %w", err)
		}
	}
	return applied, nil
}

// errNothingApplied rolls back a batch in which every notification failed.
var errNothingApplied = errors.New("no notification applied")

// noteTx is the writer's transaction: plain SQL on its connection for the
// hot path (GORM's reflection costs more than the statements), GORM for the
// rare ones.
type noteTx struct {
	gorm *gorm.DB
	conn gorm.ConnPool
	// staff caches the alert recipients for this transaction: they change
	// only through the writer, which is busy with it.
	staff       []User
	staffLoaded bool
	// budget is the rejected-body budget as this transaction leaves it; the
	// writer keeps it once the transaction commits.
	budget *bodyBudget
	// hooks and baseURL are for the shop's webhooks (see queueNoteEvents).
	hooks   *hookSubs
	baseURL string
}
