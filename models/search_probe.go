package models

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
)

// A probe reads a trigram's probeDepth oldest links: cheap, as the index
// keeps each list oldest first, and right for a trigram spread evenly over
// the links. It is wrong for one that only the newest links hold: the
// load script's 40,000 orders PED-<run>-000001… share the trigrams of
// PED-<run>- (ed-, 661, 57-…) with no older link, so their 32 oldest
// links lie past the 200,000th, and each looked rarer than 399, in
// 1,000 links; the lookup then asked for three of them together and read
// and tested 10,000 to 40,000 links (20 ms). So the trigrams that would be
// chosen are probed again among the newest links (checkNewest): those
// denser there count as that dense.

const (
	// newestShare: the newest links probed are the last 1/newestShare of
	// link ids (15,000 of 240,000). The window starts far enough back that a
	// search's own matches (at most BroadSearch) seldom make its rare
	// trigrams look dense, and ends where new links arrive.
	newestShare = 16
	// newestBatch is how many trigrams one probe of the newest links reads:
	// the rarest, and the two that follow it should it turn out common.
	newestBatch = 3
)

// oldestProbe measures each trigram of a JSON list: its key (its place in
// the list) and its rarity, from the first probeDepth links holding it
// (see rarityBits). One statement whatever the list's length: the driver
// parses every statement it runs, and a subquery written out for each
// trigram cost more to parse than to run.
var oldestProbe = "SELECT t.key, (SELECT (count(*) << " + strconv.Itoa(rarityBits) + ") - coalesce(max(r) - min(r) + 1, 0) FROM " +
	"(SELECT rowid AS r FROM links_fts WHERE links_fts MATCH t.value ORDER BY rowid LIMIT " + strconv.Itoa(probeDepth) + ")) " +
	"FROM json_each(?) AS t"

// newestProbe is oldestProbe among the newest links: the first
// probeDepth holding the trigram after w.start, their distance counted
// from there. FTS5 takes the rowid bound itself, and skips to it through
// the list's own index of pages.
var newestProbe = "SELECT t.key, (SELECT (count(*) << " + strconv.Itoa(rarityBits) + ") - coalesce(max(r) - w.start, 0) FROM " +
	"(SELECT rowid AS r FROM links_fts WHERE links_fts MATCH t.value AND rowid > w.start ORDER BY rowid LIMIT " + strconv.Itoa(probeDepth) + ")) " +
	"FROM json_each(?) AS t, (SELECT max(id) - max(id) / " + strconv.Itoa(newestShare) + " AS start FROM links) AS w"

// probe measures the rarity of tris[i] for each i of which, in one
// statement, into rarity[i], from the oldest links holding it.
func (s *Store) probe(ctx context.Context, tris []trigram, which []int, rarity []int64) error {
	return s.probeWith(ctx, oldestProbe, tris, which, func(i int, r int64) { rarity[i] = r })
}

// checkNewest probes the newest links for the trigrams that may be chosen
// (the rarest of probed, and those after it, a few at a time) until the
// rarest has been probed there too, or holds fewer than probeDepth links in
// all (counted exactly), or is dense anyway. A trigram denser among the
// newest links counts as that dense. It leaves probed sorted rarest first.
// Most searches probe the newest links once, for two or three rare
// trigrams (whose lists are short, so the bound is reached in a step or
// two); broad ones never.
func (s *Store) checkNewest(ctx context.Context, tris []trigram, probed []int, rarity []int64) error {
	checked := make([]bool, len(tris))
	for {
		slices.SortStableFunc(probed, func(a, b int) int { return cmp.Compare(rarity[a], rarity[b]) })
		var which []int
		for _, i := range probed {
			if len(which) == newestBatch || !estimated(rarity[i]) {
				break
			}
			if !checked[i] {
				which = append(which, i)
			}
		}
		if len(which) == 0 || checked[probed[0]] || !estimated(rarity[probed[0]]) {
			return nil
		}
		for _, i := range which {
			checked[i] = true
		}
		err := s.probeWith(ctx, newestProbe, tris, which, func(i int, r int64) {
			if linksHolding(r) == probeDepth {
				rarity[i] = max(rarity[i], r)
			}
		})
		if err != nil {
			return err
		}
	}
}

// estimated reports whether a probe's rarity is an estimate that the
// newest links may correct: probeDepth links or more hold the trigram (fewer
// are counted exactly), spread over more than denseReach links (a denser
// trigram is dense already).
func estimated(rarity int64) bool {
	return linksHolding(rarity) == probeDepth && reach(rarity) > denseReach
}

// probeWith runs query (oldestProbe or newestProbe) for tris[i] of which,
// and gives set each i with the rarity measured.
func (s *Store) probeWith(ctx context.Context, query string, tris []trigram, which []int, set func(i int, rarity int64)) error {
	texts := make([]string, len(which))
	for k, i := range which {
		texts[k] = ftsString(tris[i].text)
	}
	list, err := json.Marshal(texts)
	if err != nil {
		return err
	}
	rows, err := s.read.WithContext(ctx).Raw(query, string(list)).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k int
		var rarity int64
		if err := rows.Scan(&k, &rarity); err != nil {
			return err
		}
		set(which[k], rarity)
	}
	return rows.Err()
}
