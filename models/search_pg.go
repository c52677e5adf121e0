package models

import (
	"context"
	"strings"
)

// The search on PostgreSQL (issue 16): the same ways of matching as on
// SQLite (search.go), with the same meaning (case ignored, any part of the
// order id, email or description from minSubstring characters, the start
// of the order id or email below that) and the same bound of BroadSearch
// rows a way, but through PostgreSQL's own means: ILIKE answered by the
// pg_trgm GIN index of each column instead of FTS5 and search_text, and the
// prefix through lower() instead of a NOCASE range. ILIKE folds case with
// the database's locale: with a UTF-8 one, accented capitals too, as fold
// does.

// pgTextLookup stands for textLookup's FTS5 query: any non-empty text,
// since on PostgreSQL the words themselves are the lookup (textMatchPG).
const pgTextLookup = "pg_trgm"

// textQueriesPG is textQueries on PostgreSQL: the words are the lookup,
// unless no link holds them (then, as on SQLite, none: nothing can match,
// and a walk need not test each row's text). One probe through the
// trigram indexes.
func (s *Store) textQueriesPG(ctx context.Context, words []string) (textQueries, error) {
	cond, args := textMatchPG("l", search{words: words, pg: true})
	var any bool
	if err := s.read.WithContext(ctx).Raw("SELECT EXISTS (SELECT 1 FROM links AS l WHERE "+cond+")", args...).Row().Scan(&any); err != nil || !any {
		return textQueries{}, err
	}
	return textQueries{fts: pgTextLookup}, nil
}

// pgSearchIndexes are the trigram indexes ILIKE '%word%' reads, one per
// column searched (a link's three texts never change once it is made, so
// payments never write them), and the lower() indexes of the short
// prefixes.
var pgSearchIndexes = []string{
	"CREATE INDEX IF NOT EXISTS idx_links_order_trgm ON links USING gin (merchant_order_id gin_trgm_ops)",
	"CREATE INDEX IF NOT EXISTS idx_links_email_trgm ON links USING gin (customer_email gin_trgm_ops)",
	"CREATE INDEX IF NOT EXISTS idx_links_description_trgm ON links USING gin (description gin_trgm_ops)",
	"CREATE INDEX IF NOT EXISTS idx_links_order_lower ON links (lower(merchant_order_id) text_pattern_ops)",
	"CREATE INDEX IF NOT EXISTS idx_links_email_lower ON links (lower(customer_email) text_pattern_ops)",
}

// ensureSearchIndexPG creates the search's indexes on PostgreSQL.
func (s *Store) ensureSearchIndexPG(ctx context.Context) error {
	for _, stmt := range pgSearchIndexes {
		if err := s.write.WithContext(ctx).Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}

// onEngine marks a search's set with the Store's engine, for the walks
// that test its words on each row (matchSet.walked).
func (s *Store) onEngine(set *matchSet, err error) (*matchSet, error) {
	if set != nil {
		set.pg = s.d.postgres
	}
	return set, err
}

// textMatchPG is textMatch on PostgreSQL: every word is part of one of the
// three texts, in any case.
func textMatchPG(alias string, sr search) (string, []any) {
	cols := []string{alias + ".merchant_order_id", alias + ".customer_email", alias + ".description"}
	words := make([]string, len(sr.words))
	args := make([]any, 0, 3*len(sr.words))
	for i, w := range sr.words {
		ors := make([]string, len(cols))
		for k, c := range cols {
			ors[k] = c + ` ILIKE ? ESCAPE '\'`
			args = append(args, likePattern(w))
		}
		words[i] = "(" + strings.Join(ors, " OR ") + ")"
	}
	return "(" + strings.Join(words, " AND ") + ")", args
}

// textBranch is the FROM and WHERE of a lookup's text branch: links (alias)
// proposed by the index, with their sessions when sessions is set. fts is
// textLookup's query.
func textBranch(sr search, fts, alias string, sessions bool) (from, where string, args []any) {
	cond, args := textMatch(alias, sr)
	join, on := "", ""
	if sessions {
		join, on = " CROSS JOIN sessions AS s", " AND s.link_id = "+alias+".id"
	}
	if sr.pg {
		return "FROM links AS " + alias + join, cond + on, args
	}
	return "FROM links_fts CROSS JOIN links AS " + alias + join,
		"links_fts MATCH ? AND " + alias + ".id = links_fts.rowid AND " + cond + on, append([]any{fts}, args...)
}

// prefixArgs are the values prefixConds binds: lo, hi, lo, hi on SQLite;
// on PostgreSQL the LIKE pattern of the prefix, for each column.
func (sr search) prefixArgs() []any {
	if sr.pg {
		p := likePrefix(sr.lo)
		return []any{p, p}
	}
	return []any{sr.lo, sr.hi, sr.lo, sr.hi}
}

// prefixCondsPG is prefixConds on PostgreSQL (see prefixArgs).
func prefixCondsPG(alias string) string {
	order, email := "lower("+alias+".merchant_order_id)", "lower("+alias+".customer_email)"
	return "(" + order + ` LIKE ? ESCAPE '\' OR ` + email + ` LIKE ? ESCAPE '\')`
}

// likePrefix is a LIKE pattern for text starting with p (already lower
// case), its own % _ and \ escaped.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)
	return strings.ToLower(r.Replace(p)) + "%"
}
