package handlers_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// rolePolicy is the least role each /admin route needs, keyed "METHOD path"
// exactly as registered. Every /admin route must be here: a new route without
// an entry fails TestEveryAdminRouteEnforcesItsRole, so nobody adds a route
// and forgets to decide who may use it.
var rolePolicy = map[string]string{
	"GET /admin/":              models.RoleViewer,
	"GET /admin/sessions":      models.RoleViewer,
	"GET /admin/sessions.csv":  models.RoleViewer,
	"GET /admin/sessions.xlsx": models.RoleViewer,
	"GET /admin/sessions/:id":  models.RoleViewer,
	"GET /admin/events":        models.RoleViewer,
	"GET /admin/overview":      models.RoleViewer,
	// Asking ETpay for a session's status and replaying a stored
	// notification change payment state: staff and up.
	"POST /admin/sessions/:id/check":       models.RoleStaff,
	"POST /admin/notifications/:id/replay": models.RoleStaff,

	"GET /admin/links":             models.RoleViewer,
	"GET /admin/links.xlsx":        models.RoleViewer,
	"GET /admin/links/new":         models.RoleStaff,
	"POST /admin/links/new":        models.RoleStaff,
	"GET /admin/links/:id":         models.RoleViewer,
	"GET /admin/links/:id/qr.png":  models.RoleViewer,
	"GET /admin/links/:id/cancel":  models.RoleStaff, // its confirmation page
	"POST /admin/links/:id/cancel": models.RoleStaff,
	"POST /admin/links/:id/expiry": models.RoleStaff,
	// Importing links is making them; only the uploader sees an import.
	"GET /admin/links/import":                 models.RoleStaff,
	"POST /admin/links/import":                models.RoleStaff,
	"GET /admin/links/import/:id":             models.RoleStaff,
	"POST /admin/links/import/:id":            models.RoleStaff,
	"GET /admin/links/import/:id/result.xlsx": models.RoleStaff,
	"GET /admin/links/import/:id/result.csv":  models.RoleStaff,
	"POST /admin/links/:id/reminders":         models.RoleStaff,

	"GET /admin/users":               models.RoleAdmin,
	"GET /admin/users/new":           models.RoleAdmin,
	"POST /admin/users/new":          models.RoleAdmin,
	"GET /admin/users/:id":           models.RoleAdmin,
	"POST /admin/users/:id/role":     models.RoleAdmin,
	"GET /admin/users/:id/disable":   models.RoleAdmin, // confirmation pages, as their POSTs
	"POST /admin/users/:id/disable":  models.RoleAdmin,
	"GET /admin/users/:id/password":  models.RoleAdmin,
	"POST /admin/users/:id/enable":   models.RoleAdmin,
	"POST /admin/users/:id/password": models.RoleAdmin,
	"POST /admin/users/:id/unlock":   models.RoleAdmin,
	"GET /admin/audit":               models.RoleAdmin,
	"GET /admin/golive":              models.RoleAdmin,
	"GET /admin/golive.csv":          models.RoleAdmin,
	"GET /admin/system":              models.RoleAdmin,
	"GET /admin/shop":                models.RoleAdmin,
	"POST /admin/shop":               models.RoleAdmin,
	"POST /admin/shop/later":         models.RoleAdmin, // the prompt for the shop's name is shown to admins only

	// The shop's webhooks: their secrets and their log are admins' only.
	"GET /admin/webhooks": models.RoleAdmin, "POST /admin/webhooks": models.RoleAdmin,
	"GET /admin/webhooks/:id": models.RoleAdmin, "POST /admin/webhooks/:id/test": models.RoleAdmin,
	"POST /admin/webhooks/:id/rotate": models.RoleAdmin, "POST /admin/webhooks/:id/enable": models.RoleAdmin,
	"POST /admin/webhooks/:id/disable": models.RoleAdmin, "GET /admin/webhooks/:id/delete": models.RoleAdmin,
	"POST /admin/webhooks/:id/delete": models.RoleAdmin, "POST /admin/webhooks/:id/deliveries/:delivery/resend": models.RoleAdmin,
	// API keys: admins only, the confirmation page as its POST.
	"GET /admin/api-keys":             models.RoleAdmin,
	"POST /admin/api-keys":            models.RoleAdmin,
	"GET /admin/api-keys/:id/revoke":  models.RoleAdmin,
	"POST /admin/api-keys/:id/revoke": models.RoleAdmin,

	"GET /admin/account":       models.RoleViewer,
	"POST /admin/account":      models.RoleViewer,
	"POST /admin/account/lang": models.RoleViewer,

	"GET /admin/outbox":                  models.RoleViewer,
	"GET /admin/outbox/:id/html":         models.RoleViewer,
	"GET /admin/links/:id/email/preview": models.RoleStaff,
	"POST /admin/links/:id/email":        models.RoleStaff,
	"POST /admin/account/alerts":         models.RoleViewer,

	// Everyone manages their own second factor; admins require it of
	// everyone and reset other users'.
	"GET /admin/account/2fa":          models.RoleViewer,
	"POST /admin/account/2fa":         models.RoleViewer,
	"POST /admin/users/require-2fa":   models.RoleAdmin,
	"GET /admin/users/:id/2fa/reset":  models.RoleAdmin,
	"POST /admin/users/:id/2fa/reset": models.RoleAdmin,
}

