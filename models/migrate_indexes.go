package models

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// pgIndex is one of the target's indexes, as PostgreSQL would make it again.
type pgIndex struct{ name, def string }

// suspendIndexes drops, inside the copy's transaction, the target's
// indexes that back no constraint (all but the primary keys): building an
// index once from all the rows is many times faster than updating it row
// by row (the trigram indexes of search most of all). rebuildIndexes makes
// them again, from their own definitions, before the transaction commits:
// no one ever sees the target without them.
func suspendIndexes(ctx context.Context, tx pgx.Tx) ([]pgIndex, error) {
	rows, err := tx.Query(ctx, "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "+
		"JOIN pg_class c ON c.oid = i.indexrelid "+
		"WHERE c.relnamespace = current_schema()::regnamespace "+
		"AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname")
	if err != nil {
		return nil, fmt.Errorf("list target indexes: %w", err)
	}
	idx, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgIndex, error) {
		var x pgIndex
		return x, r.Scan(&x.name, &x.def)
	})
	if err != nil {
		return nil, fmt.Errorf("list target indexes: %w", err)
	}
	for _, x := range idx {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{x.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("suspend index %s: %w", x.name, err)
		}
	}
	return idx, nil
}

// rebuildIndexes makes the suspended indexes again, with more memory for
// their sorts than a session gets by default.
func rebuildIndexes(ctx context.Context, tx pgx.Tx, idx []pgIndex, progress func(MigrateProgress)) error {
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return fmt.Errorf("rebuild indexes: %w", err)
	}
	for i, x := range idx {
		if _, err := tx.Exec(ctx, x.def); err != nil {
			return fmt.Errorf("rebuild index %s: %w", x.name, err)
		}
		if progress != nil {
			progress(MigrateProgress{Table: "(indexes)", Copied: int64(i + 1), Rows: int64(len(idx))})
		}
	}
	return nil
}
