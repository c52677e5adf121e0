package live

import (
	"testing"
	"time"

	"etpay-dashboard/models"
)

// Two shops in two schemas of one database, on the same channel name (the
// default, in production): a channel is the database's, not the schema's,
// so without a channel per schema one shop's live table would show the
// other's sessions, under ids from another sequence.
func TestSchemasOfOneDatabaseDoNotShareEvents(t *testing.T) {
	t.Parallel()
	url1, opts := testOptions(t)
	url2, _ := testOptions(t)
	shop1, shop2 := startRelay(t, url1, opts), startRelay(t, url2, opts)
	on1, _, _ := shop1.Broker().Subscribe("x", "", nil)
	on2, _, _ := shop2.Broker().Subscribe("y", "", nil)
	shop1.Broker().PublishSession(models.Session{ID: 1, MerchantOrderID: "SHOP1-1", Status: models.StatusPaid})
	if ev := nextEvent(t, on1, 5*time.Second); ev.Session.MerchantOrderID != "SHOP1-1" {
		t.Fatalf("shop 1 got %+v, want its own session", ev)
	}
	// Shop 1's notification is committed and delivered: had it gone to
	// shop 2's listener too, it would arrive there before shop 2's own.
	shop2.Broker().PublishSession(models.Session{ID: 1, MerchantOrderID: "SHOP2-1", Status: models.StatusPaid})
	if ev := nextEvent(t, on2, 5*time.Second); ev.Session.MerchantOrderID != "SHOP2-1" {
		t.Fatalf("shop 2's live table got %+v, want only its own session SHOP2-1", ev.Session)
	}
}
