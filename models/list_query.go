package models

import (
	"strings"
	"time"
)

// What the panel's lists (sessions and links) share: how SQLite is steered
// through a page, the WHERE being built, and keyset pages both ways.

// listPlan is how a list page is read.
type listPlan int

const (
	// planWalk reads an index already in the list's order (or narrowed by
	// status or dates) and tests each row, the search included, until the
	// page is full. Its cost is bounded by the rows it walks: a few
	// milliseconds when one row in a hundred matches.
	planWalk listPlan = iota
	// planLookup reads the rows a narrow search found, by id, and sorts
	// them: at most BroadSearch.
	planLookup
)

// BroadSearch is how many matching rows make a search "broad": it is not
// counted further ("more than 1,000") nor summed, and its pages walk the
// list's index instead of sorting every match. Proving that more match
// costs the lookup about BroadSearch rows of its index: a few milliseconds.
const BroadSearch = 1000

// listConds collects the WHERE conditions of a list query and their bound
// values, in the order the placeholders appear.
type listConds struct {
	where []string
	args  []any
	// hide keeps the filter's columns from driving the query, when the
	// search's lookups or ids should (planLookup).
	hide hider
}

func (c *listConds) add(cond string, args ...any) {
	c.where = append(c.where, cond)
	c.args = append(c.args, args...)
}

func (c *listConds) col(name string) string { return c.hide.col(name) }

// created bounds a created_at column: From inclusive, Until exclusive. All
// times are compared as UTC: GORM's NowFunc stores them so, and SQLite
// compares them as text, which orders UTC timestamps correctly.
func (c *listConds) created(hide hider, column string, f SessionFilter) {
	if !f.From.IsZero() {
		c.add(hide.col(column)+" >= ?", f.From.UTC())
	}
	if !f.Until.IsZero() {
		c.add(hide.col(column)+" < ?", f.Until.UTC())
	}
}

// sql joins the conditions into a WHERE clause ("" when there are none).
func (c *listConds) sql() string {
	if len(c.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.where, " AND ")
}

// pageCursor is a keyset position and which way the page goes from it.
type pageCursor struct {
	SessionCursor
	// back: the page is the rows just before the cursor (before=), read in
	// the opposite order and turned round by the caller.
	back bool
}

// cursorOf is the page position of p's After or Before (nil for a first page).
func cursorOf(after, before *SessionCursor) *pageCursor {
	switch {
	case before != nil:
		return &pageCursor{SessionCursor: *before, back: true}
	case after != nil:
		return &pageCursor{SessionCursor: *after}
	}
	return nil
}

// keyset adds the condition that continues past cur and returns the ORDER
// BY. Every order ends with the id, so that rows with equal keys still have
// one place; key and id are written as the plan wants them (see col).
func (c *listConds) keyset(f SessionFilter, dateCol, amountCol, idCol string, cur *pageCursor) string {
	key := dateCol
	if f.byAmount() {
		key = amountCol
	}
	key, idCol = c.col(key), c.col(idCol)
	asc := f.ascending()
	if cur != nil && cur.back {
		asc = !asc
	}
	dir, cmp := "DESC", "<"
	if asc {
		dir, cmp = "ASC", ">"
	}
	if cur != nil {
		var at any = time.Unix(0, cur.Key).UTC()
		if f.byAmount() {
			at = cur.Key
		}
		c.add("("+key+", "+idCol+") "+cmp+" (?, ?)", at, cur.ID)
	}
	return " ORDER BY " + key + " " + dir + ", " + idCol + " " + dir
}

// reverse turns a back page (read nearest the cursor first) into list order.
func reverse[T any](rows []T) {
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
}

// MaxPageLimit is the most rows one page query reads; a larger or missing
// limit reads a default page of 50.
const MaxPageLimit = 500

// pageLimit keeps a page's size within what a page may ask for.
func pageLimit(n int) int {
	if n <= 0 || n > MaxPageLimit {
		return 50
	}
	return n
}
