package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"etpay-dashboard/models"
)

// testClock is the time the app checks codes against, moved by the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// twoFactorHarness is the app on a clock that starts 10 s into a time step,
// trusting loopback as a proxy so browsers can come from several addresses.
func twoFactorHarness(t *testing.T) (*harness, *testClock) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 3, 2, 13, 0, 10, 0, time.UTC)}
	return newHarness(t, withClock(clock.Now), withEnv("TRUSTED_PROXIES", "127.0.0.1/32")), clock
}

// step is one TOTP time step.
const step = 30 * time.Second

// codeAt is what an authenticator app holding secret shows at time at.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

var (
	totpSecretText = regexp.MustCompile(`id="totp-secret">([^<]*)<`)
	recoveryCode   = regexp.MustCompile(`class="recovery-code">([^<]*)<`)
)

// startEnrolment asks for a new secret and returns it as the page shows it.
func (b *browser) startEnrolment() string {
	t := b.h.t
	t.Helper()
	r := b.submit("/admin/account/2fa", "/admin/account/2fa", url.Values{"action": {"start"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/admin/account/2fa") {
		t.Fatalf("start enrolment: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	page := b.get(r.header.Get("Location"))
	m := totpSecretText.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no element with id totp-secret on the enrolment page:\n%s", page.body)
	}
	return strings.ReplaceAll(m[1], " ", "")
}

// confirmEnrolment sends code for the pending secret.
func (b *browser) confirmEnrolment(code string) response {
	b.h.t.Helper()
	return b.submit("/admin/account/2fa", "/admin/account/2fa", url.Values{"action": {"confirm"}, "code": {code}})
}

// enrol turns the second factor on for b's user and returns the secret and
// the recovery codes shown.
func (b *browser) enrol(clock *testClock) (string, []string) {
	t := b.h.t
	t.Helper()
	secret := b.startEnrolment()
	r := b.confirmEnrolment(codeAt(t, secret, clock.Now()))
	if r.status != http.StatusOK {
		t.Fatalf("confirm enrolment: %d\n%s", r.status, r.body)
	}
	var codes []string
	for _, m := range recoveryCode.FindAllStringSubmatch(r.body, -1) {
		codes = append(codes, m[1])
	}
	return secret, codes
}

// password logs b in up to the code: it must be asked for next.
func (b *browser) password(email string) {
	b.h.t.Helper()
	r := b.loginWith(email, testPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/2fa" {
		b.h.t.Fatalf("password of %s: %d %s, want 303 /login/2fa", email, r.status, r.header.Get("Location"))
	}
}

// answer sends code on the login's code form.
func (b *browser) answer(code string) response {
	b.h.t.Helper()
	return b.submit("/login/2fa", "/login/2fa", url.Values{"code": {code}})
}

// loginWithCode logs b in with the password and a code, which must work.
func (b *browser) loginWithCode(email, code string) {
	b.h.t.Helper()
	b.password(email)
	if r := b.answer(code); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions" {
		b.h.t.Fatalf("code for %s: %d %s\n%s", email, r.status, r.header.Get("Location"), r.body)
	}
}

func (b *browser) logout() {
	b.h.t.Helper()
	if r := b.submit("/admin/account", "/logout", url.Values{}); r.status != http.StatusSeeOther {
		b.h.t.Fatalf("logout: %d", r.status)
	}
}

func TestTwoFactorEnrolment(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	user := h.addUser("staff@shop.cl", models.RoleStaff)
	b := h.browser()
	b.login("staff@shop.cl")
	elsewhere := h.browser()
	elsewhere.login("staff@shop.cl")

	page := b.get("/admin/account/2fa")
	if page.status != http.StatusOK || totpSecretText.MatchString(page.body) || !strings.Contains(page.body, `name="action" value="start"`) {
		t.Fatalf("before starting, the page shows a secret or no start button: %d\n%s", page.status, page.body)
	}
	secret := b.startEnrolment()
	if len(secret) != 32 || strings.ToUpper(secret) != secret {
		t.Fatalf("manual key %q: want 32 upper-case base32 characters", secret)
	}
	page = b.get("/admin/account/2fa")
	if !strings.Contains(page.body, `src="data:image/png;base64,`) || strings.Contains(page.body, `value="`+secret) {
		t.Fatalf("the page lacks the QR code or puts the secret in an input:\n%s", page.body)
	}
	// The pending secret is kept on the server: another browser of the same user sees it.
	if m := totpSecretText.FindStringSubmatch(elsewhere.get("/admin/account/2fa").body); m == nil || strings.ReplaceAll(m[1], " ", "") != secret {
		t.Fatal("the pending secret is not kept on the server")
	}

	for name, code := range map[string]string{
		"empty":          "",
		"two steps ago":  codeAt(t, secret, clock.Now().Add(-2*step)),
		"another secret": codeAt(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", clock.Now()),
	} {
		r := b.confirmEnrolment(code)
		if r.status != http.StatusUnprocessableEntity || recoveryCode.MatchString(r.body) || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Fatalf("%s code: %d, want 422 with the field marked and no recovery codes\n%s", name, r.status, r.body)
		}
	}
	if on, _ := h.store.HasSecondFactor(context.Background(), user.ID); on {
		t.Fatal("wrong codes turned 2FA on")
	}

	r := b.confirmEnrolment(codeAt(t, secret, clock.Now()))
	codes := recoveryCode.FindAllStringSubmatch(r.body, -1)
	if r.status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("right code: %d with %d recovery codes, want 200 and 10\n%s", r.status, len(codes), r.body)
	}
	seen := map[string]bool{}
	for _, m := range codes {
		if len(m[1]) < 16 || seen[m[1]] {
			t.Fatalf("recovery code %q: short or repeated", m[1])
		}
		seen[m[1]] = true
	}
	if on, _ := h.store.HasSecondFactor(context.Background(), user.ID); !on {
		t.Fatal("the right code did not turn 2FA on")
	}
	// Shown once: never again, and the secret is no longer shown either.
	page = b.get("/admin/account/2fa")
	if recoveryCode.MatchString(page.body) || totpSecretText.MatchString(page.body) || strings.Contains(page.body, secret) {
		t.Fatalf("the page shows recovery codes or the secret again:\n%s", page.body)
	}
	if !strings.Contains(page.body, "Códigos de recuperación sin usar: 10.") {
		t.Errorf("the page does not count the unused recovery codes:\n%s", page.body)
	}
	// The other browser logged in with the password alone is logged out.
	if elsewhere.loggedIn() {
		t.Error("a login made without the second factor survived turning it on")
	}
	if !b.loggedIn() {
		t.Error("the browser that turned 2FA on was logged out")
	}
	// Neither the secret nor any recovery code is in the database as typed.
	stored := storedData(t, h)
	for _, plain := range append([]string{secret}, strings.ReplaceAll(codes[0][1], "-", ""), codes[0][1]) {
		if strings.Contains(strings.ToLower(string(stored)), strings.ToLower(plain)) {
			t.Errorf("the database holds %q in the clear", plain)
		}
	}
}

func TestLoginAsksForTheCode(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	b := h.browser()
	b.login("admin@shop.cl")
	secret, _ := b.enrol(clock)
	b.logout()

	clock.Add(step)
	b.password("admin@shop.cl")
	page := b.get("/login/2fa")
	if page.status != http.StatusOK || !strings.Contains(page.body, `name="code"`) || !strings.Contains(page.body, `autocomplete="one-time-code"`) {
		t.Fatalf("code form: %d\n%s", page.status, page.body)
	}
	code := codeAt(t, secret, clock.Now())
	if r := b.post("/login/2fa", url.Values{"code": {code}}); r.status != http.StatusForbidden {
		t.Fatalf("code without a CSRF token: %d, want 403", r.status)
	}
	if r := b.answer("000000"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "El código no es correcto") {
		if code != "000000" {
			t.Fatalf("wrong code: %d, want 401\n%s", r.status, r.body)
		}
	}
	halfCookie := b.client.Jar.Cookies(mustURL(h.base))
	if r := b.answer(code); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions" {
		t.Fatalf("right code: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if !b.loggedIn() {
		t.Fatal("not logged in after the code")
	}
	// The code form, visited again (a back button), leads to the panel.
	if r := b.get("/login/2fa"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions" || !b.loggedIn() {
		t.Fatalf("the code form once logged in: %d %s, want 303 /admin/sessions and still logged in", r.status, r.header.Get("Location"))
	}
	// The half-login's cookie did not become the login (a new id was issued).
	stale := h.browser()
	stale.client.Jar.SetCookies(mustURL(h.base), halfCookie)
	if r := stale.get("/admin/sessions"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("the cookie from before the code: %d %s, want 303 /login", r.status, r.header.Get("Location"))
	}

	// The same code again, from another browser in the same step: refused.
	replay := h.browser()
	replay.password("admin@shop.cl")
	if r := replay.answer(code); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "ya se usó") {
		t.Fatalf("a replayed code: %d, want 401 already used\n%s", r.status, r.body)
	}
	clock.Add(step)
	if r := replay.answer(codeAt(t, secret, clock.Now())); r.status != http.StatusSeeOther {
		t.Fatalf("the next step's code: %d", r.status)
	}

	rows := auditRows(b.get("/admin/audit").body)
	logins, failed := 0, 0
	for _, row := range rows {
		switch row[1] {
		case models.AuditLogin:
			if strings.Contains(row[2], "con verificación en dos pasos") {
				logins++
			}
		case models.AuditSecondFactorFailed:
			failed++
		}
	}
	if logins != 2 || failed < 1 {
		t.Errorf("audit: %d logins with 2fa (want 2), %d failed codes (want at least the replay)", logins, failed)
	}
}

