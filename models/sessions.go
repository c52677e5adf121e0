package models

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Orders the session list can be sorted in. Every order ends with the id so
// that rows with equal keys still have one place, which keyset pages rely on.
const (
	SortDate      = "date"       // newest first (the default)
	SortDateAsc   = "date_asc"   // oldest first
	SortAmount    = "amount"     // largest first
	SortAmountAsc = "amount_asc" // smallest first
)

// SessionSorts lists the valid sort orders, the default first.
var SessionSorts = []string{SortDate, SortDateAsc, SortAmount, SortAmountAsc}

// MaxSearchLen bounds the search text: longer than any email, order id or token.
const MaxSearchLen = 254

// SessionFilter says which sessions to list and in what order. Zero values
// mean "no condition"; an empty Sort means SortDate. The links list takes the
// same filter (see LinkFilter).
type SessionFilter struct {
	// Q is searched as a person would (see search.go): an exact
	// merchant_order_id, payment_token or session_token; unless ExactOnly,
	// also an amount ("12.990") and any part of the link's order id, customer
	// email or description, ignoring case (from 3 characters; shorter, the
	// start of the order id or email).
	Q string
	// ExactOnly keeps the exact ids only, for viewers: they see emails
	// masked, and matching parts of one would let them spell it out.
	ExactOnly bool
	// OrderID, when set, keeps the rows of exactly this merchant_order_id
	// (as written, case included): the API's filter.
	OrderID string
	Status  string
	Mode    string
	// From (inclusive) and Until (exclusive) bound created_at.
	From  time.Time
	Until time.Time
	Sort  string
}

// SessionCursor is where a keyset page continues: the sort key of the last
// row shown (created_at in Unix nanoseconds, or the amount) and its id.
type SessionCursor struct {
	Key int64
	ID  uint
}

// ErrBadCursor is returned by ParseSessionCursor for anything but "<key>_<id>".
var ErrBadCursor = errors.New("cursor must be <key>_<id>")

// String is the cursor as it travels in the after= query parameter.
func (c SessionCursor) String() string {
	return strconv.FormatInt(c.Key, 10) + "_" + strconv.FormatUint(uint64(c.ID), 10)
}

// ParseSessionCursor reads "<key>_<id>": two runs of decimal digits, no sign,
// no spaces, nothing else.
func ParseSessionCursor(s string) (SessionCursor, error) {
	key, id, ok := strings.Cut(s, "_")
	if !ok || !digits(key) || !digits(id) {
		return SessionCursor{}, ErrBadCursor
	}
	k, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		return SessionCursor{}, ErrBadCursor
	}
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil || n == 0 {
		return SessionCursor{}, ErrBadCursor
	}
	return SessionCursor{Key: k, ID: uint(n)}, nil
}

func digits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CursorAfter is the cursor of row s: after= it continues the list past
// s, before= it goes back to the rows shown before s.
func (f SessionFilter) CursorAfter(s *Session) SessionCursor {
	if f.byAmount() {
		return SessionCursor{Key: s.Amount, ID: s.ID}
	}
	return SessionCursor{Key: s.CreatedAt.UnixNano(), ID: s.ID}
}

// Active reports whether the filter narrows the list (sorting does not).
func (f SessionFilter) Active() bool {
	return f.Q != "" || f.OrderID != "" || f.Status != "" || f.Mode != "" || !f.From.IsZero() || !f.Until.IsZero()
}

func (f SessionFilter) byAmount() bool  { return f.Sort == SortAmount || f.Sort == SortAmountAsc }
func (f SessionFilter) ascending() bool { return f.Sort == SortDateAsc || f.Sort == SortAmountAsc }

// SessionPage asks for one page of sessions matching a filter: the first,
// the one After a row, or the one Before it (keyset pagination both ways,
// never OFFSET).
type SessionPage struct {
	SessionFilter
	After, Before *SessionCursor
	Limit         int
	// Found, when set, is what CountSessions found for this filter: a
	// narrow search's page is read from the sessions it found, without
	// searching again.
	Found *Found
	// Matches, when Found is not set, says how the search is read: more
	// than BroadSearch walks the list's index as a broad search does;
	// anything else looks the search up first (tests read both ways).
	Matches int64
}

