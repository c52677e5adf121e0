package handlers

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// shopPath is the shop's settings page (Tienda).
const shopPath = "/admin/shop"

// showShop is the shop's settings page: its name as customers see it and
// the address their replies go to.
func (a *app) showShop(c *fiber.Ctx) error {
	return a.renderShop(c, fiber.StatusOK, a.Shop.Saved(), nil)
}

func (a *app) renderShop(c *fiber.Ctx, status int, form models.ShopSettings, errs map[string]string) error {
	l := a.locale(c)
	if errs == nil {
		errs = map[string]string{}
	}
	if a.Shop.NameFixed() {
		form.MerchantName = a.Shop.Name()
	}
	return a.render(c, status, "admin/shop", fiber.Map{
		"Title":     l.T("shop.title"),
		"Form":      form,
		"Errors":    errs,
		"NameFixed": a.Shop.NameFixed(),
		"MailFrom":  a.Config.MailFrom,
	})
}

// saveShop stores the shop's settings; emails and the customer's pages use
// them at once. With MERCHANT_NAME set, the name typed is ignored.
func (a *app) saveShop(c *fiber.Ctx) error {
	form := models.ShopSettings{
		MerchantName: strings.TrimSpace(c.FormValue("merchant_name")),
		ReplyTo:      strings.ToLower(strings.TrimSpace(c.FormValue("reply_to"))),
	}
	if a.Shop.NameFixed() {
		form.MerchantName = a.Shop.Saved().MerchantName
	}
	if errs := models.ValidateShopSettings(form, a.Shop.NameFixed()); len(errs) > 0 {
		return a.renderShop(c, fiber.StatusUnprocessableEntity, form, fieldMessages(a.locale(c), errs))
	}
	if err := a.Shop.Save(c.UserContext(), form); err != nil {
		return err
	}
	detail, _ := json.Marshal(form) // {"merchant_name":…,"reply_to":…}, read back by the audit page
	a.Logger.Info("shop settings saved", "user_id", currentUser(c).ID)
	a.audit(c, models.AuditShopChanged, string(detail))
	return redirectDone(c, shopPath, "shop.done")
}

// shopLater is the prompt's "Ahora no": it hides the prompt for the rest of
// this login and goes back to the page it was on.
func (a *app) shopLater(c *fiber.Ctx) error {
	session(c).set(shopLaterKey, "1")
	return c.Redirect(localAdminPath(c.FormValue("back")), fiber.StatusSeeOther)
}

// shopLaterKey marks, in the session, a login that said "not now" to the
// prompt for the shop's name; the next login asks again.
const shopLaterKey = "shop_later"

// shopPrompt reports whether this page should ask for the shop's name: to
// admins, until it is set, unless they said "not now" in this login. It
// never stands in the way of the page.
func (a *app) shopPrompt(c *fiber.Ctx) bool {
	u := currentUser(c)
	s := session(c)
	return u != nil && u.Role == models.RoleAdmin && s != nil && s.get(shopLaterKey) == "" &&
		!a.Shop.Named() && c.Path() != shopPath
}

// localAdminPath is back when it is a path of this panel, so a form field
// never sends anyone elsewhere; else the sessions list.
func localAdminPath(back string) string {
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(back, "//") ||
		strings.Contains(back, "\\") || !(u.Path == "/admin" || strings.HasPrefix(u.Path, "/admin/")) {
		return "/admin/sessions"
	}
	return back
}
