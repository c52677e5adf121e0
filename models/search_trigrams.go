package models

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
)

// The trigram index answers a word by reading the list of links that hold
// each of its trigrams, and a phrase by reading all of them: "demo-h3kfjk-19"
// reads the lists of dem, emo and mo-, which are in every demo order, to find
// the hundred that end in 19. So a search asks the index only for the rarest
// one or two of its trigrams, and search_text checks the whole words on the
// few links they give. Which are rarest is measured at each search, on the
// index itself: nothing is kept beside it.

const (
	// probeDepth is how many of a trigram's links a probe reads, oldest
	// first (the order the index keeps them in: reading newest first
	// would walk each list to its end): a trigram in fewer links is rare,
	// and counted exactly; in more, the id of its probeDepth-th link
	// tells how far the index had to read, so how common it is.
	probeDepth = 32
	// maxProbes bounds the trigrams probed for one search (a 64-character
	// token has 62): those probed are spread over the words.
	maxProbes = 8
)

// trigrams are the distinct runs of 3 characters in words, in order.
func trigrams(words []string) []string {
	var out []string
	for _, w := range words {
		r := []rune(w)
		for i := 0; i+3 <= len(r); i++ {
			if t := string(r[i : i+3]); !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// spread keeps at most n of list, evenly spaced, the first and last among them.
func spread(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	out := make([]string, n)
	for i := range out {
		out[i] = list[i*(len(list)-1)/(n-1)]
	}
	return out
}

// rarityBits: a probe packs how many links hold a trigram (up to
// probeDepth) above the id of the last link it read, subtracted, so that
// the smaller number is the rarer trigram: fewer links, or, as many, spread
// over more of them. Link ids stay below 2^40.
const rarityBits = 40

// textLookup is the FTS5 query that proposes the links that may hold words:
// their rarest trigram, and the next rarest unless the first is rare
// already. It is "" when there are no words, or when a trigram is in no
// link: nothing can match.
func (s *Store) textLookup(ctx context.Context, words []string) (string, error) {
	tris := spread(trigrams(words), maxProbes)
	if len(tris) == 0 {
		return "", nil
	}
	cols := make([]string, len(tris))
	args := make([]any, len(tris))
	for i, t := range tris {
		cols[i] = "(SELECT (count(*) << " + strconv.Itoa(rarityBits) + ") - coalesce(max(r), 0) FROM " +
			"(SELECT rowid AS r FROM links_fts WHERE links_fts MATCH ? ORDER BY rowid LIMIT " + strconv.Itoa(probeDepth) + "))"
		args[i] = ftsString(t)
	}
	rarity := make([]int64, len(tris))
	ptrs := make([]any, len(tris))
	for i := range rarity {
		ptrs[i] = &rarity[i]
	}
	if err := s.read.WithContext(ctx).Raw("SELECT "+strings.Join(cols, ", "), args...).Row().Scan(ptrs...); err != nil {
		return "", err
	}
	order := make([]int, len(tris))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(rarity[a], rarity[b]) })
	rarest := order[0]
	if rarity[rarest] == 0 {
		return "", nil
	}
	query := ftsString(tris[rarest])
	// How many links the rarest is in, up to probeDepth: the rarity rounded up.
	if n := (rarity[rarest] + 1<<rarityBits - 1) >> rarityBits; n == probeDepth && len(order) > 1 {
		query += " AND " + ftsString(tris[order[1]])
	}
	return query, nil
}

// ftsString is s as one FTS5 string: the trigram tokenizer reads it as a run
// of consecutive characters, and quoting makes every other character
// (* : ^ - AND NEAR …) plain text.
func ftsString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
