package handlers_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"etpay-dashboard/live"
	"etpay-dashboard/models"
)

// A relay that could not send an event to the database tells the open
// live tables to resync: the stream carries a resync event, not a row.
func TestLiveStreamsResyncWhenTheRelayLosesEvents(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // no database answers there
	relay, err := live.NewRelay("postgres://etpay@"+addr+"/etpay?sslmode=disable", live.RelayOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h := newHarness(t, withBroker(relay.Broker()))
	b := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	events, _ := b.openStream(t, "")
	relay.Broker().PublishSession(models.Session{ID: 1, MerchantOrderID: "OC-1", Status: models.StatusPending})
	if ev := next(t, events); ev.name != "resync" || ev.data != "{}" || ev.id != "" {
		t.Fatalf("got %+v, want a resync", ev)
	}
}
