package handlers_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

func TestAdminNeedsLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	anon := h.browser()
	for _, path := range []string{"/admin", "/admin/sessions", "/admin/sessions.csv", "/admin/sessions/1", "/admin/links/new", "/admin/links/1"} {
		r := anon.get(path)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
			t.Errorf("GET %s without login: %d %q, want 303 /login", path, r.status, r.header.Get("Location"))
		}
	}
	r := anon.post("/admin/links/new", url.Values{"merchant_order_id": {"X"}, "order_amount": {"1"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("POST without login: %d", r.status)
	}
	if r := anon.get("/healthz"); r.status != http.StatusOK {
		t.Errorf("/healthz: %d", r.status)
	}
	if r := anon.get("/readyz"); r.status != http.StatusOK {
		t.Errorf("/readyz: %d", r.status)
	}
}

func TestCSRFIsRequired(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	b := h.browser()
	b.get("/login") // gets a session cookie with a token
	for _, token := range []string{"", "wrong-token"} {
		r := b.post("/login", url.Values{"email": {"staff@shop.cl"}, "password": {testPassword}, "csrf": {token}})
		if r.status != http.StatusForbidden {
			t.Fatalf("login with csrf %q: %d, want 403", token, r.status)
		}
	}
	b.login("staff@shop.cl")
	r := b.post("/admin/links/new", url.Values{"merchant_order_id": {"OC-1"}, "order_amount": {"1000"}, "csrf": {"forged"}})
	if r.status != http.StatusForbidden {
		t.Fatalf("form post with a forged token: %d, want 403", r.status)
	}
	if r := b.post("/logout", url.Values{}); r.status != http.StatusForbidden {
		t.Fatalf("logout without token: %d, want 403", r.status)
	}
	rows, _ := h.store.ListSessions(context.Background(), models.SessionPage{})
	if link, err := h.store.LinkByID(context.Background(), 1); err == nil || len(rows) > 0 {
		t.Fatalf("a forged post made a link: %+v", link)
	}
}

func TestLoginFailuresLookTheSame(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	wrongPassword := h.browser().submit("/login", "/login", url.Values{"email": {"staff@shop.cl"}, "password": {"not the password"}})
	unknownUser := h.browser().submit("/login", "/login", url.Values{"email": {"nobody@shop.cl"}, "password": {"not the password"}})
	for _, r := range []response{wrongPassword, unknownUser} {
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Correo o contraseña incorrectos.") {
			t.Fatalf("failed login answered %d:\n%s", r.status, r.body)
		}
	}
	if strip(wrongPassword.body) != strip(unknownUser.body) {
		t.Fatal("unknown users and wrong passwords get different pages")
	}
}

// strip removes the parts of a page that differ per request (CSRF token, typed email).
func strip(page string) string {
	page = csrfInput.ReplaceAllString(page, "")
	return regexp.MustCompile(`value="[^"]*@shop.cl"`).ReplaceAllString(page, "")
}

func TestLoginIsThrottledPerAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	b := h.browser()
	for i := range 5 {
		if r := b.submit("/login", "/login", url.Values{"email": {"staff@shop.cl"}, "password": {"guess guess guess"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	// Now even the right password is refused for a while.
	r := b.submit("/login", "/login", url.Values{"email": {"staff@shop.cl"}, "password": {testPassword}})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Demasiados intentos") {
		t.Fatalf("throttled login answered %d", r.status)
	}
}

func TestLogoutEndsTheSessionOnTheServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	base, _ := url.Parse(h.base)
	stolen := b.client.Jar.Cookies(base)

	page := b.get("/admin/sessions")
	if r := b.post("/logout", url.Values{"csrf": {csrfToken(t, page.body)}}); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	// Replaying the cookie from before the logout must not work.
	replay := h.browser()
	replay.client.Jar.SetCookies(base, stolen)
	if r := replay.get("/admin/sessions"); r.status != http.StatusSeeOther {
		t.Fatalf("old cookie still works after logout: %d", r.status)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.browser().get("/login")
	cookie := r.header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Max-Age=43200"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Error("Secure set on an http BASE_URL: the cookie would never come back")
	}
	for header, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	} {
		if !strings.Contains(r.header.Get(header), want) {
			t.Errorf("%s = %q, want %q", header, r.header.Get(header), want)
		}
	}
}

func TestLinkFormValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("MAX_ORDER_AMOUNT", "1000000"))
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	b.createLink("TAKEN", "1000")

	tests := []struct {
		name, order, amount, email string
		field, message             string
	}{
		{"decimal comma", "OC-1", "1,5", "", "order_amount", "sin decimales"},
		{"decimal point", "OC-1", "1.5", "", "order_amount", "sin decimales"},
		{"zero", "OC-1", "0", "", "order_amount", "mayor que cero"},
		{"negative", "OC-1", "-5", "", "order_amount", "sin decimales"},
		{"exponent", "OC-1", "1e5", "", "order_amount", "sin decimales"},
		{"empty amount", "OC-1", "", "", "order_amount", "Ingresa el monto"},
		{"over the maximum", "OC-1", "1.000.001", "", "order_amount", "no puede superar $1.000.000"},
		{"huge", "OC-1", "99999999999999999999999", "", "order_amount", "no puede superar"},
		{"order with space", "OC 1", "1000", "", "merchant_order_id", "Usa solo letras"},
		{"order too long", strings.Repeat("x", 65), "1000", "", "merchant_order_id", "Usa solo letras"},
		{"order with accent", "ÑANDÚ", "1000", "", "merchant_order_id", "Usa solo letras"},
		{"order already open", "TAKEN", "1000", "", "merchant_order_id", "ya tiene un link"},
		{"bad email", "OC-1", "1000", "cliente@", "customer_email", "correo válido"},
		{"email with name", "OC-1", "1000", "Ana <ana@shop.cl>", "customer_email", "correo válido"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.submit("/admin/links/new", "/admin/links/new", url.Values{
				"merchant_order_id": {tt.order}, "order_amount": {tt.amount}, "customer_email": {tt.email},
			})
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("answered %d, want 422", r.status)
			}
			errBlock := regexp.MustCompile(`id="` + tt.field + `-error">([^<]*)<`).FindStringSubmatch(r.body)
			if errBlock == nil || !strings.Contains(errBlock[1], tt.message) {
				t.Fatalf("no message %q on field %s:\n%s", tt.message, tt.field, r.body)
			}
			if !strings.Contains(r.body, `value="`+template(tt.order)+`"`) {
				t.Fatal("the form lost the typed order id")
			}
		})
	}
	if _, err := h.store.LinkByID(context.Background(), 2); err != models.ErrNotFound {
		t.Fatalf("an invalid form stored a link (%v)", err)
	}
}

// template escapes s as html/template would in an attribute, for the cases above.
func template(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", " ", " ").Replace(s)
}

func TestLinkFormAcceptsChileanAmounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	for i, amount := range []string{"50000", "50.000", "$50.000", " $ 50.000 "} {
		payURL := b.createLink("OC-"+itoa(uint(i)), amount)
		link, err := h.store.LinkByCode(context.Background(), payURL[strings.LastIndex(payURL, "/")+1:])
		if err != nil || link.Amount != 50000 {
			t.Fatalf("%q stored as %+v (%v), want 50000", amount, link, err)
		}
	}
}

