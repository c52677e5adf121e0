package models

import (
	"context"
	"etpay-dashboard/testdb"
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
	testdb.SkipOnPostgres(t, "links_fts, FTS5's index, filled by demo batches")
	ctx := context.Background()
	bulk, single := openTestStore(t), openTestStore(t)
	rows := demoTestRows(300)
	for _, b := range [][]DemoLink{rows[:170], rows[170:]} {
		if _, err := bulk.InsertDemo(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for i := range rows {
		rows[i].Link.ID = uint(i + 1)
		values := demoLinkValues(&rows[i].Link)
		if err := single.write.Exec("INSERT INTO links ("+strings.Join(linkColumns, ",")+") VALUES ("+placeholders(len(values))+")", values...).Error; err != nil {
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
		trigger != strings.Replace(linksFTSInsertTrigger, "IF NOT EXISTS ", "", 1) {
		t.Errorf("links_fts_insert after demo batches: %q, %v", trigger, err)
	}
}

// TestDemoRowsStoreWhatGORMStores: InsertDemo writes the rows' values into
// its statements as SQL literals. Every column must hold exactly what
// GORM, binding the same values, stores (quote() shows type and value):
// quotes, question marks and other SQL in text, accents, times to the
// nanosecond, NULLs, booleans.
func TestDemoRowsStoreWhatGORMStores(t *testing.T) {
	testdb.SkipOnPostgres(t, "compares SQLite's stored values with quote()")
	ctx := context.Background()
	demo, plain := openTestStore(t), openTestStore(t)
	at := time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.UTC)
	later, whole := at.Add(90*time.Minute+7), at.Truncate(time.Second)
	tricky := "O'Higgins ''; DROP TABLE links; -- ? ?1 $x \\ \" \n\t\x01 ñandú 🦙"
	row := DemoLink{
		Link: Link{ID: 1, Code: "code'?", MerchantOrderID: "OC-'1", Amount: 12990, CustomerEmail: "o'brien@correo.cl", Description: DemoPrefix + tricky,
			Status: LinkPaid, Mode: "sandbox", ReviewReason: "revisar '?'", ExpiresAt: &later, OpenedAt: &whole, LastOpenedAt: &later,
			CreatedAt: at, UpdatedAt: later, PaidAt: &later},
		Session: Session{ID: 1, LinkID: 1, SessionToken: "tok'", SignatureToken: "sig", Mode: "sandbox", Status: StatusPaid, MerchantOrderID: "OC-'1",
			Amount: 12990, PaymentStatus: "success", PaymentToken: "pay", Conflict: true, LastNotificationAt: &later, LastNotificationNote: tricky,
			CreatedAt: whole, UpdatedAt: later, PaidAt: &later},
		Notifications: []Notification{{ID: 1, ReceivedAt: later, LastReceivedAt: later, Count: 2, RemoteAddr: "203.0.113.9", Source: "webhook",
			Body: `{"payment":"a'b"}` + tricky, BodyHash: "h", Verdict: VerdictVerified, Reason: tricky, Effect: EffectPaid, SessionToken: "tok'",
			MerchantOrderID: "OC-'1", PaymentToken: "pay", PaymentStatus: "success", Claims: `{"x":"'"}`}},
	}
	want := row
	want.Notifications = append([]Notification(nil), row.Notifications...)
	want.Notifications[0].SessionID = &want.Session.ID
	for _, v := range []any{&want.Link, &want.Session, &want.Notifications[0]} {
		if err := plain.write.Create(v).Error; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := demo.InsertDemo(ctx, []DemoLink{row}); err != nil {
		t.Fatal(err)
	}
	for table, columns := range map[string][]string{"links": linkColumns, "sessions": demoSessionColumns, "notifications": notificationColumns} {
		for _, c := range columns {
			var got, want string
			q := "SELECT quote(" + c + ") FROM " + table
			if err := demo.write.Raw(q).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if err := plain.write.Raw(q).Scan(&want).Error; err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s.%s = %s, GORM stores %s", table, c, got, want)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(row.Link.ID, row.Session.ID, *row.Notifications[0].SessionID), "1 1 1") {
		t.Errorf("ids given: link %d, session %d, notification's session %v", row.Link.ID, row.Session.ID, row.Notifications[0].SessionID)
	}
	row.Link.Description = "a\x00b"
	if _, err := demo.InsertDemo(ctx, []DemoLink{row}); err == nil {
		t.Error("a NUL byte in demo text was accepted")
	}
}

// TestDemoBatchWithTakenIDs: a batch written out expecting ids that another
// writer took before it got the lock is written again with the right ones.
func TestDemoBatchWithTakenIDs(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	rows := demoTestRows(4)
	for i := range rows {
		rows[i].Notifications = []Notification{{ReceivedAt: rows[i].Link.CreatedAt, LastReceivedAt: rows[i].Link.CreatedAt, Count: 1, Source: "webhook",
			Body: "{}", BodyHash: fmt.Sprint(i), Verdict: VerdictVerified, SessionToken: rows[i].Session.SessionToken}}
	}
	next, err := s.NextDemoIDs(ctx)
	if err != nil || next != (DemoIDs{1, 1, 1}) {
		t.Fatalf("next ids in an empty database: %+v, %v", next, err)
	}
	b, err := PrepareDemo(rows[1:], next)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertDemo(ctx, rows[:1]); err != nil { // the other writer
		t.Fatal(err)
	}
	r, err := s.InsertDemoBatch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := (DemoRange{Links: [2]uint{2, 4}, Sessions: [2]uint{2, 4}, Notifications: [2]uint{2, 4}}); r != want {
		t.Errorf("ids %+v, want %+v", r, want)
	}
	var wrong int64
	if err := s.write.Raw("SELECT COUNT(*) FROM sessions AS s JOIN links AS l ON l.id = s.link_id JOIN notifications AS n ON n.session_id = s.id " +
		"WHERE l.merchant_order_id <> s.merchant_order_id OR n.session_token <> s.session_token").Scan(&wrong).Error; err != nil || wrong != 0 {
		t.Errorf("%d rows joined to another row's, %v", wrong, err)
	}
	if problems, err := s.ForeignKeyProblems(ctx); err != nil || problems != 0 {
		t.Errorf("foreign_key_check: %d problems, %v", problems, err)
	}
	if rows[3].Session.ID != 4 || rows[3].Session.LinkID != 4 || *rows[3].Notifications[0].SessionID != 4 {
		t.Errorf("ids given to the last row: %+v", rows[3].Session)
	}
}
