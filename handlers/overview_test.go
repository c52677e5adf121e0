package handlers_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// paidLink makes a link in mode and records a verified payment of its session
// now, straight through the Store, as the webhook would.
func (h *harness) paidLink(order, mode string, amount int64) (*models.Link, *models.Session) {
	h.t.Helper()
	link := h.openLink(order, mode, amount)
	sess := h.addPendingSession(link, "tok-"+order)
	h.recordResult(sess, "PT-"+order, true)
	return link, sess
}

func (h *harness) openLink(order, mode string, amount int64) *models.Link {
	h.t.Helper()
	link, err := h.store.CreateLink(context.Background(), models.LinkInput{MerchantOrderID: order, Amount: amount, Mode: mode})
	if err != nil {
		h.t.Fatal(err)
	}
	return link
}

func (h *harness) addPendingSession(link *models.Link, token string) *models.Session {
	h.t.Helper()
	sess := &models.Session{LinkID: link.ID, SessionToken: token, SignatureToken: "sig-" + token, Mode: link.Mode}
	if err := h.store.AddSession(context.Background(), sess); err != nil {
		h.t.Fatal(err)
	}
	return sess
}

// recordResult stores a verified notification saying the session was paid (or failed).
func (h *harness) recordResult(sess *models.Session, paymentToken string, paid bool) {
	h.t.Helper()
	status := "failed"
	if paid {
		status = "success"
	}
	_, err := h.store.RecordNotification(context.Background(), models.NotificationInput{
		ReceivedAt: time.Now(), Body: []byte(sess.SessionToken + paymentToken + status), Verified: true, Paid: paid,
		SessionToken: sess.SessionToken, MerchantOrderID: sess.MerchantOrderID, PaymentToken: paymentToken, PaymentStatus: status,
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

var (
	barRect    = regexp.MustCompile(`<rect class="bar" x="[\d.]+%" y="\d+" width="[\d.]+%" height="(\d+)"`)
	statValue  = regexp.MustCompile(`<dt>([^<]+)</dt><dd>([^<]+)</dd>`)
	currentTab = regexp.MustCompile(`href="/admin/overview\?mode=(\w+)" aria-current="page"`)
)

// stats maps each figure's label to its value.
func stats(page string) map[string]string {
	out := map[string]string{}
	for _, m := range statValue.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func TestOverviewFigures(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // a live app: every ETPAY_* setting is given
	h.addUser("viewer@example.cl", models.RoleViewer)
	h.paidLink("OC-1", "live", 12990)
	h.openLink("OC-2", "live", 5000)
	h.paidLink("OC-S", "sandbox", 40000)
	b := h.browser()
	b.login("viewer@example.cl")

	tests := []struct {
		name, path, mode string
		today, conv      string
		absent           string
		nonZeroBars      int
	}{
		{"live by default", "/admin/overview", "live", "$12.990", "50,0 %", "$40.000", 1},
		{"sandbox behind the toggle", "/admin/overview?mode=sandbox", "sandbox", "$40.000", "100,0 %", "$12.990", 1},
		{"both modes", "/admin/overview?mode=all", "all", "$52.990", "66,7 %", "$40.000", 1},
		{"unknown mode falls back to the default", "/admin/overview?mode=bogus", "live", "$12.990", "50,0 %", "$40.000", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.get(tt.path)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: %d\n%s", tt.path, r.status, r.body)
			}
			s := stats(r.body)
			if s["Recaudado hoy"] != tt.today || s["Recaudado este mes"] != tt.today {
				t.Errorf("today/month = %q/%q, want %q", s["Recaudado hoy"], s["Recaudado este mes"], tt.today)
			}
			if got := s["Conversión (links pagados / creados)"]; got != tt.conv {
				t.Errorf("conversion = %q, want %q", got, tt.conv)
			}
			if strings.Contains(r.body, tt.absent) {
				t.Errorf("page shows %q from another mode", tt.absent)
			}
			if m := currentTab.FindStringSubmatch(r.body); m == nil || m[1] != tt.mode {
				t.Errorf("current mode button = %v, want %s", m, tt.mode)
			}
			if !strings.Contains(r.body, views.NewLocale("es").T("overview.showing."+tt.mode)) {
				t.Errorf("page does not say it shows mode %s", tt.mode)
			}
			if !strings.Contains(r.body, `<svg`) || !strings.Contains(r.body, `role="img"`) || !strings.Contains(r.body, `aria-label="Gráfico de barras`) {
				t.Error("no accessible inline SVG chart")
			}
			bars := barRect.FindAllStringSubmatch(r.body, -1)
			if len(bars) != 30 {
				t.Fatalf("%d bars, want 30", len(bars))
			}
			nonZero := 0
			for _, bar := range bars {
				if bar[1] != "0" {
					nonZero++
				}
			}
			if nonZero != tt.nonZeroBars || bars[29][1] != "152" {
				t.Errorf("%d non-zero bars, today's height %s; want %d and the full 152", nonZero, bars[29][1], tt.nonZeroBars)
			}
			today := time.Now().In(views.Santiago).Format("02-01-2006")
			if !strings.Contains(r.body, "<title>"+today+": "+tt.today+"</title>") {
				t.Errorf("no bar title for today %s with %s", today, tt.today)
			}
			if strings.Contains(r.body, ` style=`) {
				t.Error("inline style attribute on the page (CSP)")
			}
		})
	}
}

func TestOverviewEmpty(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.loggedIn("viewer@example.cl", models.RoleViewer)
	r := b.get("/admin/overview")
	if r.status != http.StatusOK {
		t.Fatalf("GET /admin/overview: %d", r.status)
	}
	l := views.NewLocale("es")
	for _, want := range []string{`<div class="empty">`, l.T("overview.empty.live"), l.T("overview.attention.none")} {
		if !strings.Contains(r.body, want) {
			t.Errorf("empty overview lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<svg") {
		t.Error("empty overview draws a chart")
	}
	empty := r.body[strings.Index(r.body, `<div class="empty">`):]
	empty = empty[:strings.Index(empty, "</div>")]
	if strings.Contains(empty, "/admin/links/new") {
		t.Error("empty state offers a viewer a button to make links")
	}
}

func TestOverviewSandboxAppShowsSandboxByDefault(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEnv("ETPAY_API_URL", ""), withEnv("ETPAY_PMT_URL", ""), withEnv("ETPAY_MERCHANT_CODE", ""), withEnv("ETPAY_MERCHANT_API_TOKEN", ""))
	if h.cfg.Mode != "sandbox" {
		t.Fatalf("app mode = %s, want sandbox", h.cfg.Mode)
	}
	h.addUser("staff@example.cl", models.RoleStaff)
	h.paidLink("OC-S", "sandbox", 7000)
	b := h.browser()
	b.login("staff@example.cl")

	r := b.get("/admin/overview")
	if m := currentTab.FindStringSubmatch(r.body); r.status != http.StatusOK || m == nil || m[1] != "sandbox" {
		t.Fatalf("default mode = %v (status %d), want sandbox", m, r.status)
	}
	if got := stats(r.body)["Recaudado hoy"]; got != "$7.000" {
		t.Errorf("today = %q, want $7.000", got)
	}
	r = b.get("/admin/overview?mode=live")
	if !strings.Contains(r.body, views.NewLocale("es").T("overview.empty.live")) || !strings.Contains(r.body, `href="/admin/links/new"`) {
		t.Error("live view of a sandbox app should be empty and offer staff a new link")
	}
}

func TestOverviewNeedsAttention(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.addUser("viewer@example.cl", models.RoleViewer)

	// Forgeries: a bad signature twice (one row, counted twice) and a malformed body.
	pending := h.addPendingSession(h.openLink("OC-F", "live", 1000), "tok-F")
	forged := notificationBody(signedNotification(t, pending.SessionToken, "OC-F", "success", "not the key"))
	for range 2 {
		if r := h.postNotification(forged); r.status != http.StatusUnauthorized {
			t.Fatalf("forgery answered %d", r.status)
		}
	}
	if r := h.postNotification(`{"payment":"hello"}`); r.status != http.StatusBadRequest {
		t.Fatalf("malformed answered %d", r.status)
	}
	// A link paid twice, and a paid session that ETpay later says failed.
	double := h.openLink("OC-D", "live", 1000)
	first, second := h.addPendingSession(double, "tok-D1"), h.addPendingSession(double, "tok-D2")
	h.recordResult(first, "PT-D1", true)
	h.recordResult(second, "PT-D2", true)
	_, conflicted := h.paidLink("OC-C", "live", 2000)
	h.recordResult(conflicted, "PT-C-late", false)

	b := h.browser()
	b.login("viewer@example.cl")
	r := b.get("/admin/overview")
	if r.status != http.StatusOK {
		t.Fatalf("GET /admin/overview: %d", r.status)
	}
	tests := []struct {
		name string
		want *regexp.Regexp
	}{
		{"bad signature counted twice", regexp.MustCompile(`<tr data-reason="bad_signature"><td>firma inválida</td><td class="num">2</td>`)},
		{"malformed once", regexp.MustCompile(`<tr data-reason="malformed"><td>mensaje mal formado</td><td class="num">1</td>`)},
		{"double payment linked to its link", regexp.MustCompile(`<a href="/admin/links/` + itoa(double.ID) + `">OC-D</a> <span class="badge badge-failed">pago doble</span>`)},
		{"conflict linked to its session", regexp.MustCompile(`(?s)id="attention-conflicts".*<a href="/admin/sessions/` + itoa(conflicted.ID) + `">OC-C</a>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.want.MatchString(r.body) {
				t.Errorf("page lacks %s", tt.want)
			}
		})
	}
	if strings.Contains(r.body, views.NewLocale("es").T("overview.attention.none")) {
		t.Error("page says nothing needs attention")
	}
	if strings.Contains(r.body, `id="attention-pending"`) {
		t.Error("a session pending for seconds is listed as stale")
	}
}

func TestOverviewAccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.browser().get("/admin/overview")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("anonymous GET /admin/overview: %d %s, want 303 to /login", r.status, r.header.Get("Location"))
	}
}

func TestOverviewPercentFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang string
		pct  float64
		want string
	}{
		{"es", 42.5, "42,5 %"},
		{"en", 42.5, "42.5%"},
		{"es", 100.0 / 3, "33,3 %"},
		{"en", 100, "100.0%"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.want, func(t *testing.T) {
			if got := views.NewLocale(tt.lang).T("overview.percent", tt.pct); got != tt.want {
				t.Errorf("percent(%v) in %s = %q, want %q", tt.pct, tt.lang, got, tt.want)
			}
		})
	}
}
