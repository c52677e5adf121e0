package handlers_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

// TestFailuresSayWhy: a failed session stays "failed", but the session's
// page, the link's timeline and the customer's page say whether the
// customer cancelled or the bank refused, as ETpay's payment_status says; a
// word we do not know is plain "fallida" with the word itself shown to
// staff. The CSV keeps ETpay's raw word and no Spanish.
func TestFailuresSayWhy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staff := h.loggedIn("staff@shop.cl", models.RoleStaff)
	type failure struct {
		name, order, raw  string
		panel, customer   string
		notPanel          []string
		sessionID, linkID uint
		returnPath        string
	}
	cases := []*failure{
		{name: "customer cancelled", order: "OC-WHY-1", raw: "cancelled", panel: "cancelado por el cliente", customer: "Pago cancelado"},
		{name: "bank rejected", order: "OC-WHY-2", raw: "rejected", panel: "rechazado por el banco", customer: "El banco rechazó el pago"},
		{name: "unknown word", order: "OC-WHY-3", raw: "expired_by_bank", panel: `ETpay respondió: <span class="mono">expired_by_bank</span>`,
			customer: "El pago no se completó", notPanel: []string{"cancelado por el cliente", "rechazado por el banco"}},
	}
	for _, f := range cases {
		if f.raw == "expired_by_bank" {
			s, key := h.pendingSession(f.order)
			if r := h.postNotification(notificationBody(signedNotification(t, s.SessionToken, f.order, f.raw, key))); r.status != http.StatusOK {
				t.Fatalf("notification: %d", r.status)
			}
			f.sessionID, f.linkID = s.ID, s.LinkID
			l, _ := h.store.LinkByID(t.Context(), s.LinkID)
			f.returnPath = "/pay/" + l.Code + "/error"
			continue
		}
		action := map[string]string{"cancelled": "cancel", "rejected": "reject"}[f.raw]
		payURL := staff.createLink(f.order, "5000")
		f.returnPath = strings.TrimPrefix(payThroughFunnel(t, h.browser(), payURL, action), h.base)
		l := linkOf(t, h, payURL)
		s := h.sessionsOf(l.ID)[0]
		f.sessionID, f.linkID = s.ID, l.ID
	}
	for _, f := range cases {
		t.Run(f.name, func(t *testing.T) {
			if s := h.session(f.sessionID); s.Status != models.StatusFailed || s.PaymentStatus != f.raw {
				t.Fatalf("session %s %q, want failed %q", s.Status, s.PaymentStatus, f.raw)
			}
			for _, path := range []string{"/admin/sessions/" + itoa(f.sessionID), "/admin/links/" + itoa(f.linkID)} {
				page := staff.get(path).body
				if !strings.Contains(page, f.panel) || !strings.Contains(page, "fallida") {
					t.Errorf("%s does not say %q beside fallida", path, f.panel)
				}
				for _, wrong := range f.notPanel {
					if strings.Contains(page, wrong) {
						t.Errorf("%s says %q", path, wrong)
					}
				}
			}
			if page := h.browser().get(f.returnPath); !strings.Contains(page.body, f.customer) {
				t.Errorf("the customer's page %s does not say %q:\n%s", f.returnPath, f.customer, page.body)
			}
		})
	}

	export := staff.get("/admin/sessions.csv?status=failed")
	rows, err := csv.NewReader(strings.NewReader(export.body)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("CSV: %v, %d rows\n%s", err, len(rows), export.body)
	}
	col := slices.Index(rows[0], "payment_status")
	var raw []string
	for _, row := range rows[1:] {
		raw = append(raw, row[col])
		if row[slices.Index(rows[0], "status")] != models.StatusFailed {
			t.Errorf("CSV status %q", row)
		}
	}
	slices.Sort(raw)
	if !slices.Equal(raw, []string{"cancelled", "expired_by_bank", "rejected"}) {
		t.Errorf("CSV payment_status = %q, want ETpay's raw words", raw)
	}
	for _, spanish := range []string{"fallida", "cancelado", "rechazado", "pagada", "pendiente", "real", "pruebas"} {
		if strings.Contains(strings.ToLower(export.body), spanish) {
			t.Errorf("the CSV says %q", spanish)
		}
	}
}

// sessionsOf is a link's sessions, oldest first.
func (h *harness) sessionsOf(linkID uint) []models.Session {
	h.t.Helper()
	s, err := h.store.SessionsForLink(context.Background(), linkID)
	if err != nil || len(s) == 0 {
		h.t.Fatalf("sessions of link %d: %v %v", linkID, s, err)
	}
	return s
}
