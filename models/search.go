package models

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"etpay-dashboard/clp"
)

// The search of the panel's lists (the q of /admin/sessions and /admin/links)
// is read once into the lookups that answer it; each is served by its own
// index, so SQLite answers their OR as a union of index lookups:
//
//   - exact ids, always: merchant_order_id, payment_token, session_token;
//   - unless ExactOnly (viewers): an amount as people type it ("12.990",
//     "$12.990", "12990"), through the amount indexes;
//   - and the text of the link: from 3 characters on, any part of its order
//     id, customer email or description, through links_fts (FTS5 with the
//     trigram tokenizer); shorter, the start of its order id or email,
//     through their NOCASE indexes. Both ignore case.
//
// docs/design.md ("Search") says why it is built this way.

// minSubstring is the shortest text matched anywhere inside a value: the
// trigram index cannot look up less, and fewer letters would match nearly
// everything anyway.
const minSubstring = 3

// search is a list's q, read.
type search struct {
	exact string
	// amount is the amount q spells, or 0 when it spells none.
	amount int64
	// fts is the FTS5 query for q's text, or "" when q is too short.
	fts string
	// lo and hi bound the order ids and emails that start with a short q
	// (see prefixRange); empty when q is long enough for fts.
	lo, hi string
}

// parseSearch reads q (already trimmed) for a list; exactOnly keeps only the
// exact ids, for viewers: they see emails masked, and matching parts of one
// would let them spell it out letter by letter.
func parseSearch(q string, exactOnly bool) search {
	sr := search{exact: q}
	if exactOnly || q == "" {
		return sr
	}
	if n, err := clp.Parse(q); err == nil && n > 0 {
		sr.amount = n
	}
	if utf8.RuneCountInString(q) >= minSubstring {
		sr.fts = ftsQuery(q)
	} else {
		sr.lo, sr.hi = prefixRange(q)
	}
	return sr
}

// exactOnly reports whether only the exact ids are searched: a handful of
// rows at most, whatever the data.
func (sr search) exactOnly() bool { return sr.amount == 0 && sr.fts == "" && sr.lo == "" }

// ftsQuery is q as an FTS5 query over the trigram index: every word of at
// least minSubstring characters must occur, in any of the three columns, in
// any case ("zapatillas rojas" finds "Zapatillas ROJAS talla 42"). A q whose
// words are all shorter is looked for as it is written ("a b").
// Each word is one quoted FTS5 string, which the trigram tokenizer reads as
// a run of consecutive characters: quoting makes every other character
// (* : ^ - AND NEAR …) plain text.
func ftsQuery(q string) string {
	var words []string
	for _, w := range strings.Fields(q) {
		if utf8.RuneCountInString(w) >= minSubstring {
			words = append(words, ftsString(w))
		}
	}
	if len(words) == 0 {
		return ftsString(q)
	}
	return strings.Join(words, " AND ")
}

