package models

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// copyTable is one table to copy: the source's columns, each with the
// target's type for it, in the source's order.
type copyTable struct {
	name  string
	cols  []string
	types []string // information_schema data_type on the target
	hasID bool
	// serial says id is a number PostgreSQL's sequence hands out.
	serial bool
	// sums are the columns compared by their totals: id, and every
	// integer column whose name says it holds an amount.
	sums []string
}

// copyPlan is what to copy, in an order that satisfies foreign keys.
type copyPlan struct {
	tables  []copyTable
	skipped []string
}

// planCopy discovers the tables both databases have (the schema decides,
// not a list here), checks that the target has a column for each of the
// source's, and orders them parents first.
func planCopy(ctx context.Context, snap *sql.Tx, target *pgx.Conn) (*copyPlan, error) {
	srcTables, srcOnly, err := sqliteTables(ctx, snap)
	if err != nil {
		return nil, err
	}
	dstCols, err := pgColumns(ctx, target)
	if err != nil {
		return nil, err
	}
	plan := &copyPlan{skipped: srcOnly}
	byName := map[string]copyTable{}
	for _, name := range srcTables {
		types, ok := dstCols[name]
		if !ok {
			return nil, fmt.Errorf("table %s has no counterpart on PostgreSQL", name)
		}
		t, err := sourceColumns(ctx, snap, name, types)
		if err != nil {
			return nil, err
		}
		byName[name] = t
	}
	for name := range dstCols {
		if _, ok := byName[name]; !ok {
			plan.skipped = append(plan.skipped, name+" (PostgreSQL only)")
		}
	}
	slices.Sort(plan.skipped)
	order, err := parentsFirst(ctx, target, slices.Sorted(maps.Keys(byName)))
	if err != nil {
		return nil, err
	}
	for _, name := range order {
		plan.tables = append(plan.tables, byName[name])
	}
	return plan, nil
}

// sqliteTables are the source's tables to copy, and those it leaves: the
// virtual tables (FTS5's links_fts) and their shadow tables, SQLite's
// search index, which PostgreSQL replaces with indexes of its own.
func sqliteTables(ctx context.Context, snap *sql.Tx) (tables, skipped []string, err error) {
	rows, err := snap.QueryContext(ctx, "SELECT name, COALESCE(sql, '') FROM sqlite_master "+
		"WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, nil, fmt.Errorf("list source tables: %w", err)
	}
	defer rows.Close()
	var all []string
	var virtual []string
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			return nil, nil, err
		}
		all = append(all, name)
		if strings.HasPrefix(strings.ToUpper(ddl), "CREATE VIRTUAL TABLE") {
			virtual = append(virtual, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for _, name := range all {
		if slices.ContainsFunc(virtual, func(v string) bool { return name == v || strings.HasPrefix(name, v+"_") }) {
			skipped = append(skipped, name+" (SQLite's search index)")
			continue
		}
		tables = append(tables, name)
	}
	return tables, skipped, nil
}

// pgColumns are the target's columns by table, with their types.
func pgColumns(ctx context.Context, target *pgx.Conn) (map[string]map[string]string, error) {
	rows, err := target.Query(ctx, "SELECT table_name, column_name, data_type FROM information_schema.columns "+
		"WHERE table_schema = current_schema() AND table_name IN (SELECT table_name FROM information_schema.tables "+
		"WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')")
	if err != nil {
		return nil, fmt.Errorf("list target columns: %w", err)
	}
	defer rows.Close()
	cols := map[string]map[string]string{}
	for rows.Next() {
		var table, col, typ string
		if err := rows.Scan(&table, &col, &typ); err != nil {
			return nil, err
		}
		if cols[table] == nil {
			cols[table] = map[string]string{}
		}
		cols[table][col] = typ
	}
	return cols, rows.Err()
}

// sourceColumns reads a source table's columns and pairs each with the
// target's type; a column the target lacks stops the copy.
func sourceColumns(ctx context.Context, snap *sql.Tx, table string, types map[string]string) (copyTable, error) {
	t := copyTable{name: table}
	rows, err := snap.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return t, fmt.Errorf("read source columns of %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			return t, err
		}
		typ, ok := types[col]
		if !ok {
			return t, fmt.Errorf("column %s.%s has no counterpart on PostgreSQL", table, col)
		}
		t.cols = append(t.cols, col)
		t.types = append(t.types, typ)
		switch {
		case col == "id":
			t.hasID = true
			if t.serial = typ == "bigint" || typ == "integer"; t.serial {
				t.sums = append(t.sums, col)
			}
		case strings.Contains(col, "amount") && (typ == "bigint" || typ == "integer"):
			t.sums = append(t.sums, col)
		}
	}
	return t, rows.Err()
}

// parentsFirst orders tables so that every table comes after those its
// foreign keys (on the target) point to. A table pointing to itself is
// copied in id order, parents first.
func parentsFirst(ctx context.Context, target *pgx.Conn, tables []string) ([]string, error) {
	rows, err := target.Query(ctx, "SELECT c.relname, p.relname FROM pg_constraint k "+
		"JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "+
		"WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace")
	if err != nil {
		return nil, fmt.Errorf("read target foreign keys: %w", err)
	}
	defer rows.Close()
	parents := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, err
		}
		if child != parent {
			parents[child] = append(parents[child], parent)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read target foreign keys: %w", err)
	}
	var order []string
	done := map[string]bool{}
	for len(order) < len(tables) {
		progressed := false
		for _, t := range tables {
			if done[t] || slices.ContainsFunc(parents[t], func(p string) bool { return !done[p] && slices.Contains(tables, p) }) {
				continue
			}
			done[t], progressed = true, true
			order = append(order, t)
		}
		if !progressed {
			return nil, fmt.Errorf("foreign keys form a cycle among the tables left: %v", tables)
		}
	}
	return order, nil
}
