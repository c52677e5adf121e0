package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCreateLinks(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	held := mustLink(t, s, "OC-1", "sandbox")
	batch := []BatchLink{
		{Line: 2, In: LinkInput{MerchantOrderID: "OC-1", Amount: 100, Mode: "sandbox"}},
		{Line: 3, In: LinkInput{MerchantOrderID: "OC-2", Amount: 200, Mode: "sandbox", CustomerEmail: "ana@correo.cl"}},
		{Line: 4, In: LinkInput{MerchantOrderID: "OC-3", Amount: 300, Mode: "sandbox"}},
	}
	if err := s.CreateLinks(ctx, batch, mailFor); err != nil {
		t.Fatal(err)
	}
	if batch[0].Link != nil || batch[0].InUse != held.ID {
		t.Errorf("order in use: link %v, in use by %d, want %d", batch[0].Link, batch[0].InUse, held.ID)
	}
	if batch[1].Link == nil || batch[2].Link == nil || batch[1].InUse != 0 {
		t.Fatalf("new orders not made: %+v", batch)
	}
	if n := countRows(t, s, &Link{}); n != 3 {
		t.Errorf("links = %d, want 3", n)
	}
	if mails, _ := s.LinkEmails(ctx, batch[1].Link.ID); len(mails) != 1 || mails[0].To != "ana@correo.cl" {
		t.Errorf("OC-2's email: %+v", mails)
	}
	if n := countOutbox(t, s); n != 1 {
		t.Errorf("emails = %d, want 1 (OC-3 has no address)", n)
	}

	// One transaction: a failure on the last link leaves none of the batch.
	failing := []BatchLink{
		{Line: 2, In: LinkInput{MerchantOrderID: "OC-4", Amount: 100, Mode: "sandbox", CustomerEmail: "a@correo.cl"}},
		{Line: 3, In: LinkInput{MerchantOrderID: "OC-5", Amount: 100, Mode: "sandbox", CustomerEmail: "b@correo.cl"}},
	}
	boom := errors.New("template broke")
	err := s.CreateLinks(ctx, failing, func(l *Link) (*OutboxMessage, error) {
		if l.MerchantOrderID == "OC-5" {
			return nil, boom
		}
		return mailFor(l)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if n := countRows(t, s, &Link{}); n != 3 {
		t.Errorf("links after a failed batch = %d, want still 3", n)
	}
}

func TestLinkImportLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := time.Now()
	rows := []ImportRow{{Line: 2, MerchantOrderID: "OC-1", Amount: "100"}, {Line: 3, MerchantOrderID: "OC 2", Amount: "x"}}
	imp := &LinkImport{UserID: 7, FileName: "pedidos.csv", Mode: "sandbox"}
	if err := s.SaveLinkImport(ctx, imp, rows, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LinkImportFor(ctx, imp.ID, 8, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("another user's import: %v, want ErrNotFound", err)
	}
	if _, _, err := s.LinkImportFor(ctx, imp.ID, 7, now.Add(ImportPendingFor)); !errors.Is(err, ErrNotFound) {
		t.Errorf("an hour later: %v, want ErrNotFound", err)
	}
	got, stored, err := s.LinkImportFor(ctx, imp.ID, 7, now)
	if err != nil || got.Status != ImportPending || len(stored) != 2 || stored[1].MerchantOrderID != "OC 2" {
		t.Fatalf("import %+v rows %+v (%v)", got, stored, err)
	}
	batch := []BatchLink{{Line: 2, In: LinkInput{MerchantOrderID: "OC-1", Amount: 100, Mode: "sandbox"}}}
	if err := s.ConfirmLinkImport(ctx, got, stored, batch, nil, now); err != nil {
		t.Fatal(err)
	}
	again := []BatchLink{{Line: 2, In: LinkInput{MerchantOrderID: "OC-1", Amount: 100, Mode: "sandbox"}}}
	if err := s.ConfirmLinkImport(ctx, got, stored, again, nil, now); !errors.Is(err, ErrImportDone) {
		t.Errorf("second confirmation: %v, want ErrImportDone", err)
	}
	if n := countRows(t, s, &Link{}); n != 1 {
		t.Errorf("links = %d, want 1", n)
	}
	// The result stays a day, with each row's outcome.
	done, result, err := s.LinkImportFor(ctx, imp.ID, 7, now.Add(23*time.Hour))
	if err != nil || done.Status != ImportDone || result[0].LinkID != batch[0].Link.ID || result[0].Code == "" || result[1].LinkID != 0 {
		t.Fatalf("result %+v rows %+v (%v)", done, result, err)
	}
	// A later upload sweeps expired imports away.
	if err := s.SaveLinkImport(ctx, &LinkImport{UserID: 7, Mode: "sandbox"}, rows, now.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, &LinkImport{}); n != 1 {
		t.Errorf("imports = %d, want 1 (the expired one deleted)", n)
	}
}

func TestOrdersInUse(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	open := mustLink(t, s, "OC-OPEN", "sandbox")
	paid := mustLink(t, s, "OC-PAID", "sandbox")
	setLinkStatus(t, s, paid.ID, LinkPaid)
	cancelled := mustLink(t, s, "OC-CANCELLED", "sandbox")
	setLinkStatus(t, s, cancelled.ID, LinkCancelled)
	expired := mustLink(t, s, "OC-EXPIRED", "sandbox")
	past := time.Now().Add(-time.Hour)
	if err := s.SetLinkExpiry(ctx, expired.ID, &past); err != nil {
		t.Fatal(err)
	}
	mustLink(t, s, "OC-LIVE", "live")
	got, err := s.OrdersInUse(ctx, "sandbox", []string{"OC-OPEN", "oc-open", "OC-PAID", "OC-CANCELLED", "OC-EXPIRED", "OC-LIVE", "OC-NEW"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["OC-OPEN"] != open.ID || got["OC-PAID"] != paid.ID {
		t.Errorf("in use: %v, want OC-OPEN %d and OC-PAID %d", got, open.ID, paid.ID)
	}
}

// Links made in bulk tell the shop, each in the batch's own transaction:
// one link.created per link made, none for a row refused.
func TestCreateLinksQueuesLinkCreated(t *testing.T) {
	ctx := context.Background()
	s := openHookStore(t)
	mustLink(t, s, "OC-1", "sandbox")
	mustEndpoint(t, s, "https://shop.example/created", EventLinkCreated)
	batch := []BatchLink{
		{Line: 2, In: LinkInput{MerchantOrderID: "OC-1", Amount: 100, Mode: "sandbox"}},
		{Line: 3, In: LinkInput{MerchantOrderID: "OC-2", Amount: 200, Mode: "sandbox"}},
		{Line: 4, In: LinkInput{MerchantOrderID: "OC-3", Amount: 300, Mode: "sandbox"}},
	}
	imp := &LinkImport{UserID: 1, Mode: "sandbox"}
	rows := []ImportRow{{Line: 2}, {Line: 3}, {Line: 4}}
	if err := s.SaveLinkImport(ctx, imp, rows, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmLinkImport(ctx, imp, rows, batch, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := queuedEvents(t, s)
	if len(got) != 2 || *got[0].LinkID != batch[1].Link.ID || *got[1].LinkID != batch[2].Link.ID || got[0].Type != EventLinkCreated {
		t.Fatalf("queued %+v", got)
	}
	if b := decode(t, got[1].Body); b.Data.Link == nil || b.Data.Link.MerchantOrderID != "OC-3" {
		t.Errorf("body %s", got[1].Body)
	}
}
