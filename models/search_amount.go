package models

import (
	"context"
	"strconv"
)

// An amount typed alone ($12.990) matches its sessions through
// idx_sessions_amount, a few hundred of 200,000, found in ~0.3 ms. What
// cost more was everything after: the count's paid total and the page's
// dates came from reading each session found at random (5–10 µs each), and
// an amount in more than BroadSearch sessions had its page walk the whole
// list in date order testing each row (~10,000 rows for 50). When the
// search can only have matched by its amount, neither is needed:
//
//   - the paid total is the amount times its paid sessions, counted in
//     idx_sessions_status_mode_amount alone;
//   - a page reads idx_sessions_amount_created in the page's order.
//
// Neither index holds anything a notification changes but the status,
// which idx_sessions_status_mode_amount held already.

// amountOnly reports whether f's search (sr, with its text queries) can
// match by nothing but its amount and the exact ids: it spells an amount,
// its words are in no link (a trigram of theirs is in none) or it has
// none, and the list is not filtered otherwise. amountAlone then rules
// out the exact ids.
func amountOnly(f SessionFilter, sr search, text textQueries) bool {
	return sr.amount > 0 && text.fts == "" && text.whole == "" && sr.lo == "" &&
		f.OrderID == "" && f.Status == "" && f.Mode == "" && f.From.IsZero() && f.Until.IsZero()
}

// amountAloneQuery counts, in one statement and through indexes only: the
// sessions whose exact ids are q; the sessions of the amount that have a
// known status and mode (up to BroadSearch+1), and how many of those are
// paid. Sessions are made in the app's mode, live or sandbox.
var amountAloneQuery = "SELECT " +
	"(SELECT count(*) FROM sessions WHERE merchant_order_id = ? OR " + paymentTokenIs("") + " OR session_token = ?), " +
	"(SELECT count(*) FROM (SELECT 1 FROM sessions WHERE status IN (?, ?, ?) AND mode IN ('live', 'sandbox') AND amount = ? LIMIT " +
	strconv.Itoa(BroadSearch+1) + ") AS known), " +
	"(SELECT count(*) FROM (SELECT 1 FROM sessions WHERE status = ? AND mode IN ('live', 'sandbox') AND amount = ? LIMIT " +
	strconv.Itoa(BroadSearch+1) + ") AS paid)"

// amountAlone marks set (what the lookup of sr found) as the amount's
// sessions and no other, when it is: no session has q as an exact id and,
// for a narrow search, every session found is one of the amount's with a
// known status and mode (so their paid ones are counted exactly). Else set
// is left as it is.
func (s *Store) amountAlone(ctx context.Context, sr search, set *matchSet) error {
	var exact, known, paid int64
	err := s.read.WithContext(ctx).Raw(amountAloneQuery, sr.exact, sr.exact, sr.exact,
		StatusPending, StatusPaid, StatusFailed, sr.amount, StatusPaid, sr.amount).Row().Scan(&exact, &known, &paid)
	switch {
	case err != nil:
		return err
	case exact > 0:
		return nil
	case set.broad:
		set.amount = sr.amount
	case known == int64(len(set.ids)):
		set.amount, set.paid = sr.amount, paid
	}
	return nil
}

// amountAlone reports whether a page reads the search's amount through its
// index (see amountAlone).
func (m *matchSet) amountAlone() bool { return m != nil && m.amount != 0 }