func TestSessionsCSV(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("staff@shop.cl", models.RoleStaff)
	paid, key := h.pendingSession("-SUM")
	h.postNotification(notificationBody(signedNotification(t, paid.SessionToken, "-SUM", "success", key)))
	h.pendingSession("OC-2")

	r := b.get("/admin/sessions.csv")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if strings.HasPrefix(r.body, "\uFEFF") {
		t.Fatal("CSV starts with a BOM")
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := strings.Join(records[0], ",")
	if !strings.HasPrefix(header, "merchant_order_id,order_amount,status,payment_status,payment_token,session_token,mode,created_at,paid_at") {
		t.Fatalf("header %q", header)
	}
	if len(records) != 3 {
		t.Fatalf("want 2 rows, got %d", len(records)-1)
	}
	first, second := records[1], records[2]
	if first[0] != "'-SUM" || first[1] != "1000" || first[2] != "paid" || first[4] != "PT-success" {
		t.Fatalf("first row (oldest, paid) = %q", first)
	}
	if second[2] != "pending" || second[4] != "" || second[8] != "" {
		t.Fatalf("second row (pending) = %q", second)
	}
	created, err := time.Parse(time.RFC3339, first[7])
	if err != nil {
		t.Fatalf("created_at %q is not ISO 8601: %v", first[7], err)
	}
	if _, offset := created.Zone(); offset != -3*3600 && offset != -4*3600 {
		t.Fatalf("created_at %q is not in America/Santiago", first[7])
	}
}

func TestSandboxBannerInSandboxModeOnly(t *testing.T) {
	t.Parallel()
	live := newHarness(t)
	live.addUser("staff@shop.cl", models.RoleStaff)
	b := live.browser()
	b.login("staff@shop.cl")
	if strings.Contains(b.get("/admin/sessions").body, "SANDBOX") {
		t.Fatal("live mode says SANDBOX")
	}

	sandboxed := newHarness(t, withEnv("ETPAY_API_URL", ""), withEnv("ETPAY_PMT_URL", ""), withEnv("ETPAY_MERCHANT_CODE", ""), withEnv("ETPAY_MERCHANT_API_TOKEN", ""))
	sandboxed.addUser("staff@shop.cl", models.RoleStaff)
	b = sandboxed.browser()
	b.login("staff@shop.cl")
	for _, path := range []string{"/admin/sessions", "/admin/links/new"} {
		if !strings.Contains(b.get(path).body, "SANDBOX") {
			t.Fatalf("%s in sandbox mode does not say SANDBOX", path)
		}
	}
}

func TestParallelGuessesCannotPassTheThrottle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	b := h.browser()
	token := csrfToken(t, b.get("/login").body)
	statuses := make(chan int, 30)
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- b.post("/login", url.Values{"email": {"staff@shop.cl"}, "password": {"guess guess guess"}, "csrf": {token}}).status
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[http.StatusUnauthorized] != 5 || counts[http.StatusTooManyRequests] != 25 {
		t.Fatalf("30 parallel guesses answered %v, want 5 checked and 25 throttled", counts)
	}
}

func TestViewersSeeNoRawNotifications(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	s, key := h.pendingSession("OC-1")
	token, err := etpay.SignNotification(etpay.NotificationClaims{
		SessionToken: s.SessionToken, MerchantOrderID: "OC-1", PaymentToken: "PT", PaymentStatus: "success", UserRUT: "12.345.678-5",
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	h.postNotification(notificationBody(token))
	staff, viewer := h.browser(), h.browser()
	staff.login("staff@shop.cl")
	viewer.login("viewer@shop.cl")
	for _, path := range []string{"/admin/sessions/" + itoa(s.ID), "/admin/links/" + itoa(s.LinkID)} {
		if body := staff.get(path).body; !strings.Contains(body, token) {
			t.Errorf("staff do not see the raw notification on %s", path)
		}
		body := viewer.get(path).body
		if strings.Contains(body, token) || strings.Contains(body, "12.345.678-5") {
			t.Errorf("a viewer sees the raw notification or the RUT on %s", path)
		}
		// They are told why, in words rather than a catalogue key.
		if !strings.Contains(body, "El mensaje recibido solo lo ven operadores y administradores") || strings.Contains(body, "notification.raw_hidden") {
			t.Errorf("a viewer is not told in words why the message is hidden on %s", path)
		}
	}
}

func TestViewersCannotSearchByEmailPrefix(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	link, err := h.store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: "OC-1", Amount: 1000, CustomerEmail: "ana@cliente.cl", Mode: "live"})
	if err != nil {
		t.Fatal(err)
	}
	h.browser().get("/pay/" + link.Code)
	staff, viewer := h.browser(), h.browser()
	staff.login("staff@shop.cl")
	viewer.login("viewer@shop.cl")
	if !strings.Contains(staff.get("/admin/sessions?q=ana").body, `id="session-`) {
		t.Fatal("staff cannot find a session by the start of its email")
	}
	if strings.Contains(viewer.get("/admin/sessions?q=ana").body, `id="session-`) {
		t.Fatal("a viewer can probe masked emails with prefix searches")
	}
	if !strings.Contains(viewer.get("/admin/sessions?q=OC-1").body, `id="session-`) {
		t.Fatal("a viewer cannot search by exact order id")
	}
}
