package shop_test

import (
	"context"
	"etpay-dashboard/testdb"
	"testing"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/shop"
)

func TestNameAndReplyTo(t *testing.T) {
	ctx := context.Background()
	store, err := models.Open(ctx, testdb.URL(t, "shop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	load := func(env map[string]string) *shop.Shop {
		t.Helper()
		env["BASE_URL"] = "https://pagos.tienda.cl"
		cfg, err := config.Load(nil, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		s := shop.New(cfg, store)
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}

	s := load(map[string]string{})
	if s.Name() != "pagos.tienda.cl" || s.Named() || s.ReplyTo() != "" {
		t.Errorf("nothing saved: name %q, named %v, reply-to %q", s.Name(), s.Named(), s.ReplyTo())
	}
	if err := s.Save(ctx, models.ShopSettings{MerchantName: "Tienda Ñuñoa", ReplyTo: "hola@tienda.cl"}); err != nil {
		t.Fatal(err)
	}
	if s.Name() != "Tienda Ñuñoa" || !s.Named() || s.ReplyTo() != "hola@tienda.cl" {
		t.Errorf("after saving: name %q, named %v, reply-to %q", s.Name(), s.Named(), s.ReplyTo())
	}
	if again := load(map[string]string{}); again.Name() != "Tienda Ñuñoa" || again.ReplyTo() != "hola@tienda.cl" {
		t.Errorf("another process reads %q %q", again.Name(), again.ReplyTo())
	}
	fixed := load(map[string]string{"MERCHANT_NAME": "Tienda Oficial"})
	if fixed.Name() != "Tienda Oficial" || !fixed.NameFixed() || fixed.ReplyTo() != "hola@tienda.cl" {
		t.Errorf("with MERCHANT_NAME: name %q, fixed %v, reply-to %q", fixed.Name(), fixed.NameFixed(), fixed.ReplyTo())
	}
}