func TestCodesOfNeighbouringStepsOnly(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	h.addUser("staff@shop.cl", models.RoleStaff)
	b := h.browser()
	b.login("staff@shop.cl")
	secret, _ := b.enrol(clock)
	b.logout()

	tests := []struct {
		name   string
		offset time.Duration
		want   int
	}{
		{"previous step (a slow phone)", -step, http.StatusSeeOther},
		{"next step (a fast phone)", step, http.StatusSeeOther},
		{"current step, late in it", 19 * time.Second, http.StatusSeeOther},
		{"two steps ago", -2 * step, http.StatusUnauthorized},
		{"two steps ahead", 2 * step, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		// Far from every step accepted before, so only the drift decides.
		clock.Add(10 * time.Minute)
		b := h.browser()
		b.password("staff@shop.cl")
		if r := b.answer(codeAt(t, secret, clock.Now().Add(tt.offset))); r.status != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, r.status, tt.want)
		}
	}
}

func TestRecoveryCodeWorksOnce(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	h.addUser("viewer@shop.cl", models.RoleViewer)
	b := h.browser()
	b.login("viewer@shop.cl")
	_, codes := b.enrol(clock)
	b.logout()

	b.password("viewer@shop.cl")
	r := b.answer(codes[0])
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/account/2fa" {
		t.Fatalf("a recovery code: %d %s", r.status, r.header.Get("Location"))
	}
	if page := b.get("/admin/account/2fa"); !strings.Contains(page.body, "Códigos de recuperación sin usar: 9.") {
		t.Fatalf("the page does not say 9 codes are left:\n%s", page.body)
	}
	b.logout()

	b.password("viewer@shop.cl")
	if r := b.answer(codes[0]); r.status != http.StatusUnauthorized {
		t.Fatalf("the same recovery code again: %d, want 401", r.status)
	}
	// Typed as people do: upper case, without dashes.
	if r := b.answer(strings.ToUpper(strings.ReplaceAll(codes[1], "-", " "))); r.status != http.StatusSeeOther {
		t.Fatalf("another recovery code, upper case with spaces: %d", r.status)
	}
}

