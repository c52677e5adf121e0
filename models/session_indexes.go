package models

import "context"

// ensureSessionIndexes creates the indexes the lists, their searches, counts
// and the export need. An SQLite index ends with the rowid, so (status,
// created_at) also orders by id: ORDER BY created_at, id and (created_at, id)
// < (?, ?) use it. IF NOT EXISTS makes it safe to run on every start.
func (s *Store) ensureSessionIndexes(ctx context.Context) error {
	for _, stmt := range []string{
		// The date pages (and a date range's counts) walk this one. The
		// status is in it, after the id, so that a page of one status tests
		// it without reading rows that fail it, and so that a payment moves
		// its session's entry within one page (the date and id stay) instead
		// of from (pending, date) to (paid, date), a random page each for an
		// old session; idx_sessions_status_created and the date alone went.
		"DROP INDEX IF EXISTS idx_sessions_status_created",
		"DROP INDEX IF EXISTS idx_sessions_created_at",
		"CREATE INDEX IF NOT EXISTS idx_sessions_created_id_status ON sessions(created_at, id, status)",
		// Filtering by mode walks the date or amount index instead: a
		// merchant's sessions are nearly all of one mode, and every index
		// costs every insert.
		"DROP INDEX IF EXISTS idx_sessions_mode_created",
		"CREATE INDEX IF NOT EXISTS idx_sessions_amount ON sessions(amount)",
		// A search for an amount alone pages through it in date order
		// without reading its sessions (amountAlone). Neither column ever
		// changes: recording a notification never writes this index.
		"CREATE INDEX IF NOT EXISTS idx_sessions_amount_created ON sessions(amount, created_at)",
		// The list's counts and paid totals (by status, mode, both or
		// neither) read this index alone, never the sessions themselves; it
		// also orders the amount pages of one status and mode.
		"CREATE INDEX IF NOT EXISTS idx_sessions_status_mode_amount ON sessions(status, mode, amount)",
		"DROP INDEX IF EXISTS idx_sessions_status_amount",
		"DROP INDEX IF EXISTS idx_sessions_status_amount_mode",
		"DROP INDEX IF EXISTS idx_sessions_mode_amount",
		// Only sessions with a payment_token: a pending session has none
		// (''), and its entry in a whole index sat at a random place in the
		// run of ''s, a random page the payment rewrote on old sessions.
		// Searches name the condition (paymentTokenIs) so the index serves.
		"DROP INDEX IF EXISTS idx_sessions_payment_token",
		"CREATE INDEX IF NOT EXISTS idx_sessions_payment_token_set ON sessions(payment_token) WHERE payment_token <> ''",
		"CREATE INDEX IF NOT EXISTS idx_links_customer_email_nocase ON links(customer_email COLLATE NOCASE)",
		// The links list: an order id's start in any case, and amounts
		// (searched, and sorted by).
		"CREATE INDEX IF NOT EXISTS idx_links_order_nocase ON links(merchant_order_id COLLATE NOCASE)",
		"DROP INDEX IF EXISTS idx_links_merchant_order_id",
		// Replaced by idx_links_status_mode (see Link), which also counts
		// a mode's links by status.
		"DROP INDEX IF EXISTS idx_links_status",
		"CREATE INDEX IF NOT EXISTS idx_links_amount ON links(amount)",
	} {
		if err := s.write.WithContext(ctx).Exec(stmt).Error; err != nil {
			return err
		}
	}
	if s.d.postgres {
		return s.ensureSearchIndexPG(ctx)
	}
	return s.ensureSearchIndex(ctx)
}

// paymentTokenIs is the condition that session alias's payment_token is the
// argument, spelled so that idx_sessions_payment_token_set (only sessions
// with one) can serve it: with the value unknown, neither engine infers
// from payment_token = ? that the token is not empty. No search looks for
// an empty token.
func paymentTokenIs(alias string) string {
	return "(" + alias + "payment_token = ? AND " + alias + "payment_token <> '')"
}
