package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

// shownKey matches the element that shows a new key, and its text.
var shownKey = regexp.MustCompile(`<code id="api-key">([^<]*)</code>`)

func TestAdminMakesAnAPIKeyShownOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	page := admin.get("/admin/api-keys")
	if page.status != http.StatusOK || shownKey.MatchString(page.body) || !strings.Contains(page.body, `href="/admin/api-keys"`) {
		t.Fatalf("the page before any key: %d\n%s", page.status, page.body)
	}
	r := admin.submit("/admin/api-keys", "/admin/api-keys", url.Values{"name": {"Tienda web"}, "scope": {"write"}})
	m := shownKey.FindAllStringSubmatch(r.body, -1)
	if r.status != http.StatusOK || len(m) != 1 || !strings.HasPrefix(m[0][1], "etp_live_") || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d, shown %v\n%s", r.status, m, r.body)
	}
	key := m[0][1]
	stored := h.onlyAPIKey()
	if stored.Name != "Tienda web" || stored.Scope != models.APIScopeWrite || stored.Mode != "live" || stored.CreatedByID == nil {
		t.Errorf("stored key: %+v", stored)
	}
	if made := h.api(key).call(http.MethodPost, "/api/v1/links", linkBody("merchant_order_id", "PED-1", "order_amount", 1000)); made.status != http.StatusCreated {
		t.Errorf("the new key cannot write: %d %s", made.status, made.body)
	}

	// Never again: the list shows its prefix and use, not the key.
	list := admin.get("/admin/api-keys")
	if strings.Contains(list.body, key) || shownKey.MatchString(list.body) || !strings.Contains(list.body, stored.Prefix+"…") ||
		!strings.Contains(list.body, "admin@shop.cl") || strings.Contains(list.body, "nunca") {
		t.Errorf("the list after making a key:\n%s", list.body)
	}
	if found := englishIn(visibleText(t, list.body)); len(found) > 0 {
		t.Errorf("the page shows English in Spanish: %q", found)
	}
	audit := admin.get("/admin/audit").body
	for _, want := range []string{"Llave de API creada", "Tienda web (" + stored.Prefix + ")", "API: Tienda web (" + stored.Prefix + ")"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
}

func TestAPIKeyFormSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	for _, form := range []url.Values{
		{"name": {"  "}, "scope": {"read"}},
		{"name": {"Tienda"}, "scope": {"admin"}},
		{"name": {strings.Repeat("x", models.MaxAPIKeyName+1)}, "scope": {"read"}},
	} {
		r := admin.submit("/admin/api-keys", "/admin/api-keys", form)
		if r.status != http.StatusUnprocessableEntity || shownKey.MatchString(r.body) || !strings.Contains(r.body, `class="field-error"`) {
			t.Errorf("%v: %d\n%s", form, r.status, r.body)
		}
	}
	if keys, _ := h.store.ListAPIKeys(context.Background()); len(keys) != 0 {
		t.Errorf("%d keys made from wrong forms", len(keys))
	}
}

func TestRevokingAnAPIKeyAsksFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	h.apiKey("Planilla", models.APIScopeRead)
	key := h.onlyAPIKey()
	path := "/admin/api-keys/" + itoa(key.ID) + "/revoke"
	ask := admin.get(path)
	if ask.status != http.StatusOK || !strings.Contains(ask.body, `action="`+path+`"`) || !strings.Contains(ask.body, key.Prefix) {
		t.Fatalf("confirm page: %d\n%s", ask.status, ask.body)
	}
	if r := admin.submit(path, path, url.Values{}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/api-keys" {
		t.Fatalf("revoke: %d %s", r.status, r.header.Get("Location"))
	}
	list := admin.get("/admin/api-keys").body
	if !strings.Contains(list, `id="flash"`) || !strings.Contains(list, `data-revoked="true"`) || strings.Contains(list, `href="`+path+`"`) {
		t.Errorf("the list after revoking:\n%s", list)
	}
	if again := admin.get(path); again.status != http.StatusSeeOther {
		t.Errorf("asking to revoke a revoked key: %d", again.status)
	}
	if missing := admin.get("/admin/api-keys/999/revoke"); missing.status != http.StatusNotFound {
		t.Errorf("a missing key: %d", missing.status)
	}
}

func TestOnlyAdminsReachAPIKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.apiKey("Planilla", models.APIScopeRead)
	id := itoa(h.onlyAPIKey().ID)
	for _, role := range []string{models.RoleStaff, models.RoleViewer} {
		b := h.loggedIn(role+"@shop.cl", role)
		if strings.Contains(b.get("/admin/sessions").body, `href="/admin/api-keys"`) {
			t.Errorf("%s sees the API menu entry", role)
		}
		token := csrfToken(t, b.get("/admin/account").body)
		for _, tt := range []struct{ method, path string }{
			{http.MethodGet, "/admin/api-keys"}, {http.MethodPost, "/admin/api-keys"},
			{http.MethodGet, "/admin/api-keys/" + id + "/revoke"}, {http.MethodPost, "/admin/api-keys/" + id + "/revoke"},
		} {
			form := url.Values{"csrf": {token}, "name": {"Mía"}, "scope": {"write"}}
			if got := b.statusOnly(tt.method, tt.path, form); got != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", tt.method, tt.path, role, got)
			}
		}
	}
	if k := h.onlyAPIKey(); k.Revoked() {
		t.Error("a non-admin revoked a key")
	}
}
