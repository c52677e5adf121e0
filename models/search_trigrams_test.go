package models

import (
	"context"
	"etpay-dashboard/testdb"
	"fmt"
	"slices"
	"testing"
)

func TestTrigrams(t *testing.T) {
	// dido's trigrams are all pedido's; ab has none.
	want := []trigram{{"ped", 0}, {"edi", 1}, {"did", 2}, {"ido", 3}}
	if got := trigrams([]string{"pedido", "dido", "ab"}); !slices.Equal(got, want) {
		t.Errorf("trigrams = %v, want %v", got, want)
	}
	// Characters, not bytes; a second word starts more than a trigram away.
	if got, want := trigrams([]string{"añoñ", "xyz"}), []trigram{{"año", 0}, {"ñoñ", 1}, {"xyz", 7}}; !slices.Equal(got, want) {
		t.Errorf("trigrams = %v, want %v", got, want)
	}
	if !(trigram{"abc", 0}).apart(trigram{"def", 3}) || (trigram{"abc", 0}).apart(trigram{"cde", 2}) {
		t.Error("apart: trigrams sharing a character are not apart; those that share none are")
	}
	list := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	if got, want := spread(list, 4), []string{"a", "d", "g", "j"}; !slices.Equal(got, want) {
		t.Errorf("spread = %q, want %q", got, want)
	}
	if got := spread(list[:3], 4); !slices.Equal(got, list[:3]) {
		t.Errorf("spread of a short list = %q", got)
	}
}

// The index is asked for a word's rarest trigrams only: with forty orders
// PED-0001…PED-0040, "ped-0001" is looked up by "001" (in eleven of them,
// rare already among the first three probed: ped, -00, 001), never by
// "ped" (in all); when all are common, by the two rarest together, and a
// third apart from both unless it is in nearly every link; a trigram in no
// link means nothing to look up.
func TestTextLookupAsksForTheRarestTrigrams(t *testing.T) {
	testdb.SkipOnPostgres(t, "probes FTS5's trigram index; PostgreSQL searches through pg_trgm")
	s := openTestStore(t)
	ctx := context.Background()
	for i := 1; i <= 40; i++ {
		mustLink(t, s, fmt.Sprintf("PED-%04d", i), "live")
	}
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"ped-0001"}, `"001"`},
		{[]string{"ped-00"}, `"ped" AND "-00"`}, // all four in every order: no third
		{[]string{"ped-00x1"}, ""},              // 0x1 is in no order
		{[]string{"ped-"}, `"ped" AND "ed-"`},
		{nil, ""},
	} {
		got, err := s.textLookup(ctx, tt.words)
		if err != nil || got != tt.want {
			t.Errorf("textLookup(%q) = %s, %v; want %s", tt.words, got, err, tt.want)
		}
	}
}

// MergeSearchIndex leaves links_fts in one segment, in step with links.
func TestMergeSearchIndex(t *testing.T) {
	testdb.SkipOnPostgres(t, "FTS5's segments")
	s := openTestStore(t)
	ctx := context.Background()
	for i := range 5 {
		mustLink(t, s, fmt.Sprintf("MERGE-%d", i), "live") // a segment each
	}
	segments := func() int64 {
		var n int64
		if err := s.read.Raw("SELECT count(DISTINCT segid) FROM links_fts_idx").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := segments(); n < 2 {
		t.Fatalf("%d segments before: the test proves nothing", n)
	}
	if err := s.MergeSearchIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if n := segments(); n != 1 {
		t.Errorf("%d segments after merging, want 1", n)
	}
	ftsIntegrity(t, s)
	if n, err := s.CountLinks(ctx, LinkFilter{SessionFilter: SessionFilter{Q: "merge-"}}); err != nil || n.Count != 5 {
		t.Errorf("after merging: %+v, %v", n, err)
	}
}

// The third trigram asked for shares no character with the first two, and
// is in less than a quarter of the links.
func TestTextLookupAddsAThirdTrigramApart(t *testing.T) {
	testdb.SkipOnPostgres(t, "probes FTS5's trigram index; PostgreSQL searches through pg_trgm")
	s := openTestStore(t)
	ctx := context.Background()
	for i := 1; i <= 200; i++ {
		order := fmt.Sprintf("ZZZ-%d", i)
		if i%5 == 0 {
			order = fmt.Sprintf("ABCDEFGHIJ-%d", i) // one link in five
		}
		mustLink(t, s, order, "live")
	}
	// All eight trigrams of abcdefghij are in the same 40 links: the first
	// and last probed, then efg (abc and hij share none of its letters).
	got, err := s.textLookup(ctx, []string{"abcdefghij"})
	if want := `"abc" AND "hij" AND "efg"`; err != nil || got != want {
		t.Errorf("textLookup = %s, %v; want %s", got, err, want)
	}
}

// textLookup is the FTS5 query that proposes the links that may hold words
// (textQueries.fts), for the tests that look at it alone.
func (s *Store) textLookup(ctx context.Context, words []string) (string, error) {
	q, err := s.textQueries(ctx, words)
	return q.fts, err
}
