package models

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// A search is looked up once per request: every way it can match (exact ids,
// amount, text, a short prefix) through its own index, at most
// BroadSearch+1 rows each, in one statement. A narrow search (at most
// BroadSearch rows) is then counted, summed and paged from the ids found;
// a broad one is "more than BroadSearch", and its pages walk the list's own
// index, testing each row.

// Found is how many rows of a list match its filter (CountSessions,
// CountLinks).
type Found struct {
	// Count is how many rows match. When More, Count is BroadSearch and
	// more rows match: a broad search is not counted to the end.
	Count int64
	More  bool
	// set is what the search's lookup found, for its pages (see
	// SessionPage.Found); nil when there is no search.
	set *matchSet
}

// matchSet is what a search's lookup found.
type matchSet struct {
	// ids are every row the search matches, unless broad.
	ids []uint
	// keys, when CountSessions read them, place each session found in
	// the list, so that its pages are cut in Go (foundPage) rather than by
	// SQLite reading and sorting every session found again.
	keys  []sessionKey
	broad bool
	// textless: a trigram of the search's words is in no link, so no
	// link's text matches it, and a walk need not ask each row.
	textless bool
	// pg: the set's Store runs on PostgreSQL (see Store.onEngine).
	pg bool
	// amount, when set, is the search's amount, and the search matches
	// every session of that amount and no other (see amountAlone); paid
	// is then how many of them are paid, when not broad.
	amount, paid int64
}

// walked is sr as a walk tests it on each row: without its words when no
// link can hold them.
func (m *matchSet) walked(sr search) search {
	if m != nil && m.textless {
		sr.words = nil
	}
	if m != nil {
		sr.pg = m.pg
	}
	return sr
}

// byID reports whether a page reads the rows found by id (a narrow search)
// rather than walking the list and testing each row.
func (m *matchSet) byID() bool { return m != nil && !m.broad }

// sql is the ids as an SQL list, written out: integers the Store read, so
// nothing in it comes from the user. (Bound one by one, a thousand
// parameters would cost the driver more than the query.)
func (m *matchSet) sql() string {
	if len(m.ids) == 0 {
		return "NULL"
	}
	b := make([]byte, 0, len(m.ids)*8)
	for i, id := range m.ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(id), 10)
	}
	return string(b)
}

// lookup gathers the branches of a search's lookup: one SELECT per way of
// matching, each with its bound values, joined by UNION (which keeps each
// row once).
type lookup struct {
	branches []string
	args     []any
}

// add appends a branch reading at most BroadSearch+1 rows; filter is the
// list's own conditions, hidden from the planner so that the branch's index
// drives it.
func (lk *lookup) add(sel, where string, args []any, filter *listConds) {
	for _, w := range filter.where {
		where += " AND " + w
	}
	lk.branches = append(lk.branches, "SELECT * FROM ("+sel+" WHERE "+where+" LIMIT "+strconv.Itoa(BroadSearch+1)+") AS branch")
	lk.args = append(append(lk.args, args...), filter.args...)
}

func (lk *lookup) sql() string { return strings.Join(lk.branches, " UNION ") }

// sessionLookup builds the lookup of the sessions matching f's search
// (sr), each row a session's id; text is its words' FTS5 queries
// (textQueries). Only ids: without a filter, each branch reads an index
// alone, never the sessions themselves, which a broad search would do a
// thousand times for nothing.
func sessionLookup(f SessionFilter, sr search, text textQueries) *lookup {
	filter := &listConds{hide: true}
	sessionFilters(filter, f, planLookup)
	const cols = "SELECT s.id AS id "
	lk := &lookup{}
	lk.add(cols+"FROM sessions AS s", "(s.merchant_order_id = ? OR "+paymentTokenIs("s.")+" OR s.session_token = ?)",
		[]any{sr.exact, sr.exact, sr.exact}, filter)
	if sr.amount > 0 {
		lk.add(cols+"FROM sessions AS s", "s.amount = ?", []any{sr.amount}, filter)
	}
	switch {
	case text.whole != "":
		// The index decides; the sessions of the links it finds are
		// reached by link_id, no link read.
		lk.add(cols+"FROM links_fts CROSS JOIN sessions AS s", "links_fts MATCH ? AND s.link_id = links_fts.rowid",
			[]any{text.whole}, filter)
	case text.fts != "":
		// The index proposes links; search_text decides; their sessions are
		// reached by link_id.
		from, where, args := textBranch(sr, text.fts, "t", true)
		lk.add(cols+from, where, args, filter)
	}
	if sr.lo != "" {
		lk.add(cols+"FROM links AS p CROSS JOIN sessions AS s", prefixConds(sr, "p", false)+" AND s.link_id = p.id",
			sr.prefixArgs(), filter)
	}
	return lk
}

