package handlers_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"etpay-dashboard/models"
)

// lockedBuffer is a log sink that the app and the test may use at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSecretsNeverShow runs the product's flows and checks that the merchant
// API token, the sessions' signature tokens, passwords and JWTs appear in no
// log line, and that no page or export shows the token, keys or passwords.
func TestSecretsNeverShow(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	h := newHarness(t, withLog(logs))
	h.addUser("staff@shop.cl", models.RoleStaff)
	h.addUser("admin@shop.cl", models.RoleAdmin)
	staff := h.browser()
	staff.login("staff@shop.cl")
	admin := h.browser()
	admin.login("admin@shop.cl")
	// A failed login with a canary password.
	failed := h.browser().submit("/login", "/login", url.Values{"email": {"staff@shop.cl"}, "password": {"canary-wrong-password-123"}})

	payURL := staff.createLink("OC-SECRET", "4990")
	back := payThroughFunnel(t, h.browser(), payURL, "approve")
	jwt := back[strings.Index(back, "jwt=")+4:]
	h.browser().get(back)
	paid := onlySession(t, h)
	key, err := h.store.SigningKey(context.Background(), paid.SessionToken)
	if err != nil || key == "" {
		t.Fatalf("signing key: %q %v", key, err)
	}
	other, otherKey := h.pendingSession("OC-OTHER")
	forged := notificationBody(signedNotification(t, other.SessionToken, "OC-OTHER", "success", "canary-forged-key"))
	h.postNotification(forged)
	h.postNotification(notificationBody(signedNotification(t, other.SessionToken, "OC-OTHER", "rejected", otherKey)))

	var pages []string
	for _, path := range []string{
		"/admin/sessions", "/admin/sessions.csv", "/admin/sessions/" + itoa(paid.ID), "/admin/sessions/" + itoa(other.ID),
		"/admin/links/" + itoa(paid.LinkID), "/admin/overview", "/admin/audit", "/admin/users", "/admin/account",
	} {
		pages = append(pages, admin.get(path).body)
	}
	pages = append(pages, failed.body, h.browser().get(back).body, h.browser().get(payURL).body)

	secrets := map[string]string{
		"merchant API token":      testAPIToken,
		"signature token":         key,
		"other signature token":   otherKey,
		"staff password":          testPassword,
		"wrong password typed in": "canary-wrong-password-123",
	}
	for name, secret := range secrets {
		for i, page := range pages {
			if strings.Contains(page, secret) {
				t.Errorf("page %d shows the %s", i, name)
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows the %s", name)
		}
	}
	for name, token := range map[string]string{"return JWT": jwt, "forged JWT": forged[12 : len(forged)-2], "link code": payURL[strings.LastIndex(payURL, "/")+1:]} {
		if strings.Contains(logs.String(), token) {
			t.Errorf("the log shows the %s", name)
		}
	}
	if !strings.Contains(logs.String(), "notification recorded") {
		t.Fatal("the log is empty: the test would prove nothing")
	}
}
