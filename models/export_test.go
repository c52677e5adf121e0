package models

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestEachSessionCrossesChunks exports more rows than one chunk, with ties
// on time and amount across the chunk boundary, in every order: each row
// exactly once, in order.
func TestEachSessionCrossesChunks(t *testing.T) {
	s := listStore(t)
	ctx := context.Background()
	link := &Link{Code: "C", MerchantOrderID: "OC", Amount: 1, Status: LinkOpen, Mode: "live"}
	if err := s.write.Create(link).Error; err != nil {
		t.Fatal(err)
	}
	const n = exportChunk*2 + 345
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rows := make([]Session, n)
	for i := range rows {
		rows[i] = Session{
			LinkID: link.ID, SessionToken: fmt.Sprintf("tok-%05d", i), Mode: "live", Status: StatusPending,
			MerchantOrderID: "OC", Amount: int64(i % 7), CreatedAt: at.Add(time.Duration(i/500) * time.Second),
		}
	}
	if err := s.write.CreateInBatches(rows, 500).Error; err != nil {
		t.Fatal(err)
	}
	for _, sort := range []string{SortDate, SortDateAsc, SortAmount, SortAmountAsc} {
		f := SessionFilter{Sort: sort}
		seen := map[string]bool{}
		var prev *SessionExport
		err := s.EachSession(ctx, f, func(e *SessionExport) error {
			if seen[e.SessionToken] {
				return fmt.Errorf("%s twice", e.SessionToken)
			}
			seen[e.SessionToken] = true
			if prev != nil && !inOrder(f, &prev.Session, &e.Session) {
				return fmt.Errorf("%s before %s", prev.SessionToken, e.SessionToken)
			}
			copy := *e
			prev = &copy
			return nil
		})
		if err != nil || len(seen) != n {
			t.Fatalf("sort %s: %d of %d rows (%v)", sort, len(seen), n, err)
		}
	}
}

// inOrder reports whether a comes before b in f's order (ties broken by id).
func inOrder(f SessionFilter, a, b *Session) bool {
	ka, kb := a.CreatedAt.UnixNano(), b.CreatedAt.UnixNano()
	if f.byAmount() {
		ka, kb = a.Amount, b.Amount
	}
	if ka == kb {
		ka, kb = int64(a.ID), int64(b.ID)
	}
	if f.ascending() {
		return ka < kb
	}
	return ka > kb
}
