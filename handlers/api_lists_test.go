package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"etpay-dashboard/models"
)

// listPage is a list answer, as a client reads it.
type listPage[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func TestAPIListsLinksByCursor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := h.api(h.apiKey("ERP", models.APIScopeRead))
	var want []uint // newest first
	for _, order := range []string{"PED-1", "PED-2", "PED-3", "PED-4", "PED-5"} {
		want = append([]uint{h.openLink(order, "live", 1000).ID}, want...)
	}
	h.openLink("PED-SANDBOX", "sandbox", 1000) // not the live key's to see
	var got []uint
	path := "/api/v1/links?limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("the cursor never ends")
		}
		r := api.call(http.MethodGet, path, "")
		var page listPage[models.LinkView]
		r.decode(t, &page)
		if r.status != http.StatusOK || len(page.Data) > 2 {
			t.Fatalf("%s: %d, %d links", path, r.status, len(page.Data))
		}
		for _, l := range page.Data {
			got = append(got, l.ID)
		}
		path = ""
		if page.NextCursor != nil {
			path = "/api/v1/links?limit=2&cursor=" + url.QueryEscape(*page.NextCursor)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}

	var one listPage[models.LinkView]
	api.call(http.MethodGet, "/api/v1/links?merchant_order_id=PED-3", "").decode(t, &one)
	if len(one.Data) != 1 || one.Data[0].MerchantOrderID != "PED-3" || one.NextCursor != nil {
		t.Errorf("merchant_order_id=PED-3: %+v", one)
	}
	api.call(http.MethodGet, "/api/v1/links?merchant_order_id=ped-3", "").decode(t, &one)
	if len(one.Data) != 0 {
		t.Errorf("merchant_order_id matches another case: %+v", one)
	}
	h.paidLink("PED-6", "live", 1000)
	api.call(http.MethodGet, "/api/v1/links?status=paid&sort=amount", "").decode(t, &one)
	if len(one.Data) != 1 || one.Data[0].Status != models.LinkPaid || one.Data[0].PaidAt == nil {
		t.Errorf("status=paid: %+v", one)
	}
	api.call(http.MethodGet, "/api/v1/links?mode=sandbox", "").decode(t, &one)
	if len(one.Data) != 0 {
		t.Errorf("a live key listed sandbox links: %+v", one)
	}

	var first listPage[models.LinkView]
	api.call(http.MethodGet, "/api/v1/links?limit=1", "").decode(t, &first)
	p := api.call(http.MethodGet, "/api/v1/links?sort=amount&cursor="+url.QueryEscape(*first.NextCursor), "").
		problem(t, http.StatusBadRequest, "invalid_query")
	if p.Errors["cursor"].Code != "api.invalid_cursor" {
		t.Errorf("a cursor of another sort: %+v", p.Errors)
	}
	p = api.callInvalid(http.MethodGet, "/api/v1/links?status=pending&limit=500&from=2026-13-01", "").problem(t, http.StatusBadRequest, "invalid_query")
	for _, field := range []string{"status", "limit", "from"} {
		if p.Errors[field].Code == "" {
			t.Errorf("no problem for %s: %+v", field, p.Errors)
		}
	}
}

func TestAPISessionsWithTheirNotificationHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := h.api(h.apiKey("Tienda web", models.APIScopeWrite))
	made := api.call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-9001", "order_amount", 15990)).link(t)
	payThroughFunnel(t, h.browser(), made.URL, "approve")
	h.paidLink("PED-9002", "live", 1000)
	h.paidLink("PED-9003", "sandbox", 1000)

	var list listPage[models.SessionView]
	api.call(http.MethodGet, "/api/v1/sessions?merchant_order_id=PED-9001", "").decode(t, &list)
	if len(list.Data) != 1 || list.Data[0].LinkID != made.ID || list.Data[0].Status != models.StatusPaid ||
		list.Data[0].PaymentToken == "" || list.Data[0].Notifications != nil {
		t.Fatalf("sessions of PED-9001: %+v", list)
	}
	var one models.SessionView
	r := api.call(http.MethodGet, "/api/v1/sessions/"+itoa(list.Data[0].ID), "")
	r.decode(t, &one)
	if len(one.Notifications) != 1 || one.Notifications[0].Verdict != models.VerdictVerified || one.Notifications[0].Effect != models.EffectPaid ||
		one.Notifications[0].PaymentStatus != "success" {
		t.Errorf("session history: %+v", one.Notifications)
	}
	if got := api.call(http.MethodGet, "/api/v1/links/"+itoa(made.ID), "").link(t); got.Status != models.LinkPaid || got.PaidAt == nil {
		t.Errorf("the paid link: %+v", got)
	}

	api.call(http.MethodGet, "/api/v1/sessions?status=paid&sort=amount_asc&q=PED-900", "").decode(t, &list)
	var orders []string
	for _, s := range list.Data {
		orders = append(orders, s.MerchantOrderID)
	}
	if !slices.Equal(orders, []string{"PED-9002", "PED-9001"}) {
		t.Errorf("paid live sessions by amount: %v", orders)
	}
	sandbox := h.sessionsOf(h.sandboxLinkID("PED-9003"))[0]
	api.call(http.MethodGet, "/api/v1/sessions/"+itoa(sandbox.ID), "").problem(t, http.StatusNotFound, "not_found")
	api.callInvalid(http.MethodGet, "/api/v1/sessions?status=open", "").problem(t, http.StatusBadRequest, "invalid_query")
}

// sandboxLinkID is the id of the sandbox link of order.
func (h *harness) sandboxLinkID(order string) uint {
	h.t.Helper()
	rows, err := h.store.ListLinks(h.t.Context(), models.LinkPage{LinkFilter: models.LinkFilter{SessionFilter: models.SessionFilter{OrderID: order, Mode: "sandbox"}}})
	if err != nil || len(rows) != 1 {
		h.t.Fatalf("sandbox link of %s: %d (%v)", order, len(rows), err)
	}
	return rows[0].ID
}
