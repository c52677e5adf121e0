package models

import (
	"context"
	"fmt"
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
//
// The probe is written as a MATERIALIZED CTE, not as EXISTS (SELECT 1 FROM
// links WHERE …): under EXISTS the planner costs the first match only,
// expects dozens of links to hold any word and scans links from the start,
// which for a word no link holds (a payment_token, an amount) read all
// 200,000 of them (250–1,050 ms). The CTE is planned for all its rows, so
// through the trigram indexes (a bitmap OR), and EXISTS stops at its first
// row: 0.2–2 ms for a rare word, 4–10 ms for one in 25,000 links.
func (s *Store) textQueriesPG(ctx context.Context, words []string) (textQueries, error) {
	cond, args := textMatchPG("l", search{words: words, pg: true})
	var any bool
	probe := "WITH held AS MATERIALIZED (SELECT 1 FROM links AS l WHERE " + cond + ") SELECT EXISTS (SELECT 1 FROM held)"
	if err := s.read.WithContext(ctx).Raw(probe, args...).Row().Scan(&any); err != nil || !any {
		return textQueries{}, err
	}
	return textQueries{fts: pgTextLookup}, nil
}

// searchTextQueries is textQueries for a list's search sr. On PostgreSQL
// the probe (textQueriesPG) runs only when sr spells an amount too, for
// amountOnly: without one, what the probe would say changes no result and
// no plan. A text branch whose words no link holds finds nothing through
// the trigram indexes (0.5 ms for a payment_token), and only text can make
// such a search broad, so a walk need not be spared a text that no row
// holds. For a common word the probe was the dearest part of the search
// after the lookup itself (4–10 ms to build the index's bitmap).
func (s *Store) searchTextQueries(ctx context.Context, sr search) (textQueries, error) {
	if sr.pg && sr.amount == 0 && len(sr.words) > 0 {
		return textQueries{fts: pgTextLookup}, nil
	}
	return s.textQueries(ctx, sr.words)
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

// mergeSearchIndexPG is MergeSearchIndex on PostgreSQL. A GIN index takes
// new entries into a pending list, merged into the index proper only when
// the list outgrows gin_pending_list_limit (4 MB) or by autovacuum (a
// manual ANALYZE does not), and every search through the index reads the
// whole list: after a seed of 200,000 links the email index's held 253
// pages, and with 40,000 more links a search for a payment_token took
// 37.6 ms instead of 0.7 ms once merged, an email name 18.0 ms instead of
// 5.8 ms (median of 5). So the bulk load ends by merging the three lists,
// and gives the planner statistics.
func (s *Store) mergeSearchIndexPG(ctx context.Context) error {
	for _, index := range []string{"idx_links_order_trgm", "idx_links_email_trgm", "idx_links_description_trgm"} {
		if err := s.write.WithContext(ctx).Exec("SELECT gin_clean_pending_list(?::regclass)", index).Error; err != nil {
			return fmt.Errorf("merge %s: %w", index, err)
		}
	}
	return s.write.WithContext(ctx).Exec("ANALYZE links, sessions").Error
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
		from, where = textBranchPG(alias, cond, sessions)
		return from, where, args
	}
	return "FROM links_fts CROSS JOIN links AS " + alias + join,
		"links_fts MATCH ? AND " + alias + ".id = links_fts.rowid AND " + cond + on, append([]any{fts}, args...)
}

// textBranchPG is textBranch on PostgreSQL: the links that meet cond
// (alias), found through the trigram indexes in a MATERIALIZED CTE, then
// each one's sessions (by link_id) or the link itself (by id). Joined to
// links directly, the branch's LIMIT made the planner walk links in id
// order testing every one (8,000 read for the 1,001 found when one link in
// eight matches); the CTE is planned for all its rows, through the indexes,
// and read only as far as the LIMIT needs.
func textBranchPG(alias, cond string, sessions bool) (from, where string) {
	from = "FROM (WITH held AS MATERIALIZED (SELECT " + alias + ".id FROM links AS " + alias + " WHERE " + cond + ") SELECT id FROM held) AS held"
	if sessions {
		return from + " CROSS JOIN sessions AS s", "s.link_id = held.id"
	}
	return from + " CROSS JOIN links AS " + alias, alias + ".id = held.id"
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
	return strings.ToLower(likeEscaper.Replace(p)) + "%"
}

// sessionLinkTestPG is sessionLinkTest on PostgreSQL: the value of cond on
// the session's link, a scalar subquery. Written as EXISTS inside the
// walk's OR, PostgreSQL hashes the subquery instead: it reads every link
// that meets cond (25,000 for gmail.com, through the trigram index, then
// each link) before the walk's first row, 50–750 ms; the subquery is asked
// only of the rows the walk reaches (a few hundred for a page), each
// through links' primary key. A session always has its link (a foreign
// key), and the columns tested are NOT NULL, so the value is true or false.
func sessionLinkTestPG(alias, cond string) string {
	return "(SELECT " + cond + " FROM links AS " + alias + " WHERE " + alias + ".id = s.link_id)"
}
