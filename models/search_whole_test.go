package models

import (
	"context"
	"database/sql/driver"
	"etpay-dashboard/testdb"
	"fmt"
	"slices"
	"testing"
	"time"
	"unicode"

	"gorm.io/gorm"
)

// When a search's words are in many links, the index decides alone (whole
// words, no link read), and finds exactly what search_text finds: in any
// case, inside one column only, never a near miss; words with other than
// ASCII characters stay with search_text.
func TestWholeWordsFindWhatSearchTextFinds(t *testing.T) {
	testdb.SkipOnPostgres(t, "FTS5's whole-word queries; PostgreSQL searches through pg_trgm")
	s := listStore(t)
	ctx := context.Background()
	emails := []string{"ana@hotmail.com", "BETO@HotMail.COM", "carla@hotmail.co", "dani@gmail.com", "eva@outlook.cl"}
	want := map[string]int{}
	for i := range 120 {
		order, email := fmt.Sprintf("OC-%d", i), emails[i%len(emails)]
		description := "pedido de prueba"
		if i%7 == 0 {
			order = fmt.Sprintf("HOTMAIL-%d", i) // hotmail here, .com in the email: no match
			email = "x@y.com"
		}
		if i%11 == 0 {
			description = "Reenviado desde Hotmail.com" // in the description: a match
		}
		l, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: order, Amount: 1000, CustomerEmail: email, Description: description, Mode: "live"})
		if err != nil {
			t.Fatal(err)
		}
		mustSession(t, s, l, "ST-"+order)
		for _, q := range []string{"hotmail.com", "HOTMAIL.COM pedido", "hotmail"} {
			if v, _ := searchText(nil, append([]driver.Value{order, email, description}, toValues(searchWords(q))...)); v == int64(1) {
				want[q]++
			}
		}
	}
	for _, q := range []string{"hotmail.com", "HOTMAIL.COM pedido", "hotmail"} {
		sr := parseSearch(q, false)
		text, err := s.textQueries(ctx, sr.words)
		if err != nil || text.whole == "" || text.fts == "" {
			t.Fatalf("%s: %+v, %v; want the whole words looked up", q, text, err)
		}
		lf := LinkFilter{SessionFilter: SessionFilter{Q: q}, Now: time.Now()}
		byIndex, err := s.lookUp(ctx, linkLookup(lf, sr, text), false)
		if err != nil {
			t.Fatal(err)
		}
		byText, err := s.lookUp(ctx, linkLookup(lf, sr, textQueries{fts: text.fts}), false)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(byIndex.set.ids)
		slices.Sort(byText.set.ids)
		if len(byIndex.set.ids) != want[q] || !slices.Equal(byIndex.set.ids, byText.set.ids) {
			t.Errorf("%s: the index alone finds %v, search_text %v; want %d links", q, byIndex.set.ids, byText.set.ids, want[q])
		}
		sessions, err := s.CountSessions(ctx, SessionFilter{Q: q})
		if err != nil || sessions.Count != int64(want[q]) {
			t.Errorf("%s: %+v sessions, %v; want %d", q, sessions, err, want[q])
		}
	}
	// Rare words (one link) and words with an accent are decided by search_text.
	for _, words := range [][]string{{"oc-101"}, {"pedido", "prueba", "canción"}} {
		if text, err := s.textQueries(ctx, words); err != nil || text.whole != "" {
			t.Errorf("%q: %+v, %v; want no whole-words lookup", words, text, err)
		}
	}
}

func toValues(words []string) []driver.Value {
	out := make([]driver.Value, len(words))
	for i, w := range words {
		out[i] = w
	}
	return out
}

// The index may decide a search of ASCII words alone only if its tokenizer
// folds no character into ASCII that fold leaves out of it: for every
// character with another case, "<r>" is found as "<c>" (c ASCII, not an
// upper-case letter) only when fold(r) is c.
func TestIndexFoldsIntoASCIIAsFoldDoes(t *testing.T) {
	testdb.SkipOnPostgres(t, "FTS5's trigram tokenizer")
	s := openTestStore(t)
	db := s.write.WithContext(context.Background())
	if err := db.Exec("CREATE VIRTUAL TABLE fold_ascii USING fts5(x, tokenize='trigram')").Error; err != nil {
		t.Fatal(err)
	}
	cased := 0
	err := db.Transaction(func(tx *gorm.DB) error {
		for r := rune(0x80); r <= unicode.MaxRune; r++ {
			if unicode.SimpleFold(r) == r || !unicode.IsPrint(r) {
				continue
			}
			if err := tx.Exec("INSERT INTO fold_ascii (rowid, x) VALUES (?, ?)", r, "<"+string(r)+">").Error; err != nil {
				return err
			}
			cased++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cased < 2000 {
		t.Fatalf("only %d characters with another case", cased)
	}
	for c := rune(0x21); c < 0x7f; c++ {
		if 'A' <= c && c <= 'Z' {
			continue
		}
		var found []int64
		if err := db.Raw("SELECT rowid FROM fold_ascii WHERE fold_ascii MATCH ?", ftsString("<"+string(c)+">")).Scan(&found).Error; err != nil {
			t.Fatal(err)
		}
		for _, r := range found {
			if fold(string(rune(r))) != string(c) {
				t.Errorf("the index finds U+%04X %q as %q; fold makes it %q", r, rune(r), c, fold(string(rune(r))))
			}
		}
	}
}