func TestWrongCodesAreThrottledAndAudited(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	enroller := h.browserFrom(adminAddr)
	enroller.login("admin@shop.cl")
	secret, _ := enroller.enrol(clock)

	guesser := h.browserFrom(guesserAddr)
	guesser.password("admin@shop.cl")
	right := codeAt(t, secret, clock.Now().Add(step))
	var wrong []string
	for _, code := range []string{"111111", "222222", "333333", "444444", "555555", "666666"} {
		if code != right && len(wrong) < 5 {
			wrong = append(wrong, code)
		}
	}
	for i, code := range wrong {
		if i == 3 {
			// Typing the password again does not start the count again.
			guesser.password("admin@shop.cl")
		}
		if r := guesser.answer(code); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d, want 401", i+1, r.status)
		}
	}
	// Even the right code is refused now, and so is the password.
	if r := guesser.answer(right); r.status != http.StatusTooManyRequests {
		t.Fatalf("after 5 wrong codes: %d, want 429", r.status)
	}
	if r := guesser.loginWith("admin@shop.cl", testPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("the password again after 5 wrong codes: %d, want 429", r.status)
	}
	// The owner, from an address that has not been failing, gets in.
	owner := h.browserFrom(ownerAddr)
	owner.loginWithCode("admin@shop.cl", right)

	failed := 0
	for _, row := range auditRows(owner.get("/admin/audit").body) {
		if row[1] == models.AuditSecondFactorFailed {
			if !strings.Contains(row[2], guesserAddr) || !strings.Contains(row[2], "admin@shop.cl") {
				t.Errorf("a failed-code row lacks the address or the user:\n%s", row[2])
			}
			failed++
		}
	}
	if failed != 5 {
		t.Errorf("audit log lists %d wrong codes, want 5", failed)
	}
}

