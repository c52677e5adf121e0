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
// mean "no condition"; an empty Sort means SortDate.
type SessionFilter struct {
	// Q is an exact merchant_order_id, payment_token or session_token, or the
	// start of the customer's email (ASCII letters compared case-insensitively).
	Q string
	// ExactOnly drops the email-prefix search, for viewers: they see emails
	// masked, and a prefix search would let them spell one out letter by letter.
	ExactOnly bool
	Status    string
	Mode      string
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

// CursorAfter is the cursor that continues the list after row s.
func (f SessionFilter) CursorAfter(s *Session) SessionCursor {
	if f.byAmount() {
		return SessionCursor{Key: s.Amount, ID: s.ID}
	}
	return SessionCursor{Key: s.CreatedAt.UnixNano(), ID: s.ID}
}

// Active reports whether the filter narrows the list (sorting does not).
func (f SessionFilter) Active() bool {
	return f.Q != "" || f.Status != "" || f.Mode != "" || !f.From.IsZero() || !f.Until.IsZero()
}

func (f SessionFilter) byAmount() bool  { return f.Sort == SortAmount || f.Sort == SortAmountAsc }
func (f SessionFilter) ascending() bool { return f.Sort == SortDateAsc || f.Sort == SortAmountAsc }

// SessionPage asks for one page of sessions matching a filter; After continues
// from the last row of the previous page (keyset pagination, never OFFSET).
type SessionPage struct {
	SessionFilter
	After *SessionCursor
	Limit int
}

// sessionColumns is what the table reads; exportColumns adds the link's
// customer email for the CSV.
const (
	sessionColumns = "s.*"
	exportColumns  = "s.*, l.customer_email AS customer_email"
)

// sessionQuery builds the one SQL statement behind the list and the export.
// Every value is a bound parameter; only fixed fragments are concatenated.
// All times are compared as UTC: GORM's NowFunc stores them so, and SQLite
// compares them as text, which orders UTC timestamps correctly.
func sessionQuery(columns string, f SessionFilter, after *SessionCursor, limit int) (string, []any) {
	var sb strings.Builder
	sb.WriteString("SELECT " + columns + " FROM sessions AS s")
	if columns == exportColumns {
		sb.WriteString(" JOIN links AS l ON l.id = s.link_id")
	}
	c := sessionConds{col: func(name string) string { return name }}
	c.filter(f)
	key, dir := c.keyset(f, after)
	if len(c.where) > 0 {
		sb.WriteString(" WHERE " + strings.Join(c.where, " AND "))
	}
	sb.WriteString(" ORDER BY " + key + " " + dir + ", s.id " + dir)
	if limit > 0 {
		sb.WriteString(" LIMIT ?")
		c.args = append(c.args, limit)
	}
	return sb.String(), c.args
}

// sessionConds collects the WHERE conditions of a session query and their
// bound values, in the order the placeholders appear.
type sessionConds struct {
	where []string
	args  []any
	// col names a column in a condition or the ORDER BY; a search makes it
	// hide the column from the planner (see filter).
	col func(name string) string
}

func (c *sessionConds) add(cond string, args ...any) {
	c.where = append(c.where, cond)
	c.args = append(c.args, args...)
}

// filter adds the conditions of f: the search first, then the columns.
func (c *sessionConds) filter(f SessionFilter) {
	// A search is answered from the OR's index lookups (a handful of rows).
	// Unary + hides the other columns from the planner, which would otherwise
	// walk a status or date index and test the OR on every row it meets.
	if f.Q != "" {
		c.col = func(name string) string { return "+" + name }
		c.search(f.Q, f.ExactOnly)
	}
	if f.Status != "" {
		c.add(c.col("s.status")+" = ?", f.Status)
	}
	if f.Mode != "" {
		c.add(c.col("s.mode")+" = ?", f.Mode)
	}
	if !f.From.IsZero() {
		c.add(c.col("s.created_at")+" >= ?", f.From.UTC())
	}
	if !f.Until.IsZero() {
		c.add(c.col("s.created_at")+" < ?", f.Until.UTC())
	}
}

// search adds the condition that q is one of the session's exact ids or, unless
// exactOnly, the start of its link's customer email.
func (c *sessionConds) search(q string, exactOnly bool) {
	// Each branch is served by its own index, so SQLite answers the OR as a
	// union of index lookups (MULTI-INDEX OR) instead of scanning.
	search := "s.merchant_order_id = ? OR s.payment_token = ? OR s.session_token = ?"
	args := []any{q, q, q}
	if !exactOnly {
		lo, hi := emailPrefixRange(q)
		search += " OR s.link_id IN (SELECT id FROM links WHERE customer_email COLLATE NOCASE >= ? AND customer_email COLLATE NOCASE < ?)"
		args = append(args, lo, hi)
	}
	c.add("("+search+")", args...)
}

// keyset returns the sort key and direction of f's order and, when after is
// set, adds the condition that continues past it: (key, id) beyond the cursor.
func (c *sessionConds) keyset(f SessionFilter, after *SessionCursor) (key, dir string) {
	key, dir, cmp := c.col("s.created_at"), "DESC", "<"
	if f.byAmount() {
		key = c.col("s.amount")
	}
	if f.ascending() {
		dir, cmp = "ASC", ">"
	}
	if after != nil {
		var afterKey any = time.Unix(0, after.Key).UTC()
		if f.byAmount() {
			afterKey = after.Key
		}
		c.add("("+key+", "+c.col("s.id")+") "+cmp+" (?, ?)", afterKey, after.ID)
	}
	return key, dir
}

// emailPrefixRange turns a prefix into bounds for a NOCASE index range: every
// string that starts with the prefix, ignoring ASCII case, sorts in [lo, hi).
// 0xFF never occurs in UTF-8, so prefix+0xFF is above every extension of it.
// (A LIKE 'x%' would treat _ and %, common in emails, as wildcards.)
func emailPrefixRange(prefix string) (lo, hi string) {
	lo = asciiLower(prefix)
	return lo, lo + "\xff"
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ListSessions returns one page of sessions matching p, in p's order.
func (s *Store) ListSessions(ctx context.Context, p SessionPage) ([]Session, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	query, args := sessionQuery(sessionColumns, p.SessionFilter, p.After, p.Limit)
	var rows []Session
	return rows, s.read.WithContext(ctx).Raw(query, args...).Scan(&rows).Error
}

// SessionExport is one exported row: the session and its link's customer email.
type SessionExport struct {
	Session
	CustomerEmail string
}

// exportChunk is how many rows an export reads at a time. Between chunks no
// connection is held, so a slow download never starves the webhook or the
// panel of database connections, and memory stays flat.
const exportChunk = 1000

// EachSession calls fn for every session matching f, in f's order, reading
// keyset pages of exportChunk rows.
func (s *Store) EachSession(ctx context.Context, f SessionFilter, fn func(*SessionExport) error) error {
	var after *SessionCursor
	for {
		query, args := sessionQuery(exportColumns, f, after, exportChunk)
		var chunk []SessionExport
		if err := s.read.WithContext(ctx).Raw(query, args...).Scan(&chunk).Error; err != nil {
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
		cursor := f.CursorAfter(&chunk[len(chunk)-1].Session)
		after = &cursor
	}
}

// ensureSessionIndexes creates the indexes the session list, search and export
// need. An SQLite index ends with the rowid, so (status, created_at) also
// orders by id: ORDER BY created_at, id and (created_at, id) < (?, ?) use it.
// IF NOT EXISTS makes it safe to run on every start.
func (s *Store) ensureSessionIndexes(ctx context.Context) error {
	for _, stmt := range []string{
		"CREATE INDEX IF NOT EXISTS idx_sessions_status_created ON sessions(status, created_at)",
		// Filtering by mode walks the date or amount index instead: a
		// merchant's sessions are nearly all of one mode, and every index
		// costs every insert.
		"DROP INDEX IF EXISTS idx_sessions_mode_created",
		"CREATE INDEX IF NOT EXISTS idx_sessions_amount ON sessions(amount)",
		"CREATE INDEX IF NOT EXISTS idx_sessions_status_amount ON sessions(status, amount)",
		"DROP INDEX IF EXISTS idx_sessions_mode_amount",
		"CREATE INDEX IF NOT EXISTS idx_links_customer_email_nocase ON links(customer_email COLLATE NOCASE)",
	} {
		if err := s.write.WithContext(ctx).Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
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
