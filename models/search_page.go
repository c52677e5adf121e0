package models

import (
	"cmp"
	"slices"
)

// sessionKey is a session a narrow search found, placed in the list: its
// id, its date (created_at in Unix nanoseconds) and its amount.
type sessionKey struct {
	id              uint
	created, amount int64
}

// foundPage cuts the page of f at cur (nil: the first) from the sessions
// found, in Go: the ids of at most limit sessions, in the page's order.
// The comparisons are the keyset's own (key, then id; see keyset), on the
// same values: cursors carry created_at in Unix nanoseconds, and stored
// dates, all UTC in one format, sort as text in time order.
func (m *matchSet) foundPage(f SessionFilter, cur *pageCursor, limit int) *matchSet {
	key := func(k sessionKey) int64 {
		if f.byAmount() {
			return k.amount
		}
		return k.created
	}
	asc := f.ascending()
	if cur != nil && cur.back {
		asc = !asc
	}
	order := func(a, b sessionKey) int {
		c := cmp.Compare(key(a), key(b))
		if c == 0 {
			c = cmp.Compare(a.id, b.id)
		}
		if asc {
			return c
		}
		return -c
	}
	var page []sessionKey
	for _, k := range m.keys {
		if cur == nil || order(k, sessionKey{id: cur.ID, created: cur.Key, amount: cur.Key}) > 0 {
			page = append(page, k)
		}
	}
	slices.SortFunc(page, order)
	ids := make([]uint, 0, min(limit, len(page)))
	for _, k := range page[:min(limit, len(page))] {
		ids = append(ids, k.id)
	}
	return &matchSet{ids: ids}
}
