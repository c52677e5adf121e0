package tlsserve

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/acme/autocert"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

// TestDBCache: the cache in the database answers a miss as autocert expects,
// keeps what is put (the latest put wins), shares it with another instance
// on the same database, and forgets what is deleted. On both engines.
func TestDBCache(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t, "certs.db")
	var caches [2]autocert.Cache
	for i := range caches {
		store, err := models.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		caches[i] = DBCache{Store: store}
	}
	a, b := caches[0], caches[1]
	if _, err := a.Get(ctx, "pagos.tienda.cl"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Fatalf("empty cache: %v, want ErrCacheMiss", err)
	}
	first, second := []byte("-----BEGIN EC PRIVATE KEY-----\x00\xff"), []byte("renewed")
	if err := a.Put(ctx, "pagos.tienda.cl", first); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "pagos.tienda.cl"); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("the other instance reads %q, %v; want %q", got, err, first)
	}
	if err := b.Put(ctx, "pagos.tienda.cl", second); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get(ctx, "pagos.tienda.cl"); err != nil || !bytes.Equal(got, second) {
		t.Fatalf("after a renewal elsewhere: %q, %v; want %q", got, err, second)
	}
	if err := a.Put(ctx, "acme_account+key", first); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "pagos.tienda.cl"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "never.stored"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := a.Get(ctx, "pagos.tienda.cl"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Fatalf("after delete: %v, want ErrCacheMiss", err)
	}
	if got, err := a.Get(ctx, "acme_account+key"); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("another key after the delete: %q, %v", got, err)
	}
}
