package models

import (
	"context"
	"etpay-dashboard/testdb"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// searchRow is one link with one session, as a shop would have them.
type searchRow struct {
	order, email, description string
	amount                    int64
}

// searchRows are what a merchant searches among: orders that share starts
// and digits, emails in any case, descriptions with accents, and an amount
// (2002) that is also part of order ids.
var searchRows = []searchRow{
	{"PED-2001", "camila.rojas@gmail.com", "Zapatillas rojas talla 42", 12990},
	{"PED-2002", "bruno@empresa.cl", "Suscripción mensual", 5000},
	{"ped-20021", "ana@GMAIL.COM", "Polera azul", 12990},
	{"OC-777", "dani@hotmail.com", "Zapatos de FÚTBOL", 2002},
	{"X-1", "", "Reserva", 990},
}

// searchStore holds searchRows, made through the Store as the panel makes
// them, each with a session "ST-<order>" paid with payment token "PT-<order>".
func searchStore(t *testing.T) *Store {
	t.Helper()
	s := listStore(t)
	ctx := context.Background()
	for _, r := range searchRows {
		l, err := s.CreateLink(ctx, LinkInput{MerchantOrderID: r.order, Amount: r.amount, CustomerEmail: r.email, Description: r.description, Mode: "live"})
		if err != nil {
			t.Fatal(err)
		}
		sess := mustSession(t, s, l, "ST-"+r.order)
		if err := s.write.Model(sess).Updates(map[string]any{"payment_token": "PT-" + r.order}).Error; err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// searchCases are the searches people type, with the orders each must find.
var searchCases = []struct {
	name, q string
	viewer  bool
	want    []string // in any order
}{
	{"order id start", "PED-20", false, []string{"PED-2001", "PED-2002", "ped-20021"}},
	{"order id, other case", "ped-2002", false, []string{"PED-2002", "ped-20021"}},
	{"digits inside order ids, and the amount they spell", "2002", false, []string{"PED-2002", "ped-20021", "OC-777"}},
	{"email domain", "gmail.com", false, []string{"PED-2001", "ped-20021"}},
	{"email part in capitals", "GMAIL", false, []string{"PED-2001", "ped-20021"}},
	{"amount with dot", "12.990", false, []string{"PED-2001", "ped-20021"}},
	{"amount with $", "$12.990", false, []string{"PED-2001", "ped-20021"}},
	{"amount in digits", "12990", false, []string{"PED-2001", "ped-20021"}},
	{"a word of the description", "zapatillas", false, []string{"PED-2001"}},
	{"words in another order and case", "ROJAS Zapatillas", false, []string{"PED-2001"}},
	{"a word found in the email and the description", "rojas", false, []string{"PED-2001"}},
	{"accents, in capitals", "SUSCRIPCIÓN", false, []string{"PED-2002"}},
	{"accented capitals, in lower case", "fútbol", false, []string{"OC-777"}},
	{"short words are left out", "zapatillas 42 rojas", false, []string{"PED-2001"}},
	{"two letters: start of an order id", "pe", false, []string{"PED-2001", "PED-2002", "ped-20021"}},
	{"two letters: start of an email", "CA", false, []string{"PED-2001"}},
	{"two letters are not matched inside", "il", false, nil},
	{"two digits: no order starts so", "20", false, nil},
	{"payment_token", "PT-OC-777", false, []string{"OC-777"}},
	{"session_token", "ST-X-1", false, []string{"X-1"}},
	{"nothing", "nadie", false, nil},
	{"FTS syntax is plain text", `ped" OR "oc`, false, nil},
	{"operators are plain text", "NEAR(ped oc)", false, nil},
	{"a star is no wildcard", "ped*", false, nil},
	{"an underscore is no wildcard", "ped_200", false, nil},
	{"a percent sign is no wildcard", "ped%2001", false, nil},
	{"a backslash is a backslash", `ped\-2001`, false, nil},
	{"quotes are data, not SQL", "' OR 1=1 --", false, nil},
	{"viewer: exact order id", "PED-2001", true, []string{"PED-2001"}},
	{"viewer: order ids match exactly", "ped-2001", true, nil},
	{"viewer: no part of an email", "gmail.com", true, nil},
	{"viewer: no email start", "ca", true, nil},
	{"viewer: exact payment_token", "PT-PED-2002", true, []string{"PED-2002"}},
	{"viewer: no amounts", "12990", true, nil},
}

// TestSearchLikeAPerson runs every search on both lists, their counts and the
// export, each page read both ways (looked up, and walked as a broad search).
func TestSearchLikeAPerson(t *testing.T) {
	s := searchStore(t)
	ctx := context.Background()
	now := time.Now()
	for _, tc := range searchCases {
		t.Run(tc.name, func(t *testing.T) {
			want := slices.Sorted(slices.Values(tc.want))
			f := SessionFilter{Q: tc.q, ExactOnly: tc.viewer}
			for _, matches := range []int64{0, BroadSearch + 1} {
				rows, err := s.ListSessions(ctx, SessionPage{SessionFilter: f, Limit: 50, Matches: matches})
				if err != nil {
					t.Fatal(err)
				}
				if got := slices.Sorted(slices.Values(orders(rows))); !slices.Equal(got, want) {
					t.Errorf("sessions (matches %d): %v, want %v", matches, got, want)
				}
				links, err := s.ListLinks(ctx, LinkPage{LinkFilter: LinkFilter{SessionFilter: f, Now: now}, Limit: 50, Matches: matches})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, l := range links {
					got = append(got, l.MerchantOrderID)
				}
				if slices.Sort(got); !slices.Equal(got, want) {
					t.Errorf("links (matches %d): %v, want %v", matches, got, want)
				}
			}
			totals, err := s.CountSessions(ctx, f)
			if err != nil || totals.Count != int64(len(want)) {
				t.Errorf("CountSessions = %+v, %v; want %d", totals, err, len(want))
			}
			n, err := s.CountLinks(ctx, LinkFilter{SessionFilter: f, Now: now})
			if err != nil || n.Count != int64(len(want)) || n.More {
				t.Errorf("CountLinks = %+v, %v; want %d", n, err, len(want))
			}
			var exported []string
			err = s.EachSession(ctx, f, func(r *SessionExport) error {
				exported = append(exported, r.MerchantOrderID)
				return nil
			})
			if slices.Sort(exported); err != nil || !slices.Equal(exported, want) {
				t.Errorf("export: %v, %v; want %v", exported, err, want)
			}
		})
	}
}

func TestSearchWords(t *testing.T) {
	for q, want := range map[string][]string{
		"gmail.com":           {"gmail.com"},
		"zapatillas rojas":    {"zapatillas", "rojas"},
		"zapatillas 42 rojas": {"zapatillas", "rojas"},
		"SUSCRIPCIÓN Mensual": {"suscripción", "mensual"},
		"a b":                 {"a b"},
		`say "hi" there`:      {"say", `"hi"`, "there"},
		"NEAR(a b)":           {"near(a"},
	} {
		if got := searchWords(q); !slices.Equal(got, want) {
			t.Errorf("searchWords(%q) = %q, want %q", q, got, want)
		}
	}
	if sr := parseSearch("ab", false); sr.words != nil || sr.lo != "ab" {
		t.Errorf("two letters: %+v, want a prefix and no words", sr)
	}
	if sr := parseSearch("Ab", true); !sr.exactOnly() || sr.exact != "Ab" {
		t.Errorf("viewer: %+v, want exact only", sr)
	}
	if sr := parseSearch("$1.500", false); sr.amount != 1500 {
		t.Errorf("amount: %+v", sr)
	}
	if got := ftsString(`a"b`); got != `"a""b"` {
		t.Errorf("ftsString = %s", got)
	}
}

// ftsState is the index's stored form: its segments and config.
func ftsState(t *testing.T, s *Store) string {
	t.Helper()
	var rows []struct {
		ID    int64
		Block []byte
	}
	if err := s.read.Raw("SELECT id, block FROM links_fts_data ORDER BY id").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, r := range rows {
		sb.WriteString(string(rune(r.ID)))
		sb.Write(r.Block)
	}
	return sb.String()
}

func ftsIntegrity(t *testing.T, s *Store) {
	t.Helper()
	if err := s.write.Exec("INSERT INTO links_fts (links_fts, rank) VALUES ('integrity-check', 1)").Error; err != nil {
		t.Fatalf("links_fts is out of step with links: %v", err)
	}
}

// The index follows links made, deleted and (should it ever happen)
// edited, and nothing else: paying, opening or cancelling a link, and
// recording notifications, leave it as it is.
func TestSearchIndexKeptInStep(t *testing.T) {
	testdb.SkipOnPostgres(t, "links_fts, FTS5's index, and its triggers")
	s := searchStore(t)
	ctx := context.Background()
	ftsIntegrity(t, s)
	before := ftsState(t, s)

	links, err := s.ListLinks(ctx, LinkPage{LinkFilter: LinkFilter{SessionFilter: SessionFilter{Q: "PED-2001"}, Now: time.Now()}, Limit: 5})
	if err != nil || len(links) != 1 {
		t.Fatalf("PED-2001: %v, %v", links, err)
	}
	l := &links[0].Link
	sess, err := s.SessionsForLink(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkLinkOpened(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	recordSuccess(t, s, &sess[0])
	other := mustLink(t, s, "OTRA-1", "live")
	after := ftsState(t, s)
	if err := s.CancelLink(ctx, other.ID, 0); err != nil {
		t.Fatal(err)
	}
	if ftsState(t, s) != after {
		t.Error("cancelling a link rewrote the search index")
	}
	if got, _ := s.LinkByID(ctx, l.ID); got.Status != LinkPaid {
		t.Fatalf("the link was not paid: %s", got.Status)
	}
	if after == before {
		t.Fatal("making a link left the search index as it was")
	}
	ftsIntegrity(t, s)

	// Deleting and editing (neither is a product feature) keep it right too.
	if err := s.write.Exec("UPDATE links SET description = 'Camisa' WHERE id = ?", other.ID).Error; err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountLinks(ctx, LinkFilter{SessionFilter: SessionFilter{Q: "camisa"}, Now: time.Now()}); n.Count != 1 {
		t.Errorf("an edited description is found %d times", n.Count)
	}
	if err := s.write.Exec("DELETE FROM links WHERE id = ?", other.ID).Error; err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountLinks(ctx, LinkFilter{SessionFilter: SessionFilter{Q: "otra"}, Now: time.Now()}); n.Count != 0 {
		t.Errorf("a deleted link is still found")
	}
	ftsIntegrity(t, s)
}

// recordSuccess pays sess through the notification writer, as ETpay would,
// and checks that the payment was recorded without touching links_fts.
func recordSuccess(t *testing.T, s *Store, sess *Session) {
	t.Helper()
	before := ftsState(t, s)
	in := NotificationInput{ReceivedAt: time.Now(), Source: "webhook", Body: []byte(`{"payment":"` + sess.SessionToken + `"}`), Verified: true,
		SessionToken: sess.SessionToken, MerchantOrderID: sess.MerchantOrderID, PaymentToken: "PT-new", PaymentStatus: "success", Paid: true}
	if _, err := s.RecordNotification(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if ftsState(t, s) != before {
		t.Error("recording a notification rewrote the search index")
	}
}

// A database made before the search index gets it filled at the migration
// that adds it, from the links it already holds.
func TestSearchIndexFilledAtMigration(t *testing.T) {
	testdb.SkipOnPostgres(t, "links_fts, FTS5's index, made at the migration to schema v3")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mustLink(t, s, "VIEJA-1", "live")
	for _, stmt := range []string{"DROP TRIGGER links_fts_insert", "DROP TRIGGER links_fts_delete", "DROP TRIGGER links_fts_update", "DROP TABLE links_fts"} {
		if err := s.write.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	mustLink(t, s, "VIEJA-2", "live") // made by the old version, with no index to keep
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.CountLinks(ctx, LinkFilter{SessionFilter: SessionFilter{Q: "vieja"}, Now: time.Now()})
	if err != nil || n.Count != 2 {
		t.Fatalf("links found after the migration: %d, %v", n.Count, err)
	}
	ftsIntegrity(t, s)
	mustLink(t, s, "VIEJA-3", "live")
	if n, _ := s.CountLinks(ctx, LinkFilter{SessionFilter: SessionFilter{Q: "vieja"}, Now: time.Now()}); n.Count != 3 {
		t.Fatalf("a link made after the migration is not found: %d", n.Count)
	}
}