// exportColumns is what the exports write (and the keyset's keys), with the
// link's customer email, in the order scanExport reads them (see
// sessionColumns for a page).
const exportColumns = "s.id, s.merchant_order_id, s.amount, s.status, s.payment_status, s.payment_token, s.session_token, s.mode, " +
	"s.created_at, s.paid_at, s.failed_at, s.last_notification_at, l.customer_email"

// sessionQuery builds the one SQL statement behind a page of the list and
// a chunk of the export: of the sessions a narrow search found (set), or
// else of the whole list, walked. Every value is a bound parameter; only
// fixed fragments and the ids the Store found are concatenated.
func sessionQuery(columns string, f SessionFilter, cur *pageCursor, limit int, set *matchSet) (string, []any) {
	var sb strings.Builder
	sb.WriteString("SELECT " + columns + " FROM sessions AS s")
	if columns == exportColumns {
		sb.WriteString(" JOIN links AS l ON l.id = s.link_id")
	}
	c := sessionConds(f, set)
	order := c.keyset(f, "s.created_at", "s.amount", "s.id", cur)
	sb.WriteString(c.sql() + order)
	if limit > 0 {
		sb.WriteString(" LIMIT ?")
		c.args = append(c.args, limit)
	}
	return sb.String(), c.args
}

// sessionConds is the WHERE of a page of f. A narrow search's page reads
// the sessions found (set) by id, and unary + hides every other column from
// the planner, which would otherwise walk a status or date index and test
// each row. Any other page walks an index in the page's order and tests
// each row, the search included (sessionSearchRow); a column may drive it
// only where an index pairs it with the page's order (see walkHides).
func sessionConds(f SessionFilter, set *matchSet) *listConds {
	c := &listConds{}
	plan := planWalk
	switch {
	case set.amountAlone():
		// Every session of that amount, none else: its own index, in order.
		c.add("s.amount = ?", set.amount)
	case set.byID():
		c.add("s.id IN (" + set.sql() + ")")
		c.hide, plan = true, planLookup
	case f.Q != "":
		cond, args := sessionSearchRow(set.walked(parseSearch(f.Q, f.ExactOnly)))
		c.add(cond, args...)
	}
	sessionFilters(c, f, plan)
	return c
}

// sessionFilters adds f's status, mode and dates to c. A lookup hides them
// when c.hide says so (a count without a search lets them drive it); a walk
// as walkHides says.
func sessionFilters(c *listConds, f SessionFilter, plan listPlan) {
	status, mode, dates := c.hide, c.hide, c.hide
	if plan == planWalk {
		status, mode, dates = walkHides(f)
	}
	if f.OrderID != "" { // an order has a few sessions: its index drives
		c.add("s.merchant_order_id = ?", f.OrderID)
	}
	if f.Status != "" {
		c.add(status.col("s.status")+" = ?", f.Status)
	}
	if f.Mode != "" {
		c.add(mode.col("s.mode")+" = ?", f.Mode)
	}
	c.created(dates, "s.created_at", f)
}

// walkHides says which filter columns a walked page hides: a date page walks
// (created_at, id, status), testing the status from the index and the mode
// on each row (an index led by the status would move a paid session's entry
// to a random page: see idx_sessions_created_id_status); an amount page
// walks (status, mode, amount) when it has both, else amount, testing the
// rest. Left visible, SQLite could narrow by status and mode, then sort
// everything they match.
func walkHides(f SessionFilter) (status, mode, dates hider) {
	if !f.byAmount() {
		return true, true, false
	}
	both := hider(f.Status == "" || f.Mode == "")
	return both, both, true
}

// pageSet is what a page of f reads from: the sessions a narrow search
// found, or a broad one (walked); nil without a search.
func (s *Store) pageSet(ctx context.Context, f SessionFilter, found *Found, matches int64) (*matchSet, error) {
	return s.onEngine(searchSet(f.Q, found, matches, func() (Found, error) { return s.lookUpSessions(ctx, f) }))
}

