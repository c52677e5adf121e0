package models

import (
	"strings"
	"testing"
	"time"

	"etpay-dashboard/testdb"
)

// Reconciliation runs every minute: it must read only the week it looks at,
// not every pending session of the mode, however old.
func TestOverdueSessionsReadOnlyTheirWindow(t *testing.T) {
	testdb.SkipOnPostgres(t, "the plans checked are SQLite's (EXPLAIN QUERY PLAN)")
	s := listStore(t)
	now := time.Now().UTC()
	plan := explain(t, s, overdueSessionsSQL, StatusPending, "live", now, now.Add(-reconcileWindow), now, 10)
	if !strings.Contains(plan, "idx_sessions_created_id_status (created_at>? AND created_at<?)") {
		t.Errorf("reconciliation does not read its window through the date index:\n%s", plan)
	}
}
