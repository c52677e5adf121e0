// Command reference is the bare reference of the load script (issue 15): the
// minimum honest durable work of a notification, on the driver the app uses
// (github.com/glebarez/go-sqlite through database/sql), with no HTTP, no
// rules and no ORM. The load script runs it in the same run, on the same
// machine and disk, and reports the app's ingest as a ratio to it.
//
// It makes a database of -sessions old sessions (id, token unique, status,
// payment_token, updated_at; 85% settled with one ~600-byte notification
// each, the rest pending) plus -recent fresh pending sessions added after
// them, then applies two workloads with one writer, 256 notifications per
// transaction (-group, and -random-group for the random workload alone: the
// load script re-runs it at the app's own group sizes) (BEGIN IMMEDIATE; SELECT ... WHERE token IN (...); one
// UPDATE ... FROM (VALUES ...); one multi-row INSERT; COMMIT):
//
//   - recent: the fresh sessions, in the order they were created (the
//     realistic case: ETpay notifies minutes after the session started);
//   - random: -random old pending sessions in random order (the worst case).
//
// The settings are fixed, not the app's: WAL, synchronous=FULL,
// wal_autocheckpoint=4000, a 16 MB cache, temp_store=MEMORY. For each
// workload it prints one JSON line on stdout: notifications a second, bytes
// written per notification as /proc/self/io wchar and as the block device's
// own counter (sectors written × 512, the device behind -dir; shared with
// every other process on it), write_bytes (which overstates on some
// kernels), and CPU µs per notification (getrusage, user + system).
// Progress goes to stderr. Build and run (the directory is outside ./...):
//
//	go build -o /tmp/reference ./.ci/reference && /tmp/reference -dir /tmp
//
// With -http it is instead the bare HTTP ceiling (http.go): the same work
// behind Fiber and a JWT check, driven by the load script's wrk.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/glebarez/go-sqlite" // registers "sqlite", the driver under github.com/glebarez/sqlite
)

// note is one notification: the session it names and what it carries.
type note struct {
	token, paymentToken, body string
}

// result is the JSON line printed per workload.
type result struct {
	Workload          string  `json:"workload"`
	Notifications     int     `json:"notifications"`
	Group             int     `json:"group"`
	Sessions          int     `json:"sessions"`
	Seconds           float64 `json:"seconds"`
	PerSecond         float64 `json:"per_second"`
	WcharPerNote      float64 `json:"wchar_per_note"`
	DevicePerNote     float64 `json:"device_per_note"`
	Device            string  `json:"device"`
	WriteBytesPerNote float64 `json:"write_bytes_per_note"`
	CPUMicrosPerNote  float64 `json:"cpu_us_per_note"`
	UpdatedSessions   int     `json:"updated_sessions"`
	InsertedNotes     int     `json:"inserted_notifications"`
}

func main() {
	dir := flag.String("dir", os.TempDir(), "directory for the database (its disk is the one measured)")
	sessions := flag.Int("sessions", 200_000, "old sessions to seed")
	recent := flag.Int("recent", 40_000, "fresh sessions for the recent workload (one notification each)")
	random := flag.Int("random", 25_000, "random old pending sessions for the random workload")
	group := flag.Int("group", 256, "notifications per transaction")
	randomGroup := flag.Int("random-group", 0, "notifications per transaction in the random workload (0: -group)")
	bareHTTP := flag.Bool("http", false, "serve the workloads over HTTP instead (the bare HTTP ceiling: see http.go)")
	skip := flag.String("skip", "", "with -http: skip the JWT check (jwt) or the writer (write), to split the cost")
	flag.Parse()
	if *randomGroup <= 0 {
		*randomGroup = *group
	}
	var err error
	if *bareHTTP {
		err = serve(*dir, *sessions, *recent, *random, *skip)
	} else {
		err = run(*dir, *sessions, *recent, *random, *group, *randomGroup)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "reference:", err)
		os.Exit(1)
	}
}

