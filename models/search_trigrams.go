package models

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"
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
	// first (the order the index keeps them in): a trigram in fewer links
	// is rare, and counted exactly; in more, how far apart its first and
	// probeDepth-th links are tells how common it is where it is found
	// (search_probe.go; the newest links are probed too).
	probeDepth = 32
	// maxProbes bounds the trigrams probed for one search (a 64-character
	// token has 62): those probed are spread over the words.
	maxProbes = 8
)

// trigram is a run of 3 characters of a search's words, and where it
// starts, counting the words as if more than a trigram apart.
type trigram struct {
	text string
	at   int
}

// apart reports whether two trigrams share no character of the words.
func (t trigram) apart(u trigram) bool { return t.at-u.at >= 3 || u.at-t.at >= 3 }

// trigrams are the distinct runs of 3 characters in words, in order.
func trigrams(words []string) []trigram {
	var out []trigram
	at := 0
	for _, w := range words {
		r := []rune(w)
		for i := 0; i+3 <= len(r); i++ {
			t := string(r[i : i+3])
			if !slices.ContainsFunc(out, func(x trigram) bool { return x.text == t }) {
				out = append(out, trigram{t, at + i})
			}
		}
		at += len(r) + 3
	}
	return out
}

// spread keeps at most n of list, evenly spaced, the first and last among them.
func spread[T any](list []T, n int) []T {
	if len(list) <= n {
		return list
	}
	out := make([]T, n)
	for i := range out {
		out[i] = list[i*(len(list)-1)/(n-1)]
	}
	return out
}

// rarityBits: a probe packs how many links hold a trigram (up to
// probeDepth) above how many links the ones it read span (from the first
// to the last, or, among the newest links, from where it started),
// subtracted, so that the smaller number is the rarer trigram: fewer
// links, or, as many, spread over more of them. Link ids stay below 2^40.
const rarityBits = 40

// firstProbes is how many trigrams are probed first (the first, last and
// middle ones): most searches that find a few rows have a rare one among
// them (a token, an email with digits), and the rest need not be probed.
const firstProbes = 3

// When even the rarest trigram is common, the index is asked for three
// together. Each more costs the index little (it skips through a common
// trigram's list to the links the others hold) and may spare many links
// read at random: for martina.fuentes7 the two rarest (es7, .fu) hold
// 1,406 links together; with mar, 79 (a lookup of 4.5 ms, then 1.1 ms,
// one request at a time).

// textQueries are the FTS5 queries of a search's words (textLookup).
type textQueries struct {
	// fts proposes the links that may hold the words, which search_text
	// (after LIKE) then decides on: their rarest trigram, or, when even
	// that one is common, three together. "" when there are no words, or
	// when a trigram probed is in no link: nothing can match.
	fts string
	// whole, when set, is the words themselves, each a phrase of its
	// trigrams: the index alone decides, reading no link. Set when even the
	// rarest trigram is dense (wholeWords).
	whole string
}

