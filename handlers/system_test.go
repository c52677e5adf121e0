package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

// rowLevel finds the level of the row whose check cell is check.
func rowLevel(t *testing.T, page, check string) string {
	t.Helper()
	re := regexp.MustCompile(`<tr data-level="([a-z]+)">\s*<td>` + regexp.QuoteMeta(check) + `</td>`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no row for %q in:\n%s", check, page)
	}
	return m[1]
}

// Admins see the doctor's checks, verdict first; the harness runs in live
// mode on plain http, so the verdict is a failure about BASE_URL.
func TestSystemPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	r := b.get("/admin/system")
	if r.status != http.StatusOK {
		t.Fatalf("GET /admin/system: %d\n%s", r.status, r.body)
	}
	page := r.body
	verdict, table := strings.Index(page, `id="verdict"`), strings.Index(page, "<table")
	if verdict < 0 || table < 0 || verdict > table || !strings.Contains(page, `id="verdict" data-level="fail"`) {
		t.Errorf("the verdict (a failure) does not come before the table:\n%s", page)
	}
	for check, want := range map[string]string{
		"Dirección pública (BASE_URL)":     "fail", // http in live mode
		"El servidor responde en BASE_URL": "ok",   // the harness serves /healthz
		"Credenciales de ETpay":            "ok",   // the sandbox takes them
		"Reloj":                            "ok",
		"Correo (SMTP)":                    "warn",          // no SMTP_URL
		"Base de datos":                    databaseLevel(), // warn on PostgreSQL: its own checks
	} {
		if got := rowLevel(t, page, check); got != want {
			t.Errorf("%s: %s, want %s", check, got, want)
		}
	}
	if !strings.Contains(page, `href="/admin/system"`) {
		t.Error("admins have no navigation entry for the page")
	}
	if strings.Contains(page, testAPIToken) {
		t.Error("the page shows the merchant API token")
	}

	if r := b.submit("/admin/account", "/admin/account/lang", url.Values{"lang": {"en"}}); r.status != http.StatusSeeOther {
		t.Fatalf("switch to English: %d", r.status)
	}
	page = b.get("/admin/system").body
	if !strings.Contains(page, "<h1>System status</h1>") || rowLevel(t, page, "Public address (BASE_URL)") != "fail" ||
		!strings.Contains(page, "BASE_URL is "+h.base) {
		t.Errorf("English page:\n%s", page)
	}
}

// Staff and viewers may not see it, nor its navigation entry.
func TestSystemPageIsForAdmins(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, role := range []string{models.RoleStaff, models.RoleViewer} {
		b := h.loggedIn(role+"@shop.cl", role)
		if r := b.get("/admin/system"); r.status != http.StatusForbidden {
			t.Errorf("%s: GET /admin/system answered %d, want 403", role, r.status)
		}
		if strings.Contains(b.get("/admin/account").body, `href="/admin/system"`) {
			t.Errorf("%s sees the navigation entry", role)
		}
	}
}
