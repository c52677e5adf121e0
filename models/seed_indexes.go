package models

import (
	"context"
	"fmt"
)

// DemoIndexes are the secondary indexes SuspendDemoIndexes dropped, to be
// made again by RestoreDemoIndexes; the zero value is none.
type DemoIndexes struct {
	defs []indexDef
}

// indexDef is one index as sqlite_master keeps it.
type indexDef struct {
	Name, SQL string
}

// Suspended says whether any index was dropped.
func (d DemoIndexes) Suspended() bool { return len(d.defs) > 0 }

// demoIndexedTables are the tables a demo seed fills.
const demoIndexedTables = "'links', 'sessions', 'notifications'"

// SuspendDemoIndexes drops the secondary indexes of links, sessions and
// notifications when the database holds no link yet, so that a demo seed
// into a fresh database inserts rows into the tables alone and the indexes
// are built once, sorted, at the end: a random key inserted row by row
// costs a descent and often a page split in every index, 40% of inserting
// a session. On a database that holds links it drops nothing (the zero
// DemoIndexes): the server may be serving them, and its lists and lookups
// need the indexes. The check and the drop are one transaction.
//
// Until RestoreDemoIndexes the database answers correctly but slowly, and
// uniqueness (link codes, session tokens) is not checked: demo codes and
// tokens are random, 26 to 64 characters. If the seed never gets to
// RestoreDemoIndexes (killed), the next Open makes every missing index
// again, as its migration makes any index it lacks.
func (s *Store) SuspendDemoIndexes(ctx context.Context) (DemoIndexes, error) {
	var d DemoIndexes
	if s.d.postgres {
		return d, nil // SQLite's speed-up; PostgreSQL keeps its indexes
	}
	conn, release, err := s.bulkWriteConn(ctx)
	if err != nil {
		return d, err
	}
	defer release()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return d, err
	}
	defer tx.Rollback()
	var links int
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM links)").Scan(&links); err != nil || links != 0 {
		return d, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ("+demoIndexedTables+") ORDER BY name")
	if err != nil {
		return d, err
	}
	var defs []indexDef
	for rows.Next() {
		var def indexDef
		if err := rows.Scan(&def.Name, &def.SQL); err != nil {
			rows.Close()
			return d, err
		}
		defs = append(defs, def)
	}
	if err := rows.Close(); err != nil {
		return d, err
	}
	for _, def := range defs {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+def.Name+`"`); err != nil {
			return d, fmt.Errorf("drop index %s: %w", def.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return d, err
	}
	d.defs = defs
	return d, nil
}

// RestoreDemoIndexes makes again, in one transaction, the indexes
// SuspendDemoIndexes dropped, from the statements that had made them; one
// made meanwhile (by a start of the server, whose migration makes missing
// indexes) is left as it is.
func (s *Store) RestoreDemoIndexes(ctx context.Context, d DemoIndexes) error {
	if !d.Suspended() {
		return nil
	}
	conn, release, err := s.bulkWriteConn(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, def := range d.defs {
		var exists int
		if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?)", def.Name).Scan(&exists); err != nil {
			return err
		}
		if exists != 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, def.SQL); err != nil {
			return fmt.Errorf("make index %s again: %w", def.Name, err)
		}
	}
	return tx.Commit()
}
