package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// TableCheck is one table's comparison after a copy: its row count and
// its totals (SUM of id and of each amount column) on both sides.
type TableCheck struct {
	Table                  string
	SourceRows, TargetRows int64
	Sums                   []SumCheck
}

// SumCheck is one column's total on both sides, as decimal text (a sum of
// ids may pass what an int64 holds on no side, but text compares exactly).
type SumCheck struct {
	Column         string
	Source, Target string
}

// OK says whether the table arrived whole: same count, same totals.
func (c TableCheck) OK() bool {
	if c.SourceRows != c.TargetRows {
		return false
	}
	for _, s := range c.Sums {
		if s.Source != s.Target {
			return false
		}
	}
	return true
}

// String is the check as one line of the command's report.
func (c TableCheck) String() string {
	verdict := "ok  "
	if !c.OK() {
		verdict = "FAIL"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-26s rows %d / %d", verdict, c.Table, c.SourceRows, c.TargetRows)
	for _, s := range c.Sums {
		fmt.Fprintf(&b, "  sum(%s) %s / %s", s.Column, s.Source, s.Target)
	}
	return b.String()
}

// compareTables counts and sums every copied table on the source snapshot
// and on the target, with the same query on both.
func compareTables(ctx context.Context, snap *sql.Tx, target *pgx.Conn, tables []copyTable) ([]TableCheck, error) {
	checks := make([]TableCheck, 0, len(tables))
	for _, t := range tables {
		sel := []string{"COUNT(*)"}
		for _, col := range t.sums {
			sel = append(sel, "COALESCE(CAST(SUM("+quoteIdent(col)+") AS TEXT), '0')")
		}
		q := "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteIdent(t.name)
		c := TableCheck{Table: t.name, Sums: make([]SumCheck, len(t.sums))}
		src := []any{&c.SourceRows}
		dst := []any{&c.TargetRows}
		for i, col := range t.sums {
			c.Sums[i].Column = col
			src = append(src, &c.Sums[i].Source)
			dst = append(dst, &c.Sums[i].Target)
		}
		if err := snap.QueryRowContext(ctx, q).Scan(src...); err != nil {
			return checks, fmt.Errorf("compare %s on SQLite: %w", t.name, err)
		}
		if err := target.QueryRow(ctx, q).Scan(dst...); err != nil {
			return checks, fmt.Errorf("compare %s on PostgreSQL: %w", t.name, err)
		}
		checks = append(checks, c)
	}
	return checks, nil
}