// textQueries measures which of words' trigrams are rarest, and builds the
// queries for them.
func (s *Store) textQueries(ctx context.Context, words []string) (textQueries, error) {
	if s.d.postgres && len(words) > 0 {
		return s.textQueriesPG(ctx, words)
	}
	tris := spread(trigrams(words), maxProbes)
	if len(tris) == 0 {
		return textQueries{}, nil
	}
	// First, last, middle; then the others.
	first := []int{0, len(tris) - 1, len(tris) / 2}
	if len(tris) <= firstProbes {
		first = first[:0]
		for i := range tris {
			first = append(first, i)
		}
	}
	rest := make([]int, 0, len(tris))
	for i := range tris {
		if !slices.Contains(first, i) {
			rest = append(rest, i)
		}
	}
	rarity := make([]int64, len(tris))
	if err := s.probe(ctx, tris, first, rarity); err != nil {
		return textQueries{}, err
	}
	probed := first
	if rarestOf(rarity, first) >= probeDepth && len(rest) > 0 {
		if err := s.probe(ctx, tris, rest, rarity); err != nil {
			return textQueries{}, err
		}
		probed = append(slices.Clone(first), rest...)
	}
	if err := s.checkNewest(ctx, tris, probed, rarity); err != nil {
		return textQueries{}, err
	}
	rarest := probed[0]
	if rarity[rarest] == 0 {
		return textQueries{}, nil
	}
	query := ftsString(tris[rarest].text)
	if linksHolding(rarity[rarest]) < probeDepth || len(probed) == 1 {
		return textQueries{fts: query, whole: wholeWords(words, rarity[rarest])}, nil
	}
	// The two rarest; then a third, rarest among those sharing no
	// character with them (overlapping trigrams mostly come together: .fu
	// and uen, in fuentes) and not in nearly every link (dem, in every demo
	// order, would narrow nothing, and cost the index a long list).
	chosen := []trigram{tris[rarest], tris[probed[1]]}
	query += " AND " + ftsString(tris[probed[1]].text)
	for _, i := range probed[2:] {
		if !slices.ContainsFunc(chosen, func(c trigram) bool { return !c.apart(tris[i]) }) && !everywhere(rarity[i]) {
			query += " AND " + ftsString(tris[i].text)
			break
		}
	}
	return textQueries{fts: query, whole: wholeWords(words, rarity[rarest])}, nil
}

// denseReach: a trigram whose first probeDepth links lie within denseReach
// links is in one link in 16 or more, there.
const denseReach = 16 * probeDepth

// wholeWords is the FTS5 query of words as phrases ("w1" AND "w2"), when
// the index may answer it alone, fast, and exactly as search_text would:
//
//   - fast: even the rarest trigram, rarity, is dense, so the words are
//     likely in many links, and a lookup stops after the first
//     BroadSearch+1, having read that many entries of a few lists. (A
//     phrase of common trigrams in a few links would read every list to
//     its end: martina.fuentes7, 88 links, took 10 times as long as its
//     three rarest trigrams and 88 links read.) Proving "more than 1,000"
//     this way reads no link and tests no text: a third of the CPU of
//     proposing, reading and testing each.
//   - exactly: a phrase of a word's trigrams is a run of the word's
//     characters in one column, case folded by the tokenizer. For an ASCII
//     word that is search_text's rule: the tokenizer folds A-Z as fold
//     does, and folds no other character into ASCII that fold would not
//     (TestIndexFoldsIntoASCIIAsFoldDoes). Words with other characters are
//     left to search_text.
//
// "" when either does not hold.
func wholeWords(words []string, rarity int64) string {
	if linksHolding(rarity) < probeDepth || reach(rarity) > denseReach {
		return ""
	}
	phrases := make([]string, len(words))
	for i, w := range words {
		for j := 0; j < len(w); j++ {
			if w[j] >= utf8.RuneSelf {
				return ""
			}
		}
		phrases[i] = ftsString(w)
	}
	return strings.Join(phrases, " AND ")
}

// everywhere reports whether a probe found its trigram in more than a
// quarter of the links it read through: its first probeDepth links lie
// within 4 × probeDepth.
func everywhere(rarity int64) bool {
	if linksHolding(rarity) < probeDepth {
		return false
	}
	return reach(rarity) < 4*probeDepth
}

// reach is how many links a probe that found probeDepth of them read
// through (the part of its rarity below the count).
func reach(rarity int64) int64 { return int64(probeDepth)<<rarityBits - rarity }

// linksHolding is how many links a probe found, up to probeDepth: its
// rarity rounded up.
func linksHolding(rarity int64) int64 { return (rarity + 1<<rarityBits - 1) >> rarityBits }

// rarestOf is how many links hold the rarest of tris[i] for each i of
// which, up to probeDepth.
func rarestOf(rarity []int64, which []int) int64 {
	n := int64(probeDepth)
	for _, i := range which {
		n = min(n, linksHolding(rarity[i]))
	}
	return n
}

// ftsString is s as one FTS5 string: the trigram tokenizer reads it as a run
// of consecutive characters, and quoting makes every other character
// (* : ^ - AND NEAR …) plain text.
func ftsString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