// searchSet is what a page searching for q reads from: what its count
// found, a broad walk when more than BroadSearch rows match, or else what
// lookUp finds now; nil without a search. Sessions and links share it.
func searchSet(q string, found *Found, matches int64, lookUp func() (Found, error)) (*matchSet, error) {
	switch {
	case q == "":
		return nil, nil
	case found != nil:
		return found.set, nil
	case matches > BroadSearch:
		return &matchSet{broad: true}, nil
	}
	looked, err := lookUp()
	return looked.set, err
}

// ListSessions returns one page of sessions matching p, in p's order. A
// Before page is the Limit rows just before the cursor, still in p's order.
func (s *Store) ListSessions(ctx context.Context, p SessionPage) ([]Session, error) {
	set, err := s.pageSet(ctx, p.SessionFilter, p.Found, p.Matches)
	if err != nil {
		return nil, err
	}
	cur := cursorOf(p.After, p.Before)
	if set.byID() && set.keys != nil {
		set = set.foundPage(p.SessionFilter, cur, pageLimit(p.Limit))
	}
	query, args := sessionQuery(sessionColumns, p.SessionFilter, cur, pageLimit(p.Limit), set)
	found, err := s.read.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, err
	}
	rows, err := scanSessions(found)
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.back {
		reverse(rows)
	}
	return rows, nil
}

// SessionTotals is what a list says about all the rows its filter matches.
type SessionTotals struct {
	// Found is how many sessions match (Count; More for a broad search).
	Found
	// Paid is the CLP paid among them (sessions with status paid), when
	// Summed; see CountSessions.
	Paid   int64
	Summed bool
}

// CountSessions counts the sessions matching f and, when f narrows the list,
// sums what they paid. Without a search, one aggregate query reads
// idx_sessions_status_mode_amount alone (or the date index for dates). With
// no filter at all it only counts, which SQLite does from an index's page
// headers in about a millisecond: the total paid by every session would read
// all the paid ones (~20 ms for 144,000 on two cores, at every load of the
// live table), and the overview already shows what was collected. A search
// is looked up once (findSessions): counted and summed when narrow, "more
// than BroadSearch" and not summed when broad.
func (s *Store) CountSessions(ctx context.Context, f SessionFilter) (SessionTotals, error) {
	var t SessionTotals
	switch {
	case !f.Active():
		var err error
		t.Count, err = s.countRows(ctx, "SELECT COUNT(*) FROM sessions")
		return t, err
	case f.Q != "":
		return s.findSessions(ctx, f)
	}
	query, args := sessionCountQuery(f)
	err := s.read.WithContext(ctx).Raw(query, args...).Row().Scan(&t.Count, &t.Paid)
	t.Summed = true
	return t, err
}

// sessionCountQuery counts and sums the sessions matching f's columns
// (status, mode, dates), each free to drive the query.
func sessionCountQuery(f SessionFilter) (string, []any) {
	c := &listConds{}
	sessionFilters(c, f, planLookup)
	return "SELECT COUNT(*) AS count, COALESCE(SUM(CASE WHEN s.status = '" + StatusPaid + "' THEN s.amount END), 0) AS paid " +
		"FROM sessions AS s" + c.sql(), c.args
}

// SessionByID returns a session with its link and the link's creator.
func (s *Store) SessionByID(ctx context.Context, id uint) (*Session, error) {
	var sess Session
	err := s.read.WithContext(ctx).Preload("Link").Preload("Link.CreatedBy").Where("id = ?", id).Take(&sess).Error
	if err != nil {
		return nil, notFound(err)
	}
	return &sess, nil
}

// NotificationsForSession returns every notification stored for a session, oldest first.
func (s *Store) NotificationsForSession(ctx context.Context, sessionID uint) ([]Notification, error) {
	var rows []Notification
	err := s.read.WithContext(ctx).Where("session_id = ?", sessionID).Order("id").Find(&rows).Error
	return rows, err
}

// SigningKey returns the signature_token of the session with this token.
func (s *Store) SigningKey(ctx context.Context, sessionToken string) (string, error) {
	var sess Session
	err := s.read.WithContext(ctx).Select("signature_token").Where("session_token = ?", sessionToken).Take(&sess).Error
	if err != nil {
		return "", notFound(err)
	}
	return sess.SignatureToken, nil
}