// findSessions looks f's search up once: a narrow search is counted and
// summed from the sessions found, and keeps their ids for its pages.
func (s *Store) findSessions(ctx context.Context, f SessionFilter) (SessionTotals, error) {
	var t SessionTotals
	found, err := s.lookUpSessions(ctx, f)
	if err != nil || found.More {
		return SessionTotals{Found: found}, err
	}
	t.Found = found
	t.Summed = true
	if found.set.amountAlone() {
		t.Paid = found.set.amount * found.set.paid
		return t, nil
	}
	if len(found.set.ids) == 0 {
		return t, nil
	}
	rows, err := s.read.WithContext(ctx).Raw(foundRowsQuery(found.set)).Rows()
	if err != nil {
		return t, err
	}
	defer rows.Close()
	for rows.Next() {
		var k sessionKey
		var created time.Time
		var paid bool
		if err := rows.Scan(&k.id, &k.amount, &created, &paid); err != nil {
			return t, err
		}
		k.created = created.UnixNano()
		found.set.keys = append(found.set.keys, k)
		if paid {
			t.Paid += k.amount
		}
	}
	return t, rows.Err()
}

// lookUpSessions looks f's search up: the sessions found, or More.
func (s *Store) lookUpSessions(ctx context.Context, f SessionFilter) (Found, error) {
	sr := parseSearch(f.Q, f.ExactOnly)
	sr.pg = s.d.postgres
	text, err := s.searchTextQueries(ctx, sr)
	if err != nil {
		return Found{}, err
	}
	found, err := s.lookUp(ctx, sessionLookup(f, sr, text), sr.words != nil && text.fts == "")
	if err != nil || !amountOnly(f, sr, text) {
		return found, err
	}
	return found, s.amountAlone(ctx, sr, found.set)
}

// foundRowsQuery reads what the total and the pages need of each session
// found (its amount, date and whether it is paid), by id only: a WHERE on
// status would let SQLite walk the index entries of every paid session
// instead.
func foundRowsQuery(set *matchSet) string {
	return "SELECT id, amount, created_at, status = '" + StatusPaid + "' FROM sessions WHERE id IN (" + set.sql() + ")"
}

// lookUp runs a lookup: the ids it found, or More when they are more than
// BroadSearch. textless says no link's text can match (see matchSet).
func (s *Store) lookUp(ctx context.Context, lk *lookup, textless bool) (Found, error) {
	rows, err := s.read.WithContext(ctx).Raw(lk.sql()+" LIMIT "+strconv.Itoa(BroadSearch+1), lk.args...).Rows()
	if err != nil {
		return Found{}, err
	}
	defer rows.Close()
	set := &matchSet{textless: textless, pg: s.d.postgres}
	for rows.Next() {
		var id uint
		if err := rows.Scan(&id); err != nil {
			return Found{}, err
		}
		set.ids = append(set.ids, id)
	}
	if err := rows.Err(); err != nil {
		return Found{}, err
	}
	if len(set.ids) > BroadSearch {
		set.ids, set.broad = nil, true
		return Found{Count: BroadSearch, More: true, set: set}, nil
	}
	return Found{Count: int64(len(set.ids)), set: set}, nil
}

// linkLookup builds the lookup of the links matching f's search (sr), each
// row giving the link's id; text as for sessionLookup.
func linkLookup(f LinkFilter, sr search, text textQueries) *lookup {
	filter := &listConds{hide: true}
	linkFilters(filter, f, false)
	const cols = "SELECT l.id AS id "
	lk := &lookup{}
	// links' order id index is NOCASE (it serves prefixes too): the exact
	// match narrows through it, then compares as written.
	lk.add(cols+"FROM links AS l", "l.merchant_order_id COLLATE NOCASE = ? AND l.merchant_order_id = ?", []any{sr.exact, sr.exact}, filter)
	lk.add(cols+"FROM sessions AS s CROSS JOIN links AS l", "("+paymentTokenIs("s.")+" OR s.session_token = ?) AND l.id = s.link_id",
		[]any{sr.exact, sr.exact}, filter)
	if sr.amount > 0 {
		lk.add(cols+"FROM links AS l", "l.amount = ?", []any{sr.amount}, filter)
	}
	switch {
	case text.whole != "":
		lk.add(cols+"FROM links_fts CROSS JOIN links AS l", "links_fts MATCH ? AND l.id = links_fts.rowid",
			[]any{text.whole}, filter)
	case text.fts != "":
		from, where, args := textBranch(sr, text.fts, "l", false)
		lk.add(cols+from, where, args, filter)
	}
	if sr.lo != "" {
		lk.add(cols+"FROM links AS l", prefixConds(sr, "l", false), sr.prefixArgs(), filter)
	}
	return lk
}

// findLinks looks f's search up once, as findSessions does for sessions.
func (s *Store) findLinks(ctx context.Context, f LinkFilter) (Found, error) {
	sr := parseSearch(f.Q, f.ExactOnly)
	sr.pg = s.d.postgres
	text, err := s.searchTextQueries(ctx, sr)
	if err != nil {
		return Found{}, err
	}
	return s.lookUp(ctx, linkLookup(f, sr, text), sr.words != nil && text.fts == "")
}
