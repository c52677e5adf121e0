package models

import (
	"context"
	"database/sql"
)

// SessionExport is one exported row: the session and its link's customer
// email. Only the session's columns the exports write are read (see
// exportColumns); the others are left zero.
type SessionExport struct {
	Session
	CustomerEmail string
}

// exportChunk is how many rows an export reads at a time. Between chunks no
// connection is held, so a slow download never starves the webhook or the
// panel of database connections, and memory stays flat.
const exportChunk = 1000

// EachSession calls fn for every session matching f, in f's order, reading
// keyset pages of exportChunk rows. A search is looked up once, as for a
// page.
func (s *Store) EachSession(ctx context.Context, f SessionFilter, fn func(*SessionExport) error) error {
	set, err := s.pageSet(ctx, f, nil, -1)
	if err != nil {
		return err
	}
	var cur *pageCursor
	chunk := make([]SessionExport, 0, exportChunk)
	for {
		query, args := sessionQuery(exportColumns, f, cur, exportChunk, set)
		if chunk, err = s.exportChunk(ctx, chunk[:0], query, args); err != nil {
			return err
		}
		for i := range chunk {
			if err := fn(&chunk[i]); err != nil {
				return err
			}
		}
		if len(chunk) < exportChunk {
			return nil
		}
		cur = &pageCursor{SessionCursor: f.CursorAfter(&chunk[len(chunk)-1].Session)}
	}
}

// exportChunk appends the rows of one chunk's query to chunk, read
// through database/sql: GORM's scan into structs, by reflection, was a
// third of an export's time.
func (s *Store) exportChunk(ctx context.Context, chunk []SessionExport, query string, args []any) ([]SessionExport, error) {
	rows, err := s.read.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return chunk, err
	}
	defer rows.Close()
	for rows.Next() {
		chunk = append(chunk, SessionExport{})
		e := &chunk[len(chunk)-1]
		var created, paid, failed, last sql.NullTime
		if err := rows.Scan(&e.ID, &e.MerchantOrderID, &e.Amount, &e.Status, &e.PaymentStatus, &e.PaymentToken, &e.SessionToken, &e.Mode,
			&created, &paid, &failed, &last, &e.CustomerEmail); err != nil {
			return chunk, err
		}
		e.CreatedAt = created.Time
		e.PaidAt, e.FailedAt, e.LastNotificationAt = timeOrNil(paid), timeOrNil(failed), timeOrNil(last)
	}
	return chunk, rows.Err()
}
