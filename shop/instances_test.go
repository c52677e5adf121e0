package shop_test

import (
	"context"
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
	if !testdb.OnPostgres() {
		t.Skip("PostgreSQL only: on SQLite one instance serves the panel and saves the settings (set TEST_DATABASE_URL)")
	}
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
