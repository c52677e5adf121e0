package handlers

import (
	"testing"
	"time"
	_ "time/tzdata" // America/Santiago on machines without zoneinfo
)

// The quick ranges are Santiago days, whatever the server's clock zone:
// near midnight, across the year and around the clocks going back.
func TestDayRanges(t *testing.T) {
	tests := []struct {
		name string
		now  string // UTC
		want [4][2]string
	}{
		{"an ordinary afternoon", "2026-03-18T18:00:00Z", [4][2]string{
			{"2026-03-18", "2026-03-18"}, {"2026-03-12", "2026-03-18"}, {"2026-03-01", "2026-03-18"}, {"2026-02-01", "2026-02-28"}}},
		{"still yesterday in Santiago", "2026-03-01T02:00:00Z", [4][2]string{
			{"2026-02-28", "2026-02-28"}, {"2026-02-22", "2026-02-28"}, {"2026-02-01", "2026-02-28"}, {"2026-01-01", "2026-01-31"}}},
		{"new year: last month is last year's December", "2026-01-03T15:00:00Z", [4][2]string{
			{"2026-01-03", "2026-01-03"}, {"2025-12-28", "2026-01-03"}, {"2026-01-01", "2026-01-03"}, {"2025-12-01", "2025-12-31"}}},
		{"leap February", "2028-03-10T15:00:00Z", [4][2]string{
			{"2028-03-10", "2028-03-10"}, {"2028-03-04", "2028-03-10"}, {"2028-03-01", "2028-03-10"}, {"2028-02-01", "2028-02-29"}}},
		// Clocks go back from 00:00 -03 to 23:00 -04 on 2026-04-04: at
		// 03:30 UTC it is 23:30 of the 4th again, not 00:30 of the 5th.
		{"the hour that happens twice", "2026-04-05T03:30:00Z", [4][2]string{
			{"2026-04-04", "2026-04-04"}, {"2026-03-29", "2026-04-04"}, {"2026-04-01", "2026-04-04"}, {"2026-03-01", "2026-03-31"}}},
	}
	for _, tt := range tests {
		now, err := time.Parse(time.RFC3339, tt.now)
		if err != nil {
			t.Fatal(err)
		}
		got := dayRanges(now)
		keys := [4]string{"lists.range.today", "lists.range.week", "lists.range.month", "lists.range.last_month"}
		for i, r := range got {
			if r.Key != keys[i] || r.From != tt.want[i][0] || r.To != tt.want[i][1] {
				t.Errorf("%s: %s = %s..%s, want %s %s..%s", tt.name, r.Key, r.From, r.To, keys[i], tt.want[i][0], tt.want[i][1])
			}
		}
	}
}
