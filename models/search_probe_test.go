package models

import (
	"context"
	"etpay-dashboard/testdb"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// probeTestLinks are links old..old+n-1 (ids, in a fresh store) with the
// order id, email and description each gives.
func probeTestLinks(old, n int, texts func(id int) (order, email, description string)) []DemoLink {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rows := make([]DemoLink, n)
	for i := range rows {
		id := old + i
		order, email, description := texts(id)
		created := at.Add(time.Duration(id) * time.Minute)
		rows[i] = DemoLink{
			Link: Link{Code: fmt.Sprintf("code%022d", id), MerchantOrderID: order, Amount: 1990, CustomerEmail: email,
				Description: description, Status: LinkOpen, Mode: "sandbox", CreatedAt: created, UpdatedAt: created},
			Session: Session{SessionToken: fmt.Sprintf("tok%061d", id), SignatureToken: "sig", Mode: "sandbox", Status: StatusPending,
				MerchantOrderID: order, Amount: 1990, CreatedAt: created, UpdatedAt: created},
		}
	}
	return rows
}

// The load script's case, small: 600 links in a row share a run of text
// (ZEBRA-WOLFRAM, their order ids), and "q7z" is in one old link's email in
// 60 and in ten of the 600. Probed from the oldest links alone (their
// distance counted from the first link), each trigram of zebra-wolfram had
// its 32nd link past the 3,000th, further than q7z's (~1,900): it looked
// the rarer, and the lookup asked for three of them, which propose all 600
// links. Two ways it hid:
//
//   - newest: the 600 are the newest links, and one old link in 90 holds
//     the text too (in its description), so that even counted from the
//     first link holding them, the 32 oldest are spread out: only probing
//     the newest links shows them dense;
//   - middle: no older link holds it, and 600 others came after: the newest
//     links hold none, but counted from the first link holding them, the
//     32 oldest are 32 links in a row.
//
// Either way the lookup asks for q7z first now, and finds the links that
// hold both words, old and new.
func TestProbeSeesTrigramsCommonInARunOfLinks(t *testing.T) {
	testdb.SkipOnPostgres(t, "FTS5's trigram probes; PostgreSQL searches through pg_trgm")
	for _, tt := range []struct {
		name          string
		oldHold, more bool
	}{{"newest", true, false}, {"middle", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t)
			ctx := context.Background()
			want := fillRunOfLinks(t, s, tt.oldHold, tt.more)
			words := []string{"zebra-wolfram", "q7z"}
			fts, err := s.textLookup(ctx, words)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(fts, `"q7z"`) {
				t.Errorf("textLookup(%q) = %s; want q7z first (in 70 links; every trigram of zebra-wolfram is in 600 or more)", words, fts)
			}
			var proposed int64
			if err := s.read.Raw("SELECT count(*) FROM links_fts WHERE links_fts MATCH ?", fts).Scan(&proposed).Error; err != nil {
				t.Fatal(err)
			}
			if proposed > 70 {
				t.Errorf("the lookup %s proposes %d links, want at most q7z's 70", fts, proposed)
			}
			found, err := s.CountLinks(ctx, LinkFilter{SessionFilter: SessionFilter{Q: "Zebra-Wolfram Q7Z"}})
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(found.set.ids)
			slices.Sort(got)
			if !slices.Equal(got, want) || found.Count != int64(len(want)) {
				t.Errorf("links found: %v (%d); want %v", got, found.Count, want)
			}
		})
	}
}

// fillRunOfLinks stores 3,000 old links, 600 ZEBRA-WOLFRAM-n (ten with q7z
// in their email), then, when more, 600 others; oldHold puts the text in
// one old link's description in 90. It returns the ids of the links
// holding both zebra-wolfram and q7z.
func fillRunOfLinks(t *testing.T, s *Store, oldHold, more bool) []uint {
	t.Helper()
	const old, run = 3000, 600
	var want []uint
	batches := [][]DemoLink{probeTestLinks(1, old, func(id int) (string, string, string) {
		email, description := fmt.Sprintf("cliente%d@correo.cl", id), "Pedido web"
		if id%60 == 0 {
			email = fmt.Sprintf("q7z.%d@correo.cl", id)
		}
		if oldHold && id%90 == 0 {
			description = "Zebra-Wolfram usado"
			if id%180 == 0 {
				want = append(want, uint(id))
			}
		}
		return fmt.Sprintf("OLD-%d", id), email, description
	}), probeTestLinks(old+1, run, func(id int) (string, string, string) {
		email := fmt.Sprintf("nuevo%d@correo.cl", id)
		if id%60 == 7 {
			email = fmt.Sprintf("q7z%d@correo.cl", id)
			want = append(want, uint(id))
		}
		return fmt.Sprintf("ZEBRA-WOLFRAM-%d", id), email, "Reserva"
	})}
	if more {
		batches = append(batches, probeTestLinks(old+run+1, run, func(id int) (string, string, string) {
			return fmt.Sprintf("LATER-%d", id), fmt.Sprintf("otro%d@correo.cl", id), "Factura"
		}))
	}
	for _, rows := range batches {
		if _, err := s.InsertDemo(context.Background(), rows); err != nil {
			t.Fatal(err)
		}
	}
	return want
}
