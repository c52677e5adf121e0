package linkimport

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/models"
)

// thousandRows is a CSV of 1,000 good rows, each with an email.
func thousandRows(prefix string) []byte {
	var b strings.Builder
	b.WriteString("merchant_order_id;order_amount;customer_email;description\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "%s-%05d;$%d.990;cliente%d@correo.cl;Pedido número %d\n", prefix, i, 10+i%90, i, i)
	}
	return []byte(b.String())
}

func benchStore(b *testing.B) (*config.Config, *models.Store) {
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"DATABASE_URL": filepath.Join(b.TempDir(), "bench.db")}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	store, err := models.Open(context.Background(), cfg.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return cfg, store
}

// BenchmarkImportThousand is a whole import of 1,000 rows with their emails:
// parse, check, and make the links and queue the emails in one transaction.
func BenchmarkImportThousand(b *testing.B) {
	cfg, store := benchStore(b)
	maker := &Maker{Store: store, Config: cfg, Shop: emails.FixedName("Tienda"), SendEmail: true}
	for i := 0; b.Loop(); i++ {
		rows, err := Parse(thousandRows(fmt.Sprintf("B%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := maker.Make(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertThousand is the reference: the same 1,000 links inserted in
// one transaction (the order-in-use check and the insert of each), without
// parsing, checking or emails.
func BenchmarkInsertThousand(b *testing.B) {
	_, store := benchStore(b)
	for i := 0; b.Loop(); i++ {
		batch := make([]models.BatchLink, 1000)
		for j := range batch {
			batch[j].In = models.LinkInput{MerchantOrderID: fmt.Sprintf("R%d-%05d", i, j), Amount: 12990,
				CustomerEmail: fmt.Sprintf("cliente%d@correo.cl", j), Description: fmt.Sprintf("Pedido número %d", j), Mode: "sandbox"}
		}
		if err := store.CreateLinks(context.Background(), batch, nil); err != nil {
			b.Fatal(err)
		}
	}
}
