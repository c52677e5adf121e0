package handlers_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// The overview warns when scheduled backups are on and the newest good one
// is older than twice their interval, and says nothing when it is fresh.
func TestOverviewWarnsOfLateBackups(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		newest time.Duration // how old the newest backup is; 0: none at all
		warn   bool
	}{
		{"fresh", 3 * time.Hour, false},
		{"older than twice the interval", 49 * time.Hour, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stamp := time.Now().Add(-tt.newest).UTC().Format("20060102T150405.000Z")
			if err := os.WriteFile(filepath.Join(dir, "etpay-dashboard-"+stamp+".db"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, withEnv("BACKUP_DIR", dir), withEnv("BACKUP_EVERY", "24h"))
			admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
			r := admin.get("/admin/overview")
			if r.status != http.StatusOK {
				t.Fatalf("overview: %d", r.status)
			}
			if got := strings.Contains(r.body, `id="attention-backup"`); got != tt.warn {
				t.Fatalf("backup warning shown = %v, want %v", got, tt.warn)
			}
			if tt.warn && !strings.Contains(r.body, "se pidió una cada 1 día") {
				t.Errorf("the warning does not say the interval in words:\n%s", r.body)
			}
		})
	}
}
