package models

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// maxOutboxRows keeps one outbox INSERT well under SQLite's limit of 32,766
// bound parameters (21 a message).
const maxOutboxRows = 1000

// groupMail is a group's emails being built in the background.
type groupMail struct {
	wg    sync.WaitGroup
	built [][]*OutboxMessage
}

// wait returns each notification's emails once all are built.
func (m *groupMail) wait() [][]*OutboxMessage {
	m.wg.Wait()
	return m.built
}

// startGroupMail builds the emails each notification of reqs calls for (a
// payment applied), on up to GOMAXPROCS goroutines, while the writer goes on
// with the group's statements. They are built from the rows the rules left,
// as before (only the notification's ID is not known yet); the staff to
// alert are read here, on the writer's connection, before any goroutine starts.
func startGroupMail(ctx context.Context, t *noteTx, reqs []*noteRequest, errs []error) *groupMail {
	m := &groupMail{built: make([][]*OutboxMessage, len(reqs))}
	var todo []int
	for i, r := range reqs {
		if errs[i] == nil && r.mail != nil && r.link != nil {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return m
	}
	if err := loadAlertStaff(ctx, t); err != nil {
		// Every payment of the group loses its staff alerts, and says so.
		for _, i := range todo {
			reqs[i].mailErr = err
		}
	}
	// Copies taken here: the writer sets the stored rows' IDs meanwhile.
	notes := make([]Notification, len(todo))
	for k, i := range todo {
		notes[k] = *reqs[i].n
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	for w := range workers {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			for k := w; k < len(todo); k += workers {
				i := todo[k]
				m.built[i] = buildNoteMail(t.staff, reqs[i], &notes[k])
			}
		}()
	}
	return m
}

// queueGroupMail queues the emails built for each notification, a run of
// whole notifications' emails per statement.
func queueGroupMail(ctx context.Context, t *noteTx, reqs []*noteRequest, built [][]*OutboxMessage) {
	for start := 0; start < len(reqs); {
		end, rows := start, 0
		for end < len(reqs) && (end == start || rows+len(built[end]) <= maxOutboxRows) {
			rows += len(built[end])
			end++
		}
		queueMail(ctx, t, reqs[start:end], built[start:end])
		start = end
	}
}

// queueMail stores a run of notifications' emails with one statement. When
// that fails, each notification's emails are queued on their own, so one bad
// email costs only its own notification's emails; the notification itself
// stays applied, with mailErr saying why.
func queueMail(ctx context.Context, t *noteTx, reqs []*noteRequest, built [][]*OutboxMessage) {
	var all []*OutboxMessage
	for _, msgs := range built {
		all = append(all, msgs...)
	}
	if len(all) == 0 {
		return
	}
	if err := insertQueued(ctx, t, all); err == nil {
		for i, r := range reqs {
			r.queued = len(built[i])
		}
		return
	}
	for i, r := range reqs {
		if len(built[i]) == 0 {
			continue
		}
		if err := insertQueued(ctx, t, built[i]); err != nil {
			r.mailErr = errors.Join(r.mailErr, err)
			continue
		}
		r.queued = len(built[i])
	}
}

// loadAlertStaff reads the staff to alert, once per transaction. When that
// fails there is no one to alert (the customer's receipt needs no staff: it
// still goes out), and the error says why.
func loadAlertStaff(ctx context.Context, t *noteTx) error {
	if t.staffLoaded {
		return nil
	}
	var staff []User
	err := alone(ctx, t.conn, func() (err error) { // a failed lookup must not undo the payments
		staff, err = alertRecipients(ctx, t)
		return err
	})
	if err != nil {
		t.staff = nil
		return fmt.Errorf("load alert recipients: %w", err)
	}
	t.staff, t.staffLoaded = staff, true
	return nil
}

// buildNoteMail runs r.mail for a payment applied. (Rejected notifications
// alert staff through a digest, not from here: a stranger's junk must not
// queue mail.) A panic in the hook is caught here: it runs beside the
// writer, where it would end the process.
func buildNoteMail(staff []User, r *noteRequest, n *Notification) (msgs []*OutboxMessage) {
	defer func() {
		if p := recover(); p != nil {
			r.mailErr, msgs = fmt.Errorf("building the emails panicked: %v", p), nil
		}
	}()
	msgs, err := r.mail(MailEvent{Notification: n, Session: r.sess, Link: r.link, Staff: staff})
	if err != nil {
		r.mailErr = errors.Join(r.mailErr, err)
		return nil
	}
	return msgs
}

// alertRecipients is MailAlertRecipients inside the writer's transaction.
func alertRecipients(ctx context.Context, t *noteTx) ([]User, error) {
	rows, err := t.conn.QueryContext(ctx, "SELECT id, email, lang FROM users WHERE disabled = ? AND id IN "+
		"(SELECT user_id FROM mail_alert_subscriptions) ORDER BY id", false)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Email, &u.Lang); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// outboxColumns are the columns insertQueued sets.
const outboxColumns = `kind, dedupe_key, link_id, session_id, user_id, created_by_id, "to", lang, subject, text_body, html_body, data, ` +
	"message_id, status, priority, attempts, next_attempt_at, last_error, server_answer, created_at, updated_at"

// insertQueued is txStore.createQueued in plain SQL for several messages in one
// statement: a message whose DedupeKey is already stored is skipped. A
// statement that fails stores none of its messages.
func insertQueued(ctx context.Context, t *noteTx, msgs []*OutboxMessage) error {
	now := time.Now().UTC()
	args := make([]any, 0, 21*len(msgs))
	for _, m := range msgs {
		m.Status = MailQueued
		m.Priority = mailPriority(m.Kind)
		if m.NextAttemptAt.IsZero() {
			m.NextAttemptAt = now
		}
		m.CreatedAt, m.UpdatedAt = now, now
		args = append(args, m.Kind, strPtr(m.DedupeKey), uintPtr(m.LinkID), uintPtr(m.SessionID), uintPtr(m.UserID), uintPtr(m.CreatedByID),
			m.To, m.Lang, m.Subject, m.TextBody, m.HTMLBody, m.Data, m.MessageID, m.Status, m.Priority, m.Attempts, m.NextAttemptAt.UTC(), m.LastError,
			m.ServerAnswer, m.CreatedAt, m.UpdatedAt)
	}
	err := alone(ctx, t.conn, func() error {
		_, err := t.conn.ExecContext(ctx, "INSERT INTO outbox_messages ("+outboxColumns+") VALUES "+valueRows(len(msgs), 21)+
			" ON CONFLICT (dedupe_key) DO NOTHING", args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("queue emails: %w", err)
	}
	return nil
}
