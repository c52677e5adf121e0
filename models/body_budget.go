package models

import (
	"context"
	"time"
)

// RejectedBodyKeep is how much of a rejected notification's body is kept as
// evidence: with its size, SHA-256, reason, source and time it is what staff
// need to recognise the attempt.
const RejectedBodyKeep = 4 << 10

// RejectedBodyBudget is how many bytes of rejected bodies are kept per clock
// hour. Past it a rejected notification is still stored, counted and shown,
// without its body (BodyDropped), so a stranger cannot fill the disk.
const RejectedBodyBudget = 4 << 20

// bodyBudget is what rejected bodies have taken in the current clock hour.
type bodyBudget struct {
	hour time.Time
	used int
}

// take reserves n bytes for a body received at at, reporting whether the
// hour's budget had room for them.
func (b *bodyBudget) take(at time.Time, n int) bool {
	if hour := at.UTC().Truncate(time.Hour); hour.After(b.hour) {
		b.hour, b.used = hour, 0
	}
	if b.used+n > RejectedBodyBudget {
		return false
	}
	b.used += n
	return true
}

// loadBodyBudget starts the writer's budget from what the database already
// holds for this hour, so a restart does not grant a flood a fresh budget.
func (s *Store) loadBodyBudget(ctx context.Context, now time.Time) (bodyBudget, error) {
	hour := now.UTC().Truncate(time.Hour)
	var used int
	// body_size, not length(body): it needs no body read. Through the
	// (verdict, last_received_at) index; rows first received earlier this
	// hour and repeated since are a superset, which only errs on the safe side.
	err := s.write.WithContext(ctx).Raw("SELECT COALESCE(SUM(CASE WHEN body_dropped THEN 0 ELSE "+s.d.least()+"(body_size, ?) END), 0) "+
		"FROM notifications WHERE verdict = ? AND last_received_at >= ? AND received_at >= ?",
		RejectedBodyKeep, VerdictRejected, hour, hour).Scan(&used).Error
	if err != nil {
		return bodyBudget{}, err
	}
	return bodyBudget{hour: hour, used: used}, nil
}
