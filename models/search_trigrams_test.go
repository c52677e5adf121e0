package models

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

func TestTrigrams(t *testing.T) {
	if got, want := trigrams([]string{"pedido", "dido", "ab"}), []string{"ped", "edi", "did", "ido"}; !slices.Equal(got, want) {
		t.Errorf("trigrams = %q, want %q", got, want)
	}
	if got, want := trigrams([]string{"añoñ"}), []string{"año", "ñoñ"}; !slices.Equal(got, want) {
		t.Errorf("trigrams count characters, not bytes: %q, want %q", got, want)
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
// "ped" (in all); when all are common, by the two rarest together; a
// trigram in no link means nothing to look up.
func TestTextLookupAsksForTheRarestTrigrams(t *testing.T) {
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
		{[]string{"ped-00"}, `"ped" AND "-00"`}, // all four in every order: the first two probed
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
