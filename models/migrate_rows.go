package models

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// copyTables copies every planned table in one transaction on the target
// (a failed copy leaves the schema and no row, so it may simply be run
// again), in batches of copyBatchRows rows sent with COPY, its indexes
// suspended meanwhile (see suspendIndexes), then moves each id sequence
// past the largest id copied.
func copyTables(ctx context.Context, snap *sql.Tx, target *pgx.Conn, plan *copyPlan, progress func(MigrateProgress)) error {
	tx, err := target.Begin(ctx)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Another copy may have started meanwhile. The tables copied are
	// checked (a table only PostgreSQL has is the server's, which Open may
	// have written); the schema's version is still the one row allowed in
	// settings, and it comes again with the source's settings.
	copied := make([]string, len(plan.tables))
	for i, t := range plan.tables {
		copied[i] = t.name
	}
	if err := targetEmpty(ctx, tx, copied); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM settings"); err != nil {
		return fmt.Errorf("copy settings: %w", err)
	}
	idx, err := suspendIndexes(ctx, tx)
	if err != nil {
		return err
	}
	for _, t := range plan.tables {
		if err := copyTableRows(ctx, snap, tx, t, progress); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	if err := rebuildIndexes(ctx, tx, idx, progress); err != nil {
		return err
	}
	for _, t := range plan.tables {
		if !t.serial {
			continue
		}
		name := pgx.Identifier{t.name}.Sanitize()
		if _, err := tx.Exec(ctx, "SELECT setval(pg_get_serial_sequence($1, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM "+name, name); err != nil {
			return fmt.Errorf("advance %s ids: %w", t.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("copy: commit: %w", err)
	}
	return nil
}

// copyTableRows streams one table from the snapshot, in id order where it
// has ids (a row pointing to another of its table comes after it).
func copyTableRows(ctx context.Context, snap *sql.Tx, tx pgx.Tx, t copyTable, progress func(MigrateProgress)) error {
	p := MigrateProgress{Table: t.name}
	if err := snap.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(t.name)).Scan(&p.Rows); err != nil {
		return err
	}
	quoted := make([]string, len(t.cols))
	for i, c := range t.cols {
		quoted[i] = quoteIdent(c)
	}
	q := "SELECT " + strings.Join(quoted, ", ") + " FROM " + quoteIdent(t.name)
	if t.hasID {
		q += " ORDER BY id"
	}
	rows, err := snap.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	batch := make([][]any, 0, copyBatchRows)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(batch)); err != nil {
			return err
		}
		p.Copied += int64(len(batch))
		batch = batch[:0]
		if progress != nil {
			progress(p)
		}
		return nil
	}
	for rows.Next() {
		row, err := scanCopyRow(rows, t)
		if err != nil {
			return err
		}
		if batch = append(batch, row); len(batch) == copyBatchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if p.Copied == 0 && progress != nil {
		progress(p)
	}
	return nil
}

// scanCopyRow reads one source row as the values the target's columns take.
func scanCopyRow(rows *sql.Rows, t copyTable) ([]any, error) {
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, v := range vals {
		c, err := pgValue(v, t.types[i])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", t.cols[i], err)
		}
		vals[i] = c
	}
	return vals, nil
}

// pgValue is a value as SQLite gives it (int64, float64, string, []byte,
// time.Time or nil) in the Go type pgx writes to a column of type typ:
// SQLite's 0/1 booleans become booleans, its texts of times become times
// (kept to the microsecond, all PostgreSQL keeps: the rest is cut, as the
// app itself cuts times it writes on PostgreSQL), text stays text.
func pgValue(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "boolean":
		switch b := v.(type) {
		case int64:
			return b != 0, nil
		case bool:
			return b, nil
		case string:
			return strconv.ParseBool(b)
		}
	case "timestamp with time zone", "timestamp without time zone":
		switch tv := v.(type) {
		case time.Time:
			return tv, nil
		case string:
			return parseCopiedTime(tv)
		}
	case "text", "character varying":
		switch s := v.(type) {
		case []byte:
			return string(s), nil
		case string:
			return s, nil
		case int64:
			return strconv.FormatInt(s, 10), nil
		case time.Time:
			return s.Format(time.RFC3339Nano), nil
		}
	case "bytea":
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	}
	return v, nil
}

// parseCopiedTime reads a time SQLite keeps as text, in any of the ways
// the driver and GORM write them.
func parseCopiedTime(s string) (time.Time, error) {
	for _, layout := range storedTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

// quoteIdent quotes a table or column name for either engine.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