func run(dir string, sessions, recent, random, group, randomGroup int) error {
	ctx := context.Background()
	work, err := os.MkdirTemp(dir, "reference-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	db, conn, err := open(ctx, filepath.Join(work, "reference.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()
	rng := rand.New(rand.NewChaCha8([32]byte{15}))
	begin := time.Now()
	pending, err := seed(ctx, conn, rng, sessions)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fresh, err := insertSessions(ctx, conn, rng, sessions+1, recent, func(int) bool { return false })
	if err != nil {
		return fmt.Errorf("fresh sessions: %w", err)
	}
	fmt.Fprintf(os.Stderr, "reference: %d old sessions (%d pending) and %d fresh ones seeded in %v\n",
		sessions, len(pending), len(fresh), time.Since(begin).Round(time.Millisecond))
	rng.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
	device := deviceOf(work)
	for _, w := range []struct {
		name   string
		tokens []string
		group  int
	}{{"recent", fresh, group}, {"random", pending[:min(random, len(pending))], randomGroup}} {
		r, err := measure(ctx, conn, rng, w.tokens, w.group, device)
		if err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
		r.Workload, r.Sessions = w.name, sessions+recent
		line, _ := json.Marshal(r)
		fmt.Println(string(line))
	}
	return nil
}

// open opens the database with the reference's fixed settings on one
// connection: the one writer.
func open(ctx context.Context, path string) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	for _, q := range []string{
		"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA wal_autocheckpoint = 4000",
		"PRAGMA cache_size = -16000", "PRAGMA temp_store = MEMORY",
		`CREATE TABLE sessions (id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
			payment_token TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL)`,
		`CREATE TABLE notifications (id INTEGER PRIMARY KEY, session_id INTEGER, received_at TEXT NOT NULL, body TEXT NOT NULL)`,
		"CREATE INDEX notifications_session_id ON notifications (session_id)",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			db.Close()
			return nil, nil, fmt.Errorf("%.40s: %w", q, err)
		}
	}
	return db, conn, nil
}

// measure applies one notification per token, group by group, and reads
// the process's and the device's counters around it.
func measure(ctx context.Context, conn *sql.Conn, rng *rand.Rand, tokens []string, group int, device string) (result, error) {
	notes := make([]note, len(tokens))
	for i, t := range tokens {
		notes[i] = note{token: t, paymentToken: alnum(rng, 64), body: body(rng)}
	}
	// Every workload starts from an empty WAL.
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return result{}, err
	}
	r := result{Notifications: len(notes), Group: group, Device: device}
	before := snapshot(device)
	begin := time.Now()
	for i := 0; i < len(notes); i += group {
		updated, inserted, err := apply(ctx, conn, notes[i:min(i+group, len(notes))])
		if err != nil {
			return r, err
		}
		r.UpdatedSessions += updated
		r.InsertedNotes += inserted
	}
	elapsed := time.Since(begin)
	after := snapshot(device)
	n := float64(len(notes))
	r.Seconds = elapsed.Seconds()
	r.PerSecond = n / elapsed.Seconds()
	r.WcharPerNote = float64(after.wchar-before.wchar) / n
	r.WriteBytesPerNote = float64(after.writeBytes-before.writeBytes) / n
	r.DevicePerNote = -1
	if before.sectors >= 0 && after.sectors >= 0 {
		r.DevicePerNote = float64(after.sectors-before.sectors) * 512 / n
	}
	r.CPUMicrosPerNote = float64((after.cpu - before.cpu).Microseconds()) / n
	return r, nil
}

// apply is one group's transaction: look the sessions up by token, mark the
// pending ones paid with their payment_token, store every notification.
func apply(ctx context.Context, conn *sql.Conn, group []note) (updated, inserted int, err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	ids, err := lookUp(ctx, conn, group)
	if err != nil {
		return 0, 0, err
	}
	now := time.Now().UTC().Format("2006-01-02 15:04:05.999999999-07:00")
	var upd, ins []any
	for _, n := range group {
		s, ok := ids[n.token]
		if ok && s.status == "pending" {
			upd = append(upd, s.id, "paid", n.paymentToken, now)
			s.status = "paid" // a second notification in the group finds it paid
			ids[n.token] = s
		}
		var sessionID any
		if ok {
			sessionID = s.id
		}
		ins = append(ins, sessionID, now, n.body)
	}
	if len(upd) > 0 {
		q := "UPDATE sessions SET status = v.column2, payment_token = v.column3, updated_at = v.column4 FROM (VALUES " +
			rows(len(upd)/4, 4) + ") AS v WHERE sessions.id = v.column1"
		if _, err := conn.ExecContext(ctx, q, upd...); err != nil {
			return 0, 0, err
		}
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO notifications (session_id, received_at, body) VALUES "+rows(len(group), 3), ins...); err != nil {
		return 0, 0, err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return len(upd) / 4, len(group), err
}

// session is what a group reads of a session.
type session struct {
	id     int64
	status string
}

// lookUp reads the group's sessions with one SELECT ... WHERE token IN (...).
func lookUp(ctx context.Context, conn *sql.Conn, group []note) (map[string]session, error) {
	args := make([]any, len(group))
	for i, n := range group {
		args[i] = n.token
	}
	q := "SELECT id, token, status FROM sessions WHERE token IN (" + strings.TrimSuffix(strings.Repeat("?,", len(group)), ",") + ")"
	rs, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	ids := make(map[string]session, len(group))
	for rs.Next() {
		var (
			s     session
			token string
		)
		if err := rs.Scan(&s.id, &token, &s.status); err != nil {
			return nil, err
		}
		ids[token] = s
	}
	return ids, rs.Err()
}

// rows is n parenthesised groups of width placeholders: (?,?),(?,?).
func rows(n, width int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", width), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", n), ",")
}
