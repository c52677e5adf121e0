package models

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// demoTestRows are n demo links with sessions, their texts varied as the
// seed's are (accents, capitals, no email now and then).
func demoTestRows(n int) []DemoLink {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	products := []string{"Pedido web", "Suscripción mensual", "Curso ÑANDÚ online", "Entradas"}
	rows := make([]DemoLink, n)
	for i := range rows {
		order := fmt.Sprintf("DEMO-Tst%d-%d", i%7, i+1)
		email := fmt.Sprintf("Ana.Pérez%d@correo.cl", i%13)
		if i%9 == 0 {
			email = ""
		}
		created := at.Add(time.Duration(i) * time.Minute)
		rows[i] = DemoLink{
			Link: Link{Code: fmt.Sprintf("code%022d", i), MerchantOrderID: order, Amount: int64(1000 + i*10), CustomerEmail: email,
				Description: DemoPrefix + products[i%len(products)], Status: LinkOpen, Mode: "sandbox", CreatedAt: created, UpdatedAt: created},
			Session: Session{SessionToken: fmt.Sprintf("tok%061d", i), SignatureToken: "sig", Mode: "sandbox", Status: StatusPending,
				MerchantOrderID: order, Amount: int64(1000 + i*10), CreatedAt: created, UpdatedAt: created},
		}
	}
	return rows
}

// ftsPostings is every entry of links_fts: trigram, link, column, offset.
func ftsPostings(t *testing.T, s *Store) []string {
	t.Helper()
	if err := s.write.Exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.links_fts_postings USING fts5vocab(main, links_fts, instance)").Error; err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Term   string
		Doc    int64
		Col    string
		Offset int64
	}
	if err := s.write.Raw("SELECT term, doc, col, offset FROM temp.links_fts_postings ORDER BY term, doc, col, offset").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%s %d %s %d", r.Term, r.Doc, r.Col, r.Offset)
	}
	return out
}

// TestDemoBatchIndexesLikeTheTrigger: InsertDemo indexes a batch's links
// with one statement, its insert trigger dropped meanwhile. The index must
// come out holding exactly what inserting the same links one by one through
// the trigger gives, find the same links, and the trigger must be back.
func TestDemoBatchIndexesLikeTheTrigger(t *testing.T) {
	ctx := context.Background()
	bulk, single := openTestStore(t), openTestStore(t)
	rows := demoTestRows(300)
	for _, b := range [][]DemoLink{rows[:170], rows[170:]} {
		if _, err := bulk.InsertDemo(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for i := range rows {
		if err := single.write.Exec(insertSQL("links", linkColumns, 1), demoLinkValues(&rows[i].Link)...).Error; err != nil {
			t.Fatal(err)
		}
	}
	want := ftsPostings(t, single)
	if len(want) < 300*30 {
		t.Fatalf("only %d postings made one by one", len(want))
	}
	if got := ftsPostings(t, bulk); !reflect.DeepEqual(got, want) {
		t.Errorf("links_fts after demo batches: %d postings, one by one: %d", len(got), len(want))
	}
	if err := bulk.write.Exec("INSERT INTO links_fts (links_fts) VALUES ('integrity-check')").Error; err != nil {
		t.Errorf("integrity-check after demo batches: %v", err)
	}
	for _, q := range []string{`"tst3-1"`, `"pérez1"`, `"ñandú"`, `"suscripción"`, `"correo.cl" AND "web"`} {
		var got, want []int64
		for s, dst := range map[*Store]*[]int64{bulk: &got, single: &want} {
			if err := s.write.Raw("SELECT rowid FROM links_fts WHERE links_fts MATCH ? ORDER BY rowid", q).Scan(dst).Error; err != nil {
				t.Fatal(err)
			}
		}
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("MATCH %s: %d links after demo batches, %d one by one", q, len(got), len(want))
		}
	}
	var trigger string
	if err := bulk.write.Raw("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'links_fts_insert'").Scan(&trigger).Error; err != nil ||
		trigger != strings.Replace(ftsInsertTrigger(), "IF NOT EXISTS ", "", 1) {
		t.Errorf("links_fts_insert after demo batches: %q, %v", trigger, err)
	}
}
