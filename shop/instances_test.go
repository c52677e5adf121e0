package shop_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/shop"
	"etpay-dashboard/testdb"
)

// TestSettingsSavedOnAnotherInstance: settings saved on instance A are what
// instance B uses once its copy is a few seconds old.
func TestSettingsSavedOnAnotherInstance(t *testing.T) {
	testdb.RequirePostgres(t, "on SQLite one instance serves the panel and saves the settings")
	ctx := context.Background()
	url := testdb.URL(t, "shop.db")
	cfg, err := config.Load(nil, func(k string) string { return map[string]string{"BASE_URL": "https://pagos.tienda.cl"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	var shops [2]*shop.Shop
	for i := range shops {
		store, err := models.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		if shops[i], err = shop.Open(ctx, cfg, store); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	shop.SetClock(shops[1], func() time.Time { return now })
	shops[1].Load(ctx)
	if err := shops[0].Save(ctx, models.ShopSettings{MerchantName: "Tienda Ñuñoa", ReplyTo: "hola@tienda.cl"}); err != nil {
		t.Fatal(err)
	}
	if got := shops[1].Name(); got != "pagos.tienda.cl" {
		t.Fatalf("B's fresh copy: %q", got)
	}
	now = now.Add(5 * time.Second)
	if got, named, reply := shops[1].Name(), shops[1].Named(), shops[1].ReplyTo(); got != "Tienda Ñuñoa" || !named || reply != "hola@tienda.cl" {
		t.Errorf("B after 5 s: name %q, named %v, reply-to %q", got, named, reply)
	}
}

// A reload that fails (the database down, say) keeps the copy and is not
// tried again before the refresh interval has passed: pages do not each
// wait for the database here.
func TestFailedReloadWaitsItsTurn(t *testing.T) {
	testdb.RequirePostgres(t, "on SQLite the copy is never reloaded")
	ctx := context.Background()
	url := testdb.URL(t, "shop.db")
	cfg, err := config.Load(nil, func(k string) string { return map[string]string{"BASE_URL": "https://pagos.tienda.cl"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	store, err := models.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := shop.Open(ctx, cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	now := time.Now()
	shop.SetClock(s, func() time.Time { return now })
	s.Load(ctx)
	if _, err := raw.Exec("ALTER TABLE settings RENAME TO settings_gone"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Second)
	if got := s.Name(); got != "pagos.tienda.cl" {
		t.Fatalf("name while the reload fails: %q", got)
	}
	// The database is back, with a new name saved by another instance.
	if _, err := raw.Exec("ALTER TABLE settings_gone RENAME TO settings"); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("INSERT INTO settings (key, value) VALUES ('shop_merchant_name', 'Tienda Ñuñoa')"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if got := s.Name(); got != "pagos.tienda.cl" {
		t.Errorf("a second after the failed reload the copy was read again: %q", got)
	}
	now = now.Add(5 * time.Second)
	if got := s.Name(); got != "Tienda Ñuñoa" {
		t.Errorf("once the interval passed: %q", got)
	}
}
