package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/models"
)

func TestAPIIdempotentCreationUnderTenConcurrentCopies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := h.api(h.apiKey("Tienda web", models.APIScopeWrite))
	body := linkBody("merchant_order_id", "PED-7001", "order_amount", 25990, "customer_email", "ana@cliente.cl", "send_email", true)
	answers := make([]apiResponse, 10)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		wg.Go(func() {
			<-start
			answers[i] = api.call(http.MethodPost, "/api/v1/links", body, "Idempotency-Key", "pedido-7001")
		})
	}
	close(start)
	wg.Wait()
	replayed := 0
	for i, r := range answers {
		if r.status != http.StatusCreated || !bytes.Equal(r.body, answers[0].body) || r.header.Get("Location") != answers[0].header.Get("Location") {
			t.Fatalf("copy %d: %d %s %s, want the first's %d %s", i, r.status, r.header.Get("Location"), r.body, answers[0].status, answers[0].body)
		}
		if r.header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != 9 {
		t.Errorf("%d answers say they are replays, want 9", replayed)
	}
	links, err := h.store.ListLinks(context.Background(), models.LinkPage{LinkFilter: models.LinkFilter{Now: time.Now()}})
	if err != nil || len(links) != 1 {
		t.Fatalf("%d links made (%v), want 1", len(links), err)
	}
	if mails := h.linkMails(links[0].ID); len(mails) != 1 {
		t.Errorf("%d link emails queued, want 1", len(mails))
	}

	// Later, the same key and body (spaced and ordered otherwise): the same answer.
	again := api.call(http.MethodPost, "/api/v1/links",
		`{ "send_email": true, "order_amount": 25990, "customer_email": "ana@cliente.cl", "merchant_order_id": "PED-7001" }`,
		"Idempotency-Key", "pedido-7001")
	if again.status != http.StatusCreated || !bytes.Equal(again.body, answers[0].body) {
		t.Errorf("retry: %d %s", again.status, again.body)
	}
	// The same key with another body is refused before anything else is
	// looked at: even a body that is wrong in itself.
	api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-7002", "order_amount", 25990),
		"Idempotency-Key", "pedido-7001").problem(t, http.StatusUnprocessableEntity, "idempotency_mismatch")
	api.callInvalid(http.MethodPost, "/api/v1/links", `{"order_amount": "mucho"}`,
		"Idempotency-Key", "pedido-7001").problem(t, http.StatusUnprocessableEntity, "idempotency_mismatch")
	// Another key's Idempotency-Key of the same name is its own.
	other := h.api(h.apiKey("ERP", models.APIScopeWrite))
	other.call(http.MethodPost, "/api/v1/links", body, "Idempotency-Key", "pedido-7001").problem(t, http.StatusConflict, "order_in_use")
	p := api.callInvalid(http.MethodPost, "/api/v1/links", body, "Idempotency-Key", " con espacios ").
		problem(t, http.StatusUnprocessableEntity, "validation")
	if p.Errors["Idempotency-Key"].Code != "api.invalid_idempotency_key" {
		t.Errorf("a key with spaces: %+v", p.Errors)
	}
}

func TestAPIIdempotencyKeysAreKeptADay(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now()}
	h := newHarness(t, withClock(clock.Now))
	api := h.api(h.apiKey("Tienda web", models.APIScopeWrite))
	first := api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-8001", "order_amount", 1000), "Idempotency-Key", "k1")
	if first.status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.status, first.body)
	}
	clock.Add(23 * time.Hour)
	api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-8002", "order_amount", 1000), "Idempotency-Key", "k1").
		problem(t, http.StatusUnprocessableEntity, "idempotency_mismatch")
	clock.Add(2 * time.Hour)
	if r := api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-8002", "order_amount", 1000), "Idempotency-Key", "k1"); r.status != http.StatusCreated {
		t.Errorf("the same key 25 hours later, with another body: %d %s", r.status, r.body)
	}
}
