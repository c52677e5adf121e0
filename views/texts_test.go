package views

import (
	"strings"
	"testing"
	"time"
)

func TestEveryTextIsTranslated(t *testing.T) {
	for key := range texts["es"] {
		if !hasText("en", key) && !strings.HasPrefix(key, "col.") {
			t.Errorf("text %q has no English version", key)
		}
	}
	for key := range texts["en"] {
		if !hasText("es", key) {
			t.Errorf("English text %q has no Spanish original", key)
		}
	}
}

func TestLocaleT(t *testing.T) {
	tests := []struct {
		name, lang, key string
		args            []any
		want            string
	}{
		{"spanish", "es", "status.paid", nil, "pagada"},
		{"english", "en", "status.paid", nil, "paid"},
		{"unknown language is spanish", "fr", "status.paid", nil, "pagada"},
		{"english falls back to spanish", "en", "col.payment_token", nil, "payment_token"},
		{"arguments", "en", "session.title", []any{"OC-1"}, "Session for order OC-1"},
		{"missing key shows itself", "es", "no.such.key", nil, "no.such.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewLocale(tt.lang).T(tt.key, tt.args...); got != tt.want {
				t.Errorf("T(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestTimeIsSantiago(t *testing.T) {
	l := NewLocale("es")
	// 2026-01-15 15:00 UTC is 12:00 in Santiago (summer, UTC-3).
	if got := l.Time(mustTime(t, "2026-01-15T15:00:00Z")); got != "15-01-2026 12:00:00" {
		t.Errorf("summer time = %q", got)
	}
	// 2026-07-15 15:00 UTC is 11:00 in Santiago (winter, UTC-4).
	if got := l.Time(mustTime(t, "2026-07-15T15:00:00Z")); got != "15-07-2026 11:00:00" {
		t.Errorf("winter time = %q", got)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDurationAsPeopleSayIt(t *testing.T) {
	es, en := NewLocale("es"), NewLocale("en")
	for d, want := range map[time.Duration][2]string{
		48 * time.Hour:          {"2 días", "2 days"},
		24 * time.Hour:          {"1 día", "1 day"},
		36 * time.Hour:          {"36 horas", "36 hours"},
		time.Hour:               {"1 hora", "1 hour"},
		90 * time.Minute:        {"90 minutos", "90 minutes"},
		15 * time.Minute:        {"15 minutos", "15 minutes"},
		1500 * time.Millisecond: {"1 segundo", "1 second"},
		45 * time.Second:        {"45 segundos", "45 seconds"},
	} {
		if got := [2]string{es.Duration(d), en.Duration(d)}; got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
