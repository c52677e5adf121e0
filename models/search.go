package models

import (
	"database/sql/driver"
	"strings"
	"unicode"
	"unicode/utf8"

	gosqlite "github.com/glebarez/go-sqlite"

	"etpay-dashboard/clp"
)

// The search of the panel's lists (the q of /admin/sessions and /admin/links)
// is read once into the ways a row may match it, ORed:
//
//   - exact ids, always: merchant_order_id, payment_token, session_token;
//   - unless ExactOnly (viewers): an amount as people type it ("12.990",
//     "$12.990", "12990");
//   - and the text of the link: from 3 characters on, any part of its order
//     id, customer email or description (searchText); shorter, the start of
//     its order id or email. Both ignore case.
//
// A request looks its search up once (search_find.go): each way through its
// own index, links_fts (FTS5 with the trigram tokenizer) for the text, at
// most BroadSearch+1 rows each. A narrow search keeps the ids it found for
// its count, total and page; a broad one is not counted to the end, and its
// page walks the list's own index, testing each row (searchConds).
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
	// words are the texts a matching link contains, folded (see fold):
	// every word of q of at least minSubstring characters, or q as a whole
	// when all its words are shorter; none when q itself is shorter.
	words []string
	// lo and hi bound the order ids and emails that start with a short q
	// (see prefixRange); empty when q is long enough for words.
	lo, hi string
	// pg: the Store runs on PostgreSQL (search_pg.go).
	pg bool
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
		sr.words = searchWords(q)
	} else {
		sr.lo, sr.hi = prefixRange(q)
	}
	return sr
}

// exactOnly reports whether only the exact ids are searched: a handful of
// rows at most, whatever the data.
func (sr search) exactOnly() bool { return sr.amount == 0 && sr.words == nil && sr.lo == "" }

// searchWords are q's words of at least minSubstring characters, folded:
// "zapatillas 42 rojas" finds "Zapatillas ROJAS talla 42". A q whose words
// are all shorter is looked for as it is written ("a b").
func searchWords(q string) []string {
	var words []string
	for _, w := range strings.Fields(q) {
		if utf8.RuneCountInString(w) >= minSubstring {
			words = append(words, fold(w))
		}
	}
	if len(words) == 0 {
		return []string{fold(q)}
	}
	return words
}

// fold is how the search ignores case: Unicode lower case ("SUSCRIPCIÓN"
// finds "Suscripción"; accents still count), except for the letters
// links_fts's trigram tokenizer does not fold the same way. The index
// proposes the links search_text decides on, so it must find every text
// that fold makes equal (TestFoldAgreesWithTheIndex checks each letter).
func fold(s string) string { return strings.Map(foldRune, s) }

func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r == 'ſ':
		// The long s, lower case already, is an s to the tokenizer (case
		// folding, not lowering): fold agrees, so that the index never
		// finds a text search_text would not (TestIndexFoldsIntoASCIIAsFoldDoes).
		return 's'
	case unicode.Is(indexKeepsCase, r):
		return r
	}
	return unicode.ToLower(r)
}

// indexKeepsCase are the capitals the bundled SQLite's tokenizer leaves
// as they are, though Go's Unicode tables lower them: İ (which it does
// not turn into i), and the capitals of later Unicode versions (Cherokee,
// Georgian Mtavruli, Osage, Adlam and some Latin, Greek and Cyrillic).
// Found by TestFoldAgreesWithTheIndex, which fails if the list is wrong.
var indexKeepsCase = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x0130, 0x0130, 1}, {0x037F, 0x037F, 1}, {0x0528, 0x052E, 2}, {0x13A0, 0x13F5, 1},
		{0x1C90, 0x1CBA, 1}, {0x1CBD, 0x1CBF, 1}, {0x2C2F, 0x2C2F, 1}, {0xA698, 0xA69A, 2},
		{0xA796, 0xA79E, 2}, {0xA7AB, 0xA7AE, 1}, {0xA7B0, 0xA7B4, 1}, {0xA7B6, 0xA7C4, 2},
		{0xA7C5, 0xA7C7, 1}, {0xA7C9, 0xA7C9, 1}, {0xA7D0, 0xA7D0, 1}, {0xA7D6, 0xA7D8, 2},
		{0xA7F5, 0xA7F5, 1},
	},
	R32: []unicode.Range32{
		{0x104B0, 0x104D3, 1}, {0x10570, 0x1057A, 1}, {0x1057C, 0x1058A, 1}, {0x1058C, 0x10592, 1},
		{0x10594, 0x10595, 1}, {0x10C80, 0x10CB2, 1}, {0x118A0, 0x118BF, 1}, {0x16E40, 0x16E5F, 1},
		{0x1E900, 0x1E921, 1},
	},
}

// searchText is the SQL function search_text(order, email, description,
// word...): 1 when every word (already folded) is part of one of the three
// texts, folded, else 0. It is the one definition of a text match: the
// trigram index only narrows down which links to ask it about (see
// textLookup), and a broad search's page asks it of each row it walks.
func searchText(_ *gosqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	if len(args) < 3 {
		return int64(0), nil
	}
	var texts [3]string
	for i := range texts {
		s, _ := args[i].(string)
		texts[i] = fold(s)
	}
	for _, w := range args[3:] {
		word, _ := w.(string)
		if !strings.Contains(texts[0], word) && !strings.Contains(texts[1], word) && !strings.Contains(texts[2], word) {
			return int64(0), nil
		}
	}
	return int64(1), nil
}