// probe sends a request and reads only its status, Location and content
// type, so a stream cannot hold the test.
func (b *browser) probe(method, path string, form url.Values) (int, string, string) {
	b.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var body *strings.Reader
	if form == nil {
		body = strings.NewReader("")
	} else {
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
	return resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type")
}

// everyAdminRouteSendsTo checks that b gets a 303 to want on every /admin
// route but those in open, and never a live stream.
func everyAdminRouteSendsTo(t *testing.T, h *harness, b *browser, csrf, want string, open ...string) {
	t.Helper()
	routes := adminRoutes(h)
	if len(routes) < 30 {
		t.Fatalf("only %d admin routes found", len(routes))
	}
	for _, key := range routes {
		method, path, _ := strings.Cut(key, " ")
		target := routeParam.ReplaceAllString(path, "1")
		var form url.Values
		if method == http.MethodPost {
			form = url.Values{"csrf": {csrf}}
		}
		status, location, contentType := b.probe(method, target, form)
		if strings.Contains(contentType, "event-stream") {
			t.Errorf("%s %s opened a live stream", method, target)
		}
		if slices.Contains(open, key) {
			if status == http.StatusSeeOther && location == want {
				t.Errorf("%s %s: sent to %s, but it must stay open", method, target, want)
			}
			continue
		}
		if status != http.StatusSeeOther || location != want {
			t.Errorf("%s %s: %d %s, want 303 %s", method, target, status, location, want)
		}
	}
}

func TestHalfLoggedInReachesNoAdminRoute(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	b := h.browser()
	b.login("admin@shop.cl")
	b.enrol(clock)
	b.logout()

	half := h.browser()
	half.password("admin@shop.cl")
	csrf := csrfToken(t, half.get("/login/2fa").body)
	everyAdminRouteSendsTo(t, h, half, csrf, "/login/2fa")
	if status, location, _ := half.probe(http.MethodGet, "/admin/events", nil); status != http.StatusSeeOther || location != "/login/2fa" {
		t.Errorf("/admin/events for a half login: %d %s", status, location)
	}
	// Logging out works, and ends the half login.
	if r := half.post("/logout", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("logout of a half login: %d %s", r.status, r.header.Get("Location"))
	}
	if r := half.get("/login/2fa"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("the code form after logout: %d %s, want 303 /login", r.status, r.header.Get("Location"))
	}
	if r := half.get("/admin/sessions"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("an admin page after logout: %d %s, want 303 /login", r.status, r.header.Get("Location"))
	}
}

func TestSecondFactorRequiredOfEveryone(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	h.addUser("other-admin@shop.cl", models.RoleAdmin)
	admin := h.browser()
	admin.login("admin@shop.cl")
	other := h.browser()
	other.login("other-admin@shop.cl")

	// Off by default: a user without 2FA uses the panel.
	users := admin.get("/admin/users")
	if !strings.Contains(users.body, `action="/admin/users/require-2fa"`) || strings.Contains(users.body, `value="on" aria-describedby="required-hint" checked`) {
		t.Fatalf("the users page lacks the switch, or it is on by default:\n%s", users.body)
	}
	if r := other.get("/admin/sessions"); r.status != http.StatusOK {
		t.Fatalf("without the requirement: %d", r.status)
	}

	admin.enrol(clock)
	r := admin.submit("/admin/users", "/admin/users/require-2fa", url.Values{"required": {"on"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/users" {
		t.Fatalf("switch on: %d %s", r.status, r.header.Get("Location"))
	}
	if page := admin.get("/admin/users"); !strings.Contains(page.body, " checked>") {
		t.Error("the switch does not show on")
	}
	// An enrolled user is not held up.
	if r := admin.get("/admin/sessions"); r.status != http.StatusOK {
		t.Fatalf("an enrolled admin: %d", r.status)
	}

	// A user without 2FA is sent to enrol from every route but its page.
	csrf := csrfToken(t, other.get("/admin/account/2fa").body)
	everyAdminRouteSendsTo(t, h, other, csrf, "/admin/account/2fa", "GET /admin/account/2fa", "POST /admin/account/2fa")
	if required, _ := h.store.SecondFactorRequired(context.Background()); !required {
		t.Fatal("a user sent to enrol switched the requirement off")
	}
	// Logging out works; logging in again leads to enrolment.
	if r := other.post("/logout", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	other.login("other-admin@shop.cl")
	if r := other.get("/admin/sessions"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/account/2fa" {
		t.Fatalf("after login: %d %s", r.status, r.header.Get("Location"))
	}
	if page := other.get("/admin/account/2fa"); !strings.Contains(page.body, "exige la verificación en dos pasos") {
		t.Errorf("the enrolment page does not say why:\n%s", page.body)
	}
	other.enrol(clock)
	if r := other.get("/admin/sessions"); r.status != http.StatusOK {
		t.Fatalf("after enrolling: %d", r.status)
	}

	// Switching off is audited too.
	if r := admin.submit("/admin/users", "/admin/users/require-2fa", url.Values{}); r.header.Get("Location") != "/admin/users" {
		t.Fatalf("switch off: %d %s", r.status, r.header.Get("Location"))
	}
	switches := []string{}
	for _, row := range auditRows(admin.get("/admin/audit").body) {
		if row[1] == models.AuditSecondFactorRequired {
			switches = append(switches, row[2])
		}
	}
	if len(switches) != 2 || !strings.Contains(switches[0], `role="cell">desactivado</td>`) || !strings.Contains(switches[1], `role="cell">activado</td>`) {
		t.Errorf("audit of the switch: %q", switches)
	}
}

func TestAdminResetsAUsersSecondFactor(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	staff := h.addUser("staff@shop.cl", models.RoleStaff)
	admin := h.browser()
	admin.login("admin@shop.cl")
	b := h.browser()
	b.login("staff@shop.cl")
	secret, _ := b.enrol(clock)
	clock.Add(step)
	second := h.browser()
	second.loginWithCode("staff@shop.cl", codeAt(t, secret, clock.Now()))
	events, _ := second.openStream(t, "")
	h.pendingSession("OC-1")
	if ev := next(t, events); ev.name != "session" {
		t.Fatalf("first event %q", ev.name)
	}

	if page := admin.get(userPath(staff, "")); !strings.Contains(page.body, `href="/admin/users/`+itoa(staff.ID)+`/2fa/reset"`) {
		t.Fatalf("the user page offers no reset:\n%s", page.body)
	}
	if page := admin.get(userPath(staff, "/2fa/reset")); !strings.Contains(page.body, `action="/admin/users/`+itoa(staff.ID)+`/2fa/reset"`) {
		t.Fatalf("the reset's confirmation has no form for it:\n%s", page.body)
	}
	r := admin.submit(userPath(staff, "/2fa/reset"), userPath(staff, "/2fa/reset"), url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != userPath(staff, "") {
		t.Fatalf("reset: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if b.loggedIn() || second.loggedIn() {
		t.Error("the user's sessions survived the reset")
	}
	h.pendingSession("OC-2")
	select {
	case ev, ok := <-events:
		if ok {
			t.Fatalf("the reset user's live table still got %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reset user's live table stayed open")
	}
	// The user logs in with the password alone again.
	b.login("staff@shop.cl")

	if r := admin.submit(userPath(staff, ""), userPath(staff, "/2fa/reset"), url.Values{}); r.status != http.StatusConflict {
		t.Errorf("resetting a user without 2FA: %d, want 409", r.status)
	}
	self := h.store
	adminUser, _ := self.UserByEmail(context.Background(), "admin@shop.cl")
	admin.enrol(clock)
	if r := admin.submit(userPath(adminUser, ""), userPath(adminUser, "/2fa/reset"), url.Values{}); r.status != http.StatusConflict {
		t.Errorf("an admin resetting their own 2FA without a code: %d, want 409", r.status)
	}
	if on, _ := h.store.HasSecondFactor(context.Background(), adminUser.ID); !on {
		t.Error("the admin's own 2FA was reset")
	}
	resets := 0
	for _, row := range auditRows(admin.get("/admin/audit").body) {
		if row[1] == models.AuditSecondFactorReset && strings.Contains(row[2], "staff@shop.cl") {
			resets++
		}
	}
	if resets != 1 {
		t.Errorf("audit lists %d resets of staff@shop.cl, want 1", resets)
	}
}

func TestTurningOffOwnSecondFactorNeedsACurrentCode(t *testing.T) {
	t.Parallel()
	h, clock := twoFactorHarness(t)
	user := h.addUser("staff@shop.cl", models.RoleStaff)
	b := h.browser()
	b.login("staff@shop.cl")
	secret, _ := b.enrol(clock)
	enrolCode := codeAt(t, secret, clock.Now())
	turnOff := func(code string) response {
		return b.submit("/admin/account/2fa", "/admin/account/2fa", url.Values{"action": {"off"}, "code": {code}})
	}
	for name, code := range map[string]string{
		"no code":               "",
		"the code just used":    enrolCode,
		"a code of long ago":    codeAt(t, secret, clock.Now().Add(-10*time.Minute)),
		"a code of another app": codeAt(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", clock.Now()),
	} {
		if r := turnOff(code); r.status != http.StatusUnprocessableEntity {
			t.Errorf("turning off with %s: %d, want 422", name, r.status)
		}
	}
	if on, _ := h.store.HasSecondFactor(context.Background(), user.ID); !on {
		t.Fatal("2FA was turned off without a current code")
	}
	clock.Add(step)
	if r := turnOff(codeAt(t, secret, clock.Now())); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/account/2fa" {
		t.Fatalf("turning off with a current code: %d %s", r.status, r.header.Get("Location"))
	}
	if on, _ := h.store.HasSecondFactor(context.Background(), user.ID); on {
		t.Fatal("still on")
	}
	b.logout()
	b.login("staff@shop.cl") // the password alone again
	failed := 0
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	for _, row := range auditRows(admin.get("/admin/audit").body) {
		if row[1] == models.AuditSecondFactorFailed {
			failed++
		}
	}
	if failed != 4 {
		t.Errorf("audit lists %d wrong codes, want 4", failed)
	}
}
