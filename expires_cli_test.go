package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/views"
)

// The command line takes the same expiries as the forms, by the same rules.
func TestLinksCreateExpiresAt(t *testing.T) {
	tests := []struct {
		name, typed, want, message string
	}{
		{"never, typed as 9999", "9999-12-31T21:00", "", "--expires-at: Elige una fecha entre los años 2000 y 2100"},
		{"2101 in UTC", "2100-12-31T21:00", "", "entre los años 2000 y 2100"},
		{"year 1999", "1999-06-01T10:00", "", "entre los años 2000 y 2100"},
		{"not a date", "pronto", "", "--expires-at: Escribe la fecha y la hora como"},
		{"the last minute of 2100", "2100-12-31T20:59", "2100-12-31T20:59:00-03:00", ""},
		{"with a space", "2030-01-15 18:00", "2030-01-15T18:00:00-03:00", ""},
		{"the past expires at once", "2020-03-01T09:00", "2020-03-01T09:00:00-03:00", ""},
		{"spring-forward gap: next valid minute", "2030-09-08T00:15", "2030-09-08T01:00:00-03:00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, db := newEnv(t)
			r := runCmd(t, vars, "", "links", "create", "--order", "OC-1", "--amount", "500", "--expires-at", tt.typed)
			if tt.want == "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tt.message) {
					t.Fatalf("error %v, want one with %q", r.err, tt.message)
				}
				if n := countLinks(t, db); n != 0 {
					t.Fatalf("links stored = %d, want 0", n)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("links create: %v", r.err)
			}
			m := lastLine(r.stdout)
			code := m[strings.LastIndex(m, "/")+1:]
			l, err := openTestStore(t, db).LinkByCode(context.Background(), code)
			if err != nil {
				t.Fatal(err)
			}
			if l.ExpiresAt == nil || l.ExpiresAt.In(views.Santiago).Format(time.RFC3339) != tt.want {
				t.Fatalf("stored expiry %v, want %s", l.ExpiresAt, tt.want)
			}
		})
	}
}