func ftsString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// prefixRange turns a prefix into bounds for a NOCASE index range: every
// string that starts with the prefix, ignoring ASCII case, sorts in [lo, hi).
// 0xFF never occurs in UTF-8, so prefix+0xFF is above every extension of it.
// (A LIKE 'x%' would treat _ and %, common in emails, as wildcards.)
func prefixRange(prefix string) (lo, hi string) {
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

// hider writes a column for a condition: as it is, so that SQLite may use
// its index, or behind a unary +, so that it may not.
type hider bool

func (h hider) col(name string) string {
	if h {
		return "+" + name
	}
	return name
}

// sessionSearch is the condition that a session (alias s) matches sr. With
// hide, no branch can drive the query, which then walks the list's own
// index and tests each row (see listPlan).
func sessionSearch(sr search, hide hider) (string, []any) {
	branches := []string{hide.col("s.merchant_order_id") + " = ?", hide.col("s.payment_token") + " = ?", hide.col("s.session_token") + " = ?"}
	args := []any{sr.exact, sr.exact, sr.exact}
	if sr.amount > 0 {
		branches = append(branches, hide.col("s.amount")+" = ?")
		args = append(args, sr.amount)
	}
	// A session's order id, amount and customer are its link's, so the text
	// is found in the link's index and reaches sessions by link_id.
	if sr.fts != "" {
		branches = append(branches, hide.col("s.link_id")+" IN ("+ftsLinkIDs+")")
		args = append(args, sr.fts)
	}
	if sr.lo != "" {
		// Looked up: the links in the NOCASE ranges, then their sessions.
		// Walked: each row's own link, by its primary key; a short prefix
		// may match nearly every link, too many to gather first.
		cond := "s.link_id IN (SELECT id FROM links AS p WHERE " + prefixConds("p", false) + ")"
		if hide {
			cond = "EXISTS (SELECT 1 FROM links AS p WHERE p.id = s.link_id AND " + prefixConds("p", true) + ")"
		}
		branches = append(branches, cond)
		args = append(args, sr.lo, sr.hi, sr.lo, sr.hi)
	}
	return "(" + strings.Join(branches, " OR ") + ")", args
}

// linkSearch is the condition that a link (alias l) matches sr; see sessionSearch.
func linkSearch(sr search, hide hider) (string, []any) {
	// links' order id index is NOCASE (it serves prefixes too): the exact
	// match narrows through it, then compares as written.
	branches := []string{
		"(" + hide.col("l.merchant_order_id") + " COLLATE NOCASE = ? AND l.merchant_order_id = ?)",
		hide.col("l.id") + " IN (SELECT link_id FROM sessions WHERE payment_token = ? OR session_token = ?)",
	}
	args := []any{sr.exact, sr.exact, sr.exact, sr.exact}
	if sr.amount > 0 {
		branches = append(branches, hide.col("l.amount")+" = ?")
		args = append(args, sr.amount)
	}
	if sr.fts != "" {
		branches = append(branches, hide.col("l.id")+" IN ("+ftsLinkIDs+")")
		args = append(args, sr.fts)
	}
	if sr.lo != "" {
		branches = append(branches, prefixConds("l", bool(hide)))
		args = append(args, sr.lo, sr.hi, sr.lo, sr.hi)
	}
	return "(" + strings.Join(branches, " OR ") + ")", args
}

// ftsLinkIDs selects the ids of the links whose text matches an FTS5 query.
const ftsLinkIDs = "SELECT rowid FROM links_fts WHERE links_fts MATCH ?"

// prefixConds: the link's order id or email starts with a prefix (bound as
// lo, hi, lo, hi), through their NOCASE indexes.
func prefixConds(alias string, hide bool) string {
	h := hider(hide)
	order, email := h.col(alias+".merchant_order_id"), h.col(alias+".customer_email")
	return "(" + order + " COLLATE NOCASE >= ? AND " + order + " COLLATE NOCASE < ? OR " +
		email + " COLLATE NOCASE >= ? AND " + email + " COLLATE NOCASE < ?)"
}

// links_fts indexes what a link never changes once made: its order id,
// customer email and description, as trigrams (every run of 3 characters,
// case folded), so any part of them of 3 characters or more is found
// without reading the links. It is an external-content table: it keeps only
// the index, the text stays in links. columnsize=0: no ranking is ever
// asked of it, so it keeps no per-row sizes (a write less per link).
const linksFTSTable = "CREATE VIRTUAL TABLE links_fts USING fts5(merchant_order_id, customer_email, description, " +
	"content='links', content_rowid='id', tokenize='trigram', columnsize=0)"

// linksFTSTriggers keep links_fts in step with links. Only making or deleting
// a link writes to it: payments, cancellations and opens update other
// columns, which the update trigger does not watch, so recording a
// notification never touches the index. (Nothing updates the three columns
// today; the update trigger keeps the index right if something ever does.)
var linksFTSTriggers = []string{
	`CREATE TRIGGER IF NOT EXISTS links_fts_insert AFTER INSERT ON links BEGIN
  INSERT INTO links_fts (rowid, merchant_order_id, customer_email, description) VALUES (new.id, new.merchant_order_id, new.customer_email, new.description);
END`,
	`CREATE TRIGGER IF NOT EXISTS links_fts_delete AFTER DELETE ON links BEGIN
  INSERT INTO links_fts (links_fts, rowid, merchant_order_id, customer_email, description) VALUES ('delete', old.id, old.merchant_order_id, old.customer_email, old.description);
END`,
	`CREATE TRIGGER IF NOT EXISTS links_fts_update AFTER UPDATE OF merchant_order_id, customer_email, description ON links BEGIN
  INSERT INTO links_fts (links_fts, rowid, merchant_order_id, customer_email, description) VALUES ('delete', old.id, old.merchant_order_id, old.customer_email, old.description);
  INSERT INTO links_fts (rowid, merchant_order_id, customer_email, description) VALUES (new.id, new.merchant_order_id, new.customer_email, new.description);
END`,
}

// ftsHashSize is how much new index FTS5 gathers in memory before writing
// it out as a segment (1 MB by default). A demo batch of 20,000 links fits
// in a few segments instead of dozens, which then need no merging: filling
// the index for 200,000 links takes about a third of the time. It is only
// reached inside a large transaction; a link made from the panel adds a few
// hundred bytes.
const ftsHashSize = 16 << 20

// ensureSearchIndex creates links_fts and its triggers. On a database made
// before them, the index is filled from the links already stored, in the
// same transaction, so no link made meanwhile (the command line may write
// too) is missed or indexed twice.
func (s *Store) ensureSearchIndex(ctx context.Context) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'links_fts'").Scan(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			for _, stmt := range []string{
				linksFTSTable,
				"INSERT INTO links_fts (links_fts, rank) VALUES ('hashsize', " + strconv.Itoa(ftsHashSize) + ")",
				"INSERT INTO links_fts (rowid, merchant_order_id, customer_email, description) " +
					"SELECT id, merchant_order_id, customer_email, description FROM links",
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
		}
		for _, stmt := range linksFTSTriggers {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
}
