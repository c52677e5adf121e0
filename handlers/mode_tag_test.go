package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"etpay-dashboard/models"
)

// TestModeTagOnlyWhenModesMix: a row says its mode only when it is not the
// app's. In sandbox mode the banner already says SANDBOX once for the page,
// so sandbox rows carry no tag of their own; a live row left from before
// does. A live app tags its sandbox rows. Checked on the sessions table and
// on the overview's conflicts.
func TestModeTagOnlyWhenModesMix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		opts             []harnessOption
		tagged, untagged string // the modes of the two sessions
	}{
		{"live app tags sandbox rows", nil, "sandbox", "live"},
		{"sandbox app tags live rows", []harnessOption{withBuiltInSandbox()}, "live", "sandbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts...)
			if string(h.cfg.Mode) != tt.untagged {
				t.Fatalf("the app is in %s mode, want %s", h.cfg.Mode, tt.untagged)
			}
			b := h.loggedIn("staff@shop.cl", models.RoleStaff)
			// Both paid, then said failed: conflicts, listed on the overview too.
			_, tagged := h.paidLink("OC-TAGGED", tt.tagged, 1000)
			_, untagged := h.paidLink("OC-PLAIN", tt.untagged, 1000)
			h.recordResult(tagged, "PT-late-1", false)
			h.recordResult(untagged, "PT-late-2", false)
			tag := `<span class="tag">` + tt.tagged + `</span>`

			sessions := b.get("/admin/sessions")
			overview := b.get("/admin/overview?mode=all")
			if sessions.status != http.StatusOK || overview.status != http.StatusOK {
				t.Fatalf("sessions %d, overview %d", sessions.status, overview.status)
			}
			for _, tt := range []struct{ where, got string }{
				{"sessions row OC-TAGGED", between(sessions.body, `id="session-`+itoa(tagged.ID)+`"`, `</tr>`)},
				{"sessions row OC-PLAIN", between(sessions.body, `id="session-`+itoa(untagged.ID)+`"`, `</tr>`)},
				{"overview conflict OC-TAGGED", between(overview.body, `href="/admin/sessions/`+itoa(tagged.ID)+`"`, `</li>`)},
				{"overview conflict OC-PLAIN", between(overview.body, `href="/admin/sessions/`+itoa(untagged.ID)+`"`, `</li>`)},
			} {
				switch {
				case tt.got == "":
					t.Errorf("%s: not on the page", tt.where)
				case strings.HasSuffix(tt.where, "OC-TAGGED") && !strings.Contains(tt.got, tag):
					t.Errorf("%s lacks %s: %s", tt.where, tag, tt.got)
				case strings.HasSuffix(tt.where, "OC-PLAIN") && strings.Contains(tt.got, `class="tag"`):
					t.Errorf("%s is tagged, in the app's own mode: %s", tt.where, tt.got)
				}
			}
		})
	}
}

// between is the text of s from the first from up to the next to, or "".
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}
