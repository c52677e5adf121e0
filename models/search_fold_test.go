package models

import (
	"context"
	"etpay-dashboard/testdb"
	"testing"
	"unicode"
)

// The trigram index proposes the links search_text decides on, so it must
// never miss one that search_text would take: for every character r that
// fold changes, the index must find "<r>" when asked for "<fold(r)>" (it
// folds both its own way).
func TestFoldAgreesWithTheIndex(t *testing.T) {
	testdb.SkipOnPostgres(t, "compares fold with FTS5's trigram tokenizer")
	s := openTestStore(t)
	db := s.write.WithContext(context.Background())
	if err := db.Exec("CREATE VIRTUAL TABLE fold_check USING fts5(x, tokenize='trigram')").Error; err != nil {
		t.Fatal(err)
	}
	var letters []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if fold(string(r)) != string(r) {
			letters = append(letters, r)
		}
	}
	const batch = 500
	for start := 0; start < len(letters); start += batch {
		end := min(start+batch, len(letters))
		if err := db.Exec("DELETE FROM fold_check").Error; err != nil {
			t.Fatal(err)
		}
		for i, r := range letters[start:end] {
			if err := db.Exec("INSERT INTO fold_check (rowid, x) VALUES (?, ?)", i+1, "<"+string(r)+">").Error; err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range letters[start:end] {
			var n int64
			q := ftsString("<" + fold(string(r)) + ">")
			if err := db.Raw("SELECT count(*) FROM fold_check WHERE fold_check MATCH ? AND rowid = ?", q, i+1).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("U+%04X %q: the index does not find it as %q", r, r, fold(string(r)))
			}
		}
	}
	if len(letters) < 1000 {
		t.Fatalf("only %d letters change when folded", len(letters))
	}
}