// rank orders roles by power, so "at least staff" is a comparison.
var rank = map[string]int{models.RoleViewer: 1, models.RoleStaff: 2, models.RoleAdmin: 3}

// routeParam matches a route parameter (":id", ":id<int>", ":id?") or a wildcard.
var routeParam = regexp.MustCompile(`:[A-Za-z0-9_]+(<[^>]*>)?\??|\*|\+`)

// adminRoutes lists the app's /admin routes as "METHOD path", without the
// HEAD twins Fiber adds for every GET and without middleware.
func adminRoutes(h *harness) []string {
	seen := map[string]bool{}
	for _, r := range h.app.GetRoutes(true) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			continue
		}
		if r.Path != "/admin" && !strings.HasPrefix(r.Path, "/admin/") {
			continue
		}
		seen[r.Method+" "+r.Path] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// statusOnly sends a request and reads nothing but the status, so streams
// (the live table's events) do not hold the test.
func (b *browser) statusOnly(method, path string, form url.Values) int {
	b.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequestWithContext(ctx, method, b.url(path), body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.h.t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestEveryAdminRouteEnforcesItsRole(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	routes := adminRoutes(h)
	for _, key := range routes {
		if _, ok := rolePolicy[key]; !ok {
			t.Errorf("route %q has no entry in rolePolicy: decide which roles may use it and add it", key)
		}
	}
	for key := range rolePolicy {
		if !slices.Contains(routes, key) {
			t.Errorf("rolePolicy names %q, which the app does not register: remove or rename it", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, role := range []string{models.RoleAdmin, models.RoleStaff, models.RoleViewer} {
		t.Run(role, func(t *testing.T) {
			h.addUser(role+"@shop.cl", role)
			b := h.browser()
			b.login(role + "@shop.cl")
			token := csrfToken(t, b.get("/admin/account").body)
			for _, key := range routes {
				method, path, _ := strings.Cut(key, " ")
				// An id nobody has: allowed roles may get 404, refused ones must get 403.
				target := routeParam.ReplaceAllString(path, "999999")
				var form url.Values
				if method == http.MethodPost {
					form = url.Values{"csrf": {token}}
				}
				status := b.statusOnly(method, target, form)
				mayUse := rank[role] >= rank[rolePolicy[key]]
				switch {
				case mayUse && status == http.StatusForbidden:
					t.Errorf("%s %s answered 403, but %s may use %s", method, target, role, key)
				case !mayUse && status != http.StatusForbidden:
					t.Errorf("%s %s answered %d, want 403: %s needs %s, not %s", method, target, status, key, rolePolicy[key], role)
				}
			}
		})
	}
}

func TestViewerCannotMakeLinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("viewer@shop.cl", models.RoleViewer)
	page := b.get("/admin/sessions")
	if page.status != http.StatusOK {
		t.Fatalf("viewer GET /admin/sessions: %d", page.status)
	}
	for _, unwanted := range []string{"Nuevo link de pago", `href="/admin/links/new"`} {
		if strings.Contains(page.body, unwanted) {
			t.Errorf("a viewer's sessions page shows %q", unwanted)
		}
	}
	r := b.post("/admin/links/new", url.Values{
		"csrf":              {csrfToken(t, page.body)},
		"merchant_order_id": {"OC-VIEWER-1"},
		"order_amount":      {"12990"},
	})
	if r.status != http.StatusForbidden {
		t.Fatalf("viewer posting a new link with a valid token: %d, want 403", r.status)
	}
	if rows, _ := h.store.AuditEntries(context.Background(), models.AuditPage{}); slices.ContainsFunc(rows, func(e models.AuditEntry) bool { return e.Action == models.AuditLinkCreated }) {
		t.Fatal("the refused post made a link")
	}
}

// loginWith logs b in with a password of the test's choosing and returns the answer.
func (b *browser) loginWith(email, password string) response {
	b.h.t.Helper()
	return b.submit("/login", "/login", url.Values{"email": {email}, "password": {password}})
}

// loggedIn reports whether b's session still opens the panel.
func (b *browser) loggedIn() bool {
	b.h.t.Helper()
	r := b.get("/admin/account")
	switch {
	case r.status == http.StatusOK:
		return true
	case r.status == http.StatusSeeOther && r.header.Get("Location") == "/login":
		return false
	}
	b.h.t.Fatalf("GET /admin/account: %d %s", r.status, r.header.Get("Location"))
	return false
}

func userPath(u *models.User, action string) string {
	return "/admin/users/" + itoa(u.ID) + action
}

func TestAdminAddsUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	h.addUser("taken@shop.cl", models.RoleStaff)
	admin := h.browser()
	admin.login("admin@shop.cl")

	invalid := []struct {
		name    string
		form    url.Values
		message string
	}{
		{"short password", url.Values{"email": {"a@shop.cl"}, "role": {"staff"}, "password": {"too short"}}, "al menos 12 caracteres"},
		{"password over 72 bytes", url.Values{"email": {"a@shop.cl"}, "role": {"staff"}, "password": {strings.Repeat("ñ", 37)}}, "hasta 72 bytes"},
		{"no password", url.Values{"email": {"a@shop.cl"}, "role": {"staff"}}, "Escribe una contraseña."},
		{"bad email", url.Values{"email": {"not an email"}, "role": {"staff"}, "password": {testPassword}}, "Escribe un correo válido"},
		{"unknown role", url.Values{"email": {"a@shop.cl"}, "role": {"root"}, "password": {testPassword}}, "Elige un rol de la lista."},
		{"email taken", url.Values{"email": {"Taken@Shop.cl"}, "role": {"viewer"}, "password": {testPassword}}, "Ya existe un usuario con este correo."},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.submit("/admin/users/new", "/admin/users/new", tc.form)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.message) {
				t.Fatalf("answered %d, want 422 with %q:\n%s", r.status, tc.message, r.body)
			}
			if strings.Contains(r.body, testPassword) {
				t.Error("the password was sent back in the page")
			}
		})
	}
	if users, _ := h.store.ListUsers(context.Background()); len(users) != 2 {
		t.Fatalf("invalid forms added users: %d users", len(users))
	}

	r := admin.submit("/admin/users/new", "/admin/users/new", url.Values{"email": {" New@Shop.cl "}, "role": {"viewer"}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/admin/users") {
		t.Fatalf("adding a user: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	list := admin.get(r.header.Get("Location"))
	if !strings.Contains(list.body, "new@shop.cl") || !strings.Contains(list.body, "Solo lectura") {
		t.Fatalf("the list does not show the new viewer:\n%s", list.body)
	}
	newcomer := h.browser()
	newcomer.login("new@shop.cl")
	if newcomer.get("/admin/sessions").status != http.StatusOK {
		t.Fatal("the new user cannot open the panel")
	}
	if newcomer.get("/admin/users").status != http.StatusForbidden {
		t.Fatal("a new viewer can open the users page")
	}
}

func TestDisablingAUserLogsThemOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	staff := h.addUser("staff@shop.cl", models.RoleStaff)
	admin := h.browser()
	admin.login("admin@shop.cl")
	victim := h.browser()
	victim.login("staff@shop.cl")
	if !victim.loggedIn() {
		t.Fatal("staff not logged in to begin with")
	}

	r := admin.submit(userPath(staff, ""), userPath(staff, "/disable"), url.Values{})
	if r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", r.status, r.body)
	}
	r = victim.get("/admin/sessions")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("a disabled user's next request: %d %s, want 303 /login", r.status, r.header.Get("Location"))
	}
	if r := h.browser().loginWith("staff@shop.cl", testPassword); r.status != http.StatusUnauthorized {
		t.Fatalf("a disabled user logged in: %d", r.status)
	}
	if page := admin.get(userPath(staff, "")); !strings.Contains(page.body, "desactivado") {
		t.Fatal("the user page does not say disabled")
	}

	if r := admin.submit(userPath(staff, ""), userPath(staff, "/enable"), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("enable: %d", r.status)
	}
	again := h.browser()
	again.login("staff@shop.cl")
	if !again.loggedIn() {
		t.Fatal("an enabled user cannot log in")
	}
}

func TestAdminCannotLockThemselvesOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	self := h.addUser("admin@shop.cl", models.RoleAdmin)
	admin := h.browser()
	admin.login("admin@shop.cl")
	cases := []struct {
		name    string
		action  string
		form    url.Values
		message string
	}{
		{"disable", "/disable", url.Values{}, "No puedes desactivar tu propia cuenta."},
		{"demote to staff", "/role", url.Values{"role": {"staff"}}, "No puedes quitarte el rol de administrador"},
		{"demote to viewer", "/role", url.Values{"role": {"viewer"}}, "No puedes quitarte el rol de administrador"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.submit(userPath(self, ""), userPath(self, tc.action), tc.form)
			if r.status != http.StatusConflict || !strings.Contains(r.body, tc.message) {
				t.Fatalf("answered %d, want 409 with %q", r.status, tc.message)
			}
			u, _ := h.store.UserByID(context.Background(), self.ID)
			if u.Role != models.RoleAdmin || u.Disabled || !admin.loggedIn() {
				t.Fatalf("the admin locked themselves out: %+v", u)
			}
		})
	}
}

func TestAdminChangesRole(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	staff := h.addUser("staff@shop.cl", models.RoleStaff)
	admin := h.browser()
	admin.login("admin@shop.cl")
	other := h.browser()
	other.login("staff@shop.cl")
	if other.get("/admin/links/new").status != http.StatusOK {
		t.Fatal("staff cannot open the link form to begin with")
	}
	if r := admin.submit(userPath(staff, ""), userPath(staff, "/role"), url.Values{"role": {"viewer"}}); r.status != http.StatusSeeOther {
		t.Fatalf("role change: %d", r.status)
	}
	// The new role applies from the very next request.
	if r := other.get("/admin/links/new"); r.status != http.StatusForbidden {
		t.Fatalf("demoted user opening the link form: %d, want 403", r.status)
	}
	if r := admin.submit(userPath(staff, ""), userPath(staff, "/role"), url.Values{"role": {"owner"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown role: %d, want 422", r.status)
	}
}

func TestAdminPasswordResetEndsTheUsersSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	staff := h.addUser("staff@shop.cl", models.RoleStaff)
	admin := h.browser()
	admin.login("admin@shop.cl")
	phone, laptop := h.browser(), h.browser()
	phone.login("staff@shop.cl")
	laptop.login("staff@shop.cl")

	if r := admin.submit(userPath(staff, ""), userPath(staff, "/password"), url.Values{"password": {"short"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a short reset password: %d, want 422", r.status)
	}
	if !phone.loggedIn() {
		t.Fatal("a refused reset ended the sessions")
	}
	const newPassword = "a brand new passphrase"
	if r := admin.submit(userPath(staff, ""), userPath(staff, "/password"), url.Values{"password": {newPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", r.status, r.body)
	}
	if phone.loggedIn() || laptop.loggedIn() {
		t.Fatal("a password reset left the user's sessions open")
	}
	if !admin.loggedIn() {
		t.Fatal("resetting someone else's password ended the admin's session")
	}
	if r := h.browser().loginWith("staff@shop.cl", testPassword); r.status != http.StatusUnauthorized {
		t.Fatalf("old password after reset: %d", r.status)
	}
	if r := h.browser().loginWith("staff@shop.cl", newPassword); r.status != http.StatusSeeOther {
		t.Fatalf("new password after reset: %d", r.status)
	}
}

func TestOwnPasswordChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	here, elsewhere := h.browser(), h.browser()
	here.login("viewer@shop.cl")
	elsewhere.login("viewer@shop.cl")
	const newPassword = "my own new passphrase"

	invalid := []struct {
		name    string
		form    url.Values
		message string
	}{
		{"wrong current", url.Values{"current_password": {"not my password"}, "new_password": {newPassword}}, "La contraseña actual no es correcta."},
		{"no current", url.Values{"new_password": {newPassword}}, "Escribe tu contraseña actual."},
		{"short new", url.Values{"current_password": {testPassword}, "new_password": {"short"}}, "al menos 12 caracteres"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			r := here.submit("/admin/account", "/admin/account", tc.form)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.message) {
				t.Fatalf("answered %d, want 422 with %q", r.status, tc.message)
			}
			if !elsewhere.loggedIn() {
				t.Fatal("a refused change ended a session")
			}
		})
	}

	r := here.submit("/admin/account", "/admin/account", url.Values{"current_password": {testPassword}, "new_password": {newPassword}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("change: %d\n%s", r.status, r.body)
	}
	if !here.loggedIn() {
		t.Fatal("changing my password logged me out of the browser I did it in")
	}
	if elsewhere.loggedIn() {
		t.Fatal("changing my password left my other browser logged in")
	}
	if r := h.browser().loginWith("viewer@shop.cl", newPassword); r.status != http.StatusSeeOther {
		t.Fatalf("new password: %d", r.status)
	}
}

func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	if page := b.get("/admin/sessions"); !strings.Contains(page.body, "Sesiones de pago") {
		t.Fatal("the panel does not start in Spanish")
	}
	if r := b.submit("/admin/account", "/admin/account/lang", url.Values{"lang": {"fr"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("an unknown language: %d, want 422", r.status)
	}
	if r := b.submit("/admin/account", "/admin/account/lang", url.Values{"lang": {"en"}}); r.status != http.StatusSeeOther {
		t.Fatalf("switch to en: %d", r.status)
	}
	page := b.get("/admin/sessions")
	if !strings.Contains(page.body, "Payment sessions") || !strings.Contains(page.body, `<html lang="en">`) {
		t.Fatalf("after switching to English:\n%s", page.body)
	}
	// Another user's language is their own.
	other := h.loggedIn("other@shop.cl", models.RoleStaff)
	if page := other.get("/admin/sessions"); !strings.Contains(page.body, "Sesiones de pago") {
		t.Fatal("one user's language changed another's")
	}
}

// auditRow is one line of the audit page.
var auditRow = regexp.MustCompile(`(?s)<tr id="audit-\d+" data-action="([a-z_]+)"[^>]*>(.*?)</tr>`)

func auditRows(body string) [][]string {
	return auditRow.FindAllStringSubmatch(body, -1)
}

func TestAuditPageListsStaffActions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	leaver := h.addUser("leaver@shop.cl", models.RoleStaff)
	if r := h.browser().loginWith("ghost@shop.cl", "not the password"); r.status != http.StatusUnauthorized {
		t.Fatalf("failed login: %d", r.status)
	}
	admin := h.browser()
	admin.login("admin@shop.cl")
	admin.createLink("OC-AUDIT-1", "12.990")
	if r := admin.get("/admin/sessions.csv"); r.status != http.StatusOK {
		t.Fatalf("export: %d", r.status)
	}
	if r := admin.submit("/admin/users/new", "/admin/users/new", url.Values{"email": {"added@shop.cl"}, "role": {"viewer"}, "password": {testPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("add user: %d", r.status)
	}
	if r := admin.submit(userPath(leaver, ""), userPath(leaver, "/disable"), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.status)
	}

	page := admin.get("/admin/audit")
	if page.status != http.StatusOK {
		t.Fatalf("GET /admin/audit: %d", page.status)
	}
	want := []struct {
		action string
		texts  []string
	}{
		{models.AuditLoginFailed, []string{"Inicio de sesión fallido", "ghost@shop.cl"}},
		{models.AuditLogin, []string{"Inicio de sesión", "admin@shop.cl"}},
		{models.AuditLinkCreated, []string{"Link de pago creado", "admin@shop.cl", "OC-AUDIT-1"}},
		{models.AuditExport, []string{"Exportación de sesiones", "CSV", "admin@shop.cl"}},
		{models.AuditUserAdded, []string{"Usuario añadido", "admin@shop.cl", "added@shop.cl"}},
		{models.AuditUserChanged, []string{"Usuario modificado", "admin@shop.cl", "leaver@shop.cl: desactivado"}},
	}
	rows := auditRows(page.body)
	for _, w := range want {
		i := slices.IndexFunc(rows, func(r []string) bool { return r[1] == w.action })
		if i < 0 {
			t.Errorf("no %s row on the audit page", w.action)
			continue
		}
		for _, text := range append(w.texts, "127.0.0.1") {
			if !strings.Contains(rows[i][2], text) {
				t.Errorf("%s row lacks %q: %s", w.action, text, rows[i][2])
			}
		}
	}
	if len(rows) > 0 && rows[0][1] != models.AuditUserChanged {
		t.Errorf("newest row is %s, want the latest action (user_changed) first", rows[0][1])
	}

	for _, role := range []string{"staff", "viewer"} {
		b := h.browser()
		b.login(role + "@shop.cl")
		if r := b.get("/admin/audit"); r.status != http.StatusForbidden || strings.Contains(r.body, "ghost@shop.cl") {
			t.Errorf("%s GET /admin/audit: %d, want 403", role, r.status)
		}
	}
}

func TestAuditPagePagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.addUser("admin@shop.cl", models.RoleAdmin)
	ctx := context.Background()
	const extra = 120
	for i := range extra {
		if err := h.store.RecordAudit(ctx, admin, "", models.AuditExport, "row-"+itoa(uint(i)), "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	b := h.browser()
	b.login("admin@shop.cl") // one more entry: the login
	seen := map[string]bool{}
	next := regexp.MustCompile(`href="/admin/audit\?before=(\d+)"`)
	path, pages := "/admin/audit", 0
	for path != "" {
		pages++
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page := b.get(path)
		rows := regexp.MustCompile(`<tr id="audit-(\d+)"`).FindAllStringSubmatch(page.body, -1)
		if len(rows) == 0 || len(rows) > 50 {
			t.Fatalf("%s shows %d rows", path, len(rows))
		}
		for _, r := range rows {
			if seen[r[1]] {
				t.Fatalf("entry %s shown on two pages", r[1])
			}
			seen[r[1]] = true
		}
		path = ""
		if m := next.FindStringSubmatch(page.body); m != nil {
			path = "/admin/audit?before=" + m[1]
		}
	}
	if len(seen) != extra+1 || pages != 3 {
		t.Fatalf("saw %d entries on %d pages, want %d on 3", len(seen), pages, extra+1)
	}
	if r := b.get("/admin/audit?before=abc"); r.status != http.StatusNotFound {
		t.Fatalf("?before=abc: %d, want 404", r.status)
	}
}

// auditActions reads every Audit* constant of the models package from its
// source, so a new action cannot be added without a text for it.
func auditActions(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../models/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Audit") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						actions = append(actions, v)
					}
				}
			}
		}
	}
	if !slices.Contains(actions, models.AuditLogin) || !slices.Contains(actions, models.AuditPassword) {
		t.Fatalf("did not find the Audit constants in ../models: %v", actions)
	}
	return actions
}

func TestEveryAuditActionHasAText(t *testing.T) {
	t.Parallel()
	for _, lang := range views.Languages {
		l := views.NewLocale(lang)
		for _, action := range auditActions(t) {
			key := "audit.action." + action
			if got := l.T(key); got == key || got == "" {
				t.Errorf("%s: no text for %s", lang, key)
			}
		}
	}
}
