package models

import (
	"context"
	"strings"
	"time"
)

// LinkFilter says which links to list: the sessions list's filter, whose
// Status is a link's status as the lists show it (LinkStatuses), and Now,
// the time that decides which open links have expired.
type LinkFilter struct {
	SessionFilter
	Now time.Time
}

// LinkStatuses are the statuses the links list shows and filters by.
var LinkStatuses = []string{LinkOpen, LinkExpired, LinkPaid, LinkCancelled}

// ListStatus is the link's status as the lists show it: LinkExpired for an
// open link whose expiry has passed, else its stored status.
func (l *Link) ListStatus(now time.Time) string {
	if l.Expired(now) {
		return LinkExpired
	}
	return l.Status
}

// CursorAfter is the cursor of link l in f's order (see SessionFilter.CursorAfter).
func (f LinkFilter) CursorAfter(l *Link) SessionCursor {
	if f.byAmount() {
		return SessionCursor{Key: l.Amount, ID: l.ID}
	}
	return SessionCursor{Key: l.CreatedAt.UnixNano(), ID: l.ID}
}

// LinkPage asks for one page of links, as SessionPage does for sessions.
type LinkPage struct {
	LinkFilter
	After, Before *SessionCursor
	Limit         int
	// Found and Matches say how the search is read, as in SessionPage.
	Found   *Found
	Matches int64
}

// LinkRow is one row of the links list.
type LinkRow struct {
	Link
	// CreatedByEmail is who made it (an API key's name when one did); empty
	// for the command line and demo data.
	CreatedByEmail string
	// EmailStatus is the status of the newest email that carried the link
	// (MailQueued, MailSent, MailFailed or MailWithdrawn); empty when none did.
	EmailStatus string
}

// linkListColumns: the link, its creator's email, and its newest link email's
// status, looked up through the outbox's link_id index for the page's rows only.
const linkListColumns = "l.*, COALESCE(u.email, l.created_via) AS created_by_email, " +
	"COALESCE((SELECT o.status FROM outbox_messages AS o WHERE o.link_id = l.id AND o.kind = '" + MailLink + "' ORDER BY o.id DESC LIMIT 1), '') AS email_status"

// linkQuery builds the statement behind a page of the links list: of the
// links a narrow search found (set), or else of the whole list, walked.
func linkQuery(f LinkFilter, cur *pageCursor, limit int, set *matchSet) (string, []any) {
	var sb strings.Builder
	sb.WriteString("SELECT " + linkListColumns + " FROM links AS l LEFT JOIN users AS u ON u.id = l.created_by_id")
	c := linkConds(f, set, false)
	order := c.keyset(f.SessionFilter, "l.created_at", "l.amount", "l.id", cur)
	sb.WriteString(c.sql() + order + " LIMIT ?")
	return sb.String(), append(c.args, limit)
}

// linkConds is the WHERE of f, as sessionConds is for sessions: the links
// found (set) by id, or else the search tested on each row.
func linkConds(f LinkFilter, set *matchSet, count bool) *listConds {
	c := &listConds{}
	switch {
	case set.byID():
		c.add("l.id IN (" + set.sql() + ")")
		c.hide = true
	case f.Q != "":
		cond, args := linkSearchRow(set.walked(parseSearch(f.Q, f.ExactOnly)))
		c.add(cond, args...)
	}
	if f.OrderID != "" { // through idx_links_order_nocase, then as written
		c.add("l.merchant_order_id COLLATE NOCASE = ? AND l.merchant_order_id = ?", f.OrderID, f.OrderID)
	}
	linkFilters(c, f, count)
	return c
}

// linkFilters adds f's status, mode and dates to c. A page tests status and
// mode row by row: it walks its date or amount index in order, and links
// have no index that pairs them with one. A count may start from the status
// index.
func linkFilters(c *listConds, f LinkFilter, count bool) {
	now := f.Now.UTC()
	rowTest := c.hide || hider(!count)
	status, expires := rowTest.col("l.status"), rowTest.col("l.expires_at")
	switch f.Status {
	case LinkOpen:
		c.add(status+" = ? AND ("+expires+" IS NULL OR "+expires+" > ?)", LinkOpen, now)
	case LinkExpired:
		c.add(status+" = ? AND "+expires+" <= ?", LinkOpen, now)
	case LinkPaid, LinkCancelled:
		c.add(status+" = ?", f.Status)
	}
	if f.Mode != "" {
		c.add(rowTest.col("l.mode")+" = ?", f.Mode)
	}
	c.created(c.hide || hider(!count && f.byAmount()), "l.created_at", f.SessionFilter)
}

// linkPageSet is what a page of f reads from (see pageSet).
func (s *Store) linkPageSet(ctx context.Context, f LinkFilter, found *Found, matches int64) (*matchSet, error) {
	return s.onEngine(searchSet(f.Q, found, matches, func() (Found, error) { return s.findLinks(ctx, f) }))
}

// ListLinks returns one page of links matching p, in p's order; a Before
// page is the Limit rows just before the cursor, still in p's order.
func (s *Store) ListLinks(ctx context.Context, p LinkPage) ([]LinkRow, error) {
	set, err := s.linkPageSet(ctx, p.LinkFilter, p.Found, p.Matches)
	if err != nil {
		return nil, err
	}
	cur := cursorOf(p.After, p.Before)
	query, args := linkQuery(p.LinkFilter, cur, pageLimit(p.Limit), set)
	var rows []LinkRow
	if err := s.read.WithContext(ctx).Raw(query, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if cur != nil && cur.back {
		reverse(rows)
	}
	return rows, nil
}

// CountLinks counts the links matching f: with the list's own conditions
// when there is no search, else by looking the search up once (findLinks),
// "more than BroadSearch" when it is broad.
func (s *Store) CountLinks(ctx context.Context, f LinkFilter) (Found, error) {
	if f.Q != "" {
		return s.findLinks(ctx, f)
	}
	c := linkConds(f, nil, true)
	var n Found
	var err error
	if len(c.where) == 0 {
		n.Count, err = s.countRows(ctx, "SELECT COUNT(*) FROM links AS l")
		return n, err
	}
	err = s.read.WithContext(ctx).Raw("SELECT COUNT(*) FROM links AS l"+c.sql(), c.args...).Row().Scan(&n.Count)
	return n, err
}
