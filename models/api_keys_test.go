package models

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAPIKeysAreStoredHashedAndRevokedForGood(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	k, key, err := s.CreateAPIKey(ctx, "Tienda web", APIScopeWrite, "live", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "etp_live_") || len(key) != len("etp_live_")+26 || !strings.HasPrefix(key, k.Prefix) || len(k.Prefix) != len("etp_live_")+6 {
		t.Errorf("key %q, prefix %q", key, k.Prefix)
	}
	if _, test, _ := s.CreateAPIKey(ctx, "Pruebas", APIScopeRead, "sandbox", nil); !strings.HasPrefix(test, "etp_test_") {
		t.Errorf("sandbox key %q", test)
	}
	var stored int64
	s.read.Raw("SELECT COUNT(*) FROM api_keys WHERE hash = ? AND hash <> ? AND instr(hash, ?) = 0", APIKeyHash(key), key, key[9:]).Scan(&stored)
	if stored != 1 {
		t.Error("the key is not stored as its hash alone")
	}
	found, err := s.APIKeyByKey(ctx, key)
	if err != nil || found.ID != k.ID || found.Revoked() {
		t.Fatalf("APIKeyByKey: %+v, %v", found, err)
	}
	if _, err := s.APIKeyByKey(ctx, key+"x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a wrong key: %v", err)
	}
	if _, _, err := s.CreateAPIKey(ctx, "", APIScopeWrite, "live", nil); err == nil {
		t.Error("a key without a name was made")
	}
	if err := s.RevokeAPIKey(ctx, k.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID, 1); !errors.Is(err, ErrAlreadyRevoked) {
		t.Errorf("revoking twice: %v", err)
	}
	if err := s.RevokeAPIKey(ctx, 999, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking a missing key: %v", err)
	}
	if found, _ := s.APIKeyByKey(ctx, key); !found.Revoked() {
		t.Error("the revoked key still looks live")
	}
}

func TestTouchAPIKeyWritesAtMostOnceAMinute(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	k, _, _ := s.CreateAPIKey(ctx, "ERP", APIScopeRead, "live", nil)
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for i, tt := range []struct {
		now, want time.Time
	}{
		{at, at},
		{at.Add(59 * time.Second), at},
		{at.Add(time.Minute + time.Second), at.Add(time.Minute + time.Second)},
	} {
		if err := s.TouchAPIKey(ctx, k.ID, tt.now); err != nil {
			t.Fatal(err)
		}
		got, _ := s.APIKeyByID(ctx, k.ID)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(tt.want) {
			t.Errorf("touch %d: last used %v, want %v", i, got.LastUsedAt, tt.want)
		}
	}
}

func TestCreateLinkOnceMakesOneLinkForManyCopies(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	now := time.Now()
	req := IdempotentRequest{APIKeyID: 1, Key: "k-1", RequestHash: "h-1", At: now}
	in := LinkInput{MerchantOrderID: "PED-1", Amount: 1000, Mode: "live"}
	answer := func(l *Link) (int, []byte, error) { return 201, []byte("link " + l.Code), nil }
	var wg sync.WaitGroup
	answers := make([]*IdempotentAnswer, 10)
	replays := make([]bool, 10)
	for i := range answers {
		wg.Go(func() {
			var err error
			if answers[i], replays[i], err = s.CreateLinkOnce(ctx, in, nil, req, answer); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	made := 0
	for i, a := range answers {
		if a == nil || string(a.Body) != string(answers[0].Body) || a.LinkID != answers[0].LinkID {
			t.Fatalf("answer %d: %+v, want %+v", i, a, answers[0])
		}
		if !replays[i] {
			made++
		}
	}
	if n, _ := s.CountLinks(ctx, LinkFilter{Now: now}); n.Count != 1 || made != 1 {
		t.Fatalf("%d links, %d made, want 1", n.Count, made)
	}
	other := req
	other.RequestHash = "h-2"
	if _, _, err := s.CreateLinkOnce(ctx, in, nil, other, answer); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Errorf("same key, other request: %v", err)
	}
	if a, err := s.IdempotentAnswerFor(ctx, other); !errors.Is(err, ErrIdempotencyMismatch) || a != nil {
		t.Errorf("IdempotentAnswerFor another request: %v %v", a, err)
	}
	// Another API key's same idempotency key is its own: here, a second
	// link for the order, which the order rule refuses.
	theirs := req
	theirs.APIKeyID = 2
	if _, _, err := s.CreateLinkOnce(ctx, in, nil, theirs, answer); !errors.Is(err, ErrOrderInUse) {
		t.Errorf("another API key's request: %v", err)
	}
	// Past IdempotencyKeep the key is forgotten, and its row with it.
	later := other
	later.At = now.Add(IdempotencyKeep + time.Minute)
	if a, err := s.IdempotentAnswerFor(ctx, later); a != nil || err != nil {
		t.Errorf("a day later: %v %v", a, err)
	}
	in.MerchantOrderID = "PED-2"
	if _, replayed, err := s.CreateLinkOnce(ctx, in, nil, later, answer); err != nil || replayed {
		t.Errorf("a day later, with another body: replayed %v, %v", replayed, err)
	}
	var rows int64
	s.read.Model(&IdempotencyKey{}).Count(&rows)
	if rows != 1 {
		t.Errorf("%d idempotency keys kept, want only the new one", rows)
	}
}