func init() {
	// Registered with the driver, so every connection the Store opens has it.
	gosqlite.MustRegisterDeterministicScalarFunction("search_text", -1, searchText)
}

// textMatch is the condition that the link alias has sr's words, and its
// bound values. search_text decides, but is asked only when LIKE could be
// wrong: LIKE ignores the case of ASCII letters only, and needs no call
// into Go. Whatever LIKE finds, search_text would find too (fold lowers
// ASCII letters as LIKE does and leaves any other character of a folded
// word as it is). And where all three texts are ASCII, fold is LIKE's own
// rule, so LIKE's "no" is final; only a text with another character (an
// accent, a ñ) is asked of search_text when LIKE says no.
func textMatch(alias string, sr search) (string, []any) {
	if sr.pg {
		return textMatchPG(alias, sr)
	}
	cols := []string{alias + ".merchant_order_id", alias + ".customer_email", alias + ".description"}
	likes := make([]string, len(sr.words))
	args := make([]any, 0, 4*len(sr.words))
	for i, w := range sr.words {
		var ors []string
		for _, c := range cols {
			ors = append(ors, c+` LIKE ? ESCAPE '\'`)
			args = append(args, likePattern(w))
		}
		likes[i] = "(" + strings.Join(ors, " OR ") + ")"
	}
	for _, w := range sr.words {
		args = append(args, w)
	}
	// A text is ASCII when its length in characters is its length in bytes.
	chars := "length(" + strings.Join(cols, ") + length(") + ")"
	bytes := "length(CAST(" + strings.Join(cols, " AS BLOB)) + length(CAST(") + " AS BLOB))"
	marks := strings.Repeat(", ?", len(sr.words))
	return "(" + strings.Join(likes, " AND ") + " OR (" + chars + " <> " + bytes + " AND search_text(" + strings.Join(cols, ", ") + marks + ")))", args
}

// likeEscaper escapes LIKE's own % _ and \ (built once: every search
// asks for a pattern per word and column).
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// likePattern is a LIKE pattern for text containing w, its own % _ and \
// escaped.
func likePattern(w string) string {
	return "%" + likeEscaper.Replace(w) + "%"
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

// prefixConds: the link's order id or email starts with a prefix (bound as
// lo, hi, lo, hi), through their NOCASE indexes.
func prefixConds(sr search, alias string, hide bool) string {
	if sr.pg {
		return prefixCondsPG(alias)
	}
	h := hider(hide)
	order, email := h.col(alias+".merchant_order_id"), h.col(alias+".customer_email")
	return "(" + order + " COLLATE NOCASE >= ? AND " + order + " COLLATE NOCASE < ? OR " +
		email + " COLLATE NOCASE >= ? AND " + email + " COLLATE NOCASE < ?)"
}

// sessionSearchRow is the condition that a session (alias s) matches sr,
// tested on each row a broad search's page walks: nothing in it may drive
// the query, which walks the list's own index (see listPlan).
func sessionSearchRow(sr search) (string, []any) {
	branches := []string{"+s.merchant_order_id = ?", "+s.payment_token = ?", "+s.session_token = ?"}
	args := []any{sr.exact, sr.exact, sr.exact}
	if sr.amount > 0 {
		branches = append(branches, "+s.amount = ?")
		args = append(args, sr.amount)
	}
	// A session's order id and customer are its link's: the text is its
	// link's, read by primary key. In EXISTS's WHERE, not as a value: only
	// a condition stops at the first term it needs (a value of x OR y
	// computes both), and search_text is to be asked only when LIKE fails.
	if sr.words != nil {
		cond, wargs := textMatch("t", sr)
		branches = append(branches, sessionLinkTest(sr, "t", cond))
		args = append(args, wargs...)
	}
	if sr.lo != "" {
		branches = append(branches, sessionLinkTest(sr, "p", prefixConds(sr, "p", true)))
		args = append(args, sr.prefixArgs()...)
	}
	return "(" + strings.Join(branches, " OR ") + ")", args
}

// sessionLinkTest is the condition that the link of session s (alias) meets
// cond, read by primary key: EXISTS on SQLite; on PostgreSQL see
// sessionLinkTestPG.
func sessionLinkTest(sr search, alias, cond string) string {
	if sr.pg {
		return sessionLinkTestPG(alias, cond)
	}
	return "EXISTS (SELECT 1 FROM links AS " + alias + " WHERE " + alias + ".id = s.link_id AND " + cond + ")"
}

// linkSearchRow is the condition that a link (alias l) matches sr, tested
// on each row; see sessionSearchRow.
func linkSearchRow(sr search) (string, []any) {
	branches := []string{
		"+l.merchant_order_id = ?",
		"+l.id IN (SELECT link_id FROM sessions WHERE " + paymentTokenIs("") + " OR session_token = ?)",
	}
	args := []any{sr.exact, sr.exact, sr.exact}
	if sr.amount > 0 {
		branches = append(branches, "+l.amount = ?")
		args = append(args, sr.amount)
	}
	if sr.words != nil {
		cond, wargs := textMatch("l", sr)
		branches = append(branches, cond)
		args = append(args, wargs...)
	}
	if sr.lo != "" {
		branches = append(branches, prefixConds(sr, "l", true))
		args = append(args, sr.prefixArgs()...)
	}
	return "(" + strings.Join(branches, " OR ") + ")", args
}
