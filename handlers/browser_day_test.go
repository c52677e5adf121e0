package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"etpay-dashboard/models"
)

// A merchant's day in a real browser, at a phone's and a laptop's width:
// find a link nobody opened yet by typing part of its order id in lower
// case, cancel it (the page asks first), and read what happened.
func TestBrowserFindAndCancelALink(t *testing.T) {
	chrome := newChrome(t)
	for _, w := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"360px", 360, 740, true}, {"1366px", 1366, 768, false}} {
		t.Run(w.name, func(t *testing.T) {
			h := newHarness(t)
			h.addUser("staff@shop.cl", models.RoleStaff)
			ctx := context.Background()
			for _, order := range []string{"PED-2001", "PED-2002", "OC-9"} {
				if _, err := h.store.CreateLink(ctx, models.LinkInput{MerchantOrderID: order, Amount: 12990, Mode: "live"}); err != nil {
					t.Fatal(err)
				}
			}
			tab := newTab(t, chrome)
			emulate(t, tab, w.width, w.height, w.mobile)
			run(t, tab, loginSteps(h.base, "staff@shop.cl")...)
			run(t, tab,
				chromedp.Navigate(h.base+"/admin/links"),
				chromedp.WaitVisible(chromedp.ID("q")),
				chromedp.SendKeys(chromedp.ID("q"), "ped-2002"),
				chromedp.Submit(chromedp.ID("q")),
			)
			// Wait for the searched page itself: #links is also on the page
			// the search was typed into, which may still be showing.
			waitFor(t, tab, `new URLSearchParams(location.search).get("q")`, "ped-2002")
			run(t, tab, chromedp.WaitVisible(chromedp.ID("links")))
			found := eval[[]string](t, tab, `[...document.querySelectorAll('#links [data-field="merchant_order_id"] a:first-child')].map(a => a.textContent.trim())`)
			if len(found) != 1 || found[0] != "PED-2002" {
				t.Fatalf("searching ped-2002 found %v, want the unopened link PED-2002", found)
			}
			run(t, tab,
				chromedp.Click(chromedp.CSS(`#links [data-field="merchant_order_id"] a`)),
				chromedp.WaitVisible(chromedp.ID("link-url")),
				chromedp.Click(chromedp.CSS(`a[href$="/cancel"]`)),
				chromedp.WaitVisible(chromedp.ID("confirm")),
			)
			asked := eval[string](t, tab, `document.querySelector("main").innerText`)
			if l, err := h.store.LinkByID(ctx, 2); err != nil || l.Status != models.LinkOpen {
				t.Fatalf("the confirm page changed the link: %+v, %v", l, err)
			}
			if !strings.Contains(asked, "PED-2002") {
				t.Errorf("the confirm page does not name the order:\n%s", asked)
			}
			if !w.mobile {
				shoot(t, tab, "link-cancel-confirm")
			}
			run(t, tab,
				chromedp.Click(chromedp.CSS(`#confirm button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.ID("flash")),
			)
			if said := eval[string](t, tab, `document.querySelector("#flash").textContent`); !strings.Contains(said, "Link cancelado") {
				t.Errorf("after cancelling, the page says %q", said)
			}
			if l, _ := h.store.LinkByID(ctx, 2); l.Status != models.LinkCancelled {
				t.Errorf("link is %s after confirming, want cancelled", l.Status)
			}
			if !w.mobile {
				run(t, tab, chromedp.Navigate(h.base+"/admin/links"), chromedp.WaitVisible(chromedp.ID("links")))
				shoot(t, tab, "links")
			}
		})
	}
}
