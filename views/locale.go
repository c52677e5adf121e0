package views

import (
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the binary must know America/Santiago on machines without zoneinfo
)

// Santiago is the time zone every time is shown in.
var Santiago = mustLoad("America/Santiago")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Languages the panel speaks; the first is the default.
var Languages = []string{"es", "en"}

// Locale formats text, money and time for one language.
type Locale struct {
	Lang string
}

// NewLocale returns the locale for lang, falling back to Spanish.
func NewLocale(lang string) Locale {
	if _, ok := tags[lang]; ok {
		return Locale{Lang: lang}
	}
	return Locale{Lang: "es"}
}

// T returns the text for key, formatted with args like fmt.Sprintf. A missing
// key shows itself, so a gap is visible rather than blank.
func (l Locale) T(key string, args ...any) string {
	if !hasText("es", key) {
		return key
	}
	return printers()[l.Lang].Sprintf(key, args...)
}

// CLP formats whole pesos the Chilean way: $12.990.
func (l Locale) CLP(amount int64) string {
	return FormatCLP(amount)
}

// Time formats t in America/Santiago; the zero time and nil show a dash.
func (l Locale) Time(t any) string {
	var tt time.Time
	switch v := t.(type) {
	case time.Time:
		tt = v
	case *time.Time:
		if v == nil {
			return "—"
		}
		tt = *v
	}
	if tt.IsZero() {
		return "—"
	}
	return tt.In(Santiago).Format("02-01-2006 15:04:05")
}

// FormatCLP formats whole pesos with dots between thousands and no decimals.
func FormatCLP(amount int64) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	digits := strconv.FormatInt(amount, 10)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(d)
	}
	return sign + "$" + b.String()
}
