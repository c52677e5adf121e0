package main

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"time"
)

// seedBatch is how many sessions one seeding transaction adds, and
// seedChunk how many rows one INSERT carries.
const (
	seedBatch = 10_000
	seedChunk = 64
)

// seed adds n old sessions spread over the last two years, like the app's
// demo data: 85% settled (paid, with the ~600-byte notification that paid
// them), 15% still pending. It returns the pending ones' tokens.
func seed(ctx context.Context, conn *sql.Conn, rng *rand.Rand, n int) ([]string, error) {
	return insertSessions(ctx, conn, rng, 1, n, func(i int) bool { return i%100 < 85 })
}

// insertSessions adds n sessions with ids from firstID, the ith settled
// when settled(i) says so, and returns the pending ones' tokens in id order.
func insertSessions(ctx context.Context, conn *sql.Conn, rng *rand.Rand, firstID, n int, settled func(int) bool) ([]string, error) {
	var pending []string
	span := 2 * 365 * 24 * time.Hour
	start := time.Now().Add(-span)
	for b := 0; b < n; b += seedBatch {
		var sessions, notes [][]any
		for i := b; i < min(b+seedBatch, n); i++ {
			id := firstID + i
			at := start.Add(span / time.Duration(n) * time.Duration(i)).UTC().Format("2006-01-02 15:04:05.999999999-07:00")
			token := alnum(rng, 64)
			if settled(i) {
				sessions = append(sessions, []any{id, token, "paid", alnum(rng, 64), at})
				notes = append(notes, []any{id, at, body(rng)})
				continue
			}
			sessions = append(sessions, []any{id, token, "pending", "", at})
			pending = append(pending, token)
		}
		if err := insertBatch(ctx, conn, sessions, notes); err != nil {
			return nil, err
		}
	}
	return pending, nil
}

// insertBatch writes one seeding transaction.
func insertBatch(ctx context.Context, conn *sql.Conn, sessions, notes [][]any) error {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	for _, t := range []struct {
		insert string
		rows   [][]any
	}{
		{"INSERT INTO sessions (id, token, status, payment_token, updated_at) VALUES ", sessions},
		{"INSERT INTO notifications (session_id, received_at, body) VALUES ", notes},
	} {
		for len(t.rows) > 0 {
			chunk := t.rows[:min(seedChunk, len(t.rows))]
			t.rows = t.rows[len(chunk):]
			var args []any
			for _, r := range chunk {
				args = append(args, r...)
			}
			if _, err := conn.ExecContext(ctx, t.insert+rows(len(chunk), len(chunk[0])), args...); err != nil {
				conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
				return err
			}
		}
	}
	_, err := conn.ExecContext(ctx, "COMMIT")
	return err
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// alnum is n random alphanumerics, like ETpay's tokens.
func alnum(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// body is a ~600-byte notification body: a signed JWT in JSON, as random
// (and as incompressible) as a real one.
func body(rng *rand.Rand) string {
	return `{"payment":"eyJhbGciOiJIUzI1NiJ9.` + alnum(rng, 520) + "." + alnum(rng, 43) + `"}`
}
