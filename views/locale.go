package views

import (
	"time"
	_ "time/tzdata" // the binary must know America/Santiago on machines without zoneinfo

	"etpay-dashboard/clp"
	"etpay-dashboard/models"
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
	return clp.Format(amount)
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

// FieldMessages turns field errors into text in l's language; amounts given
// as arguments (int64) show as CLP. The forms and the command line share it.
func FieldMessages(l Locale, errs models.FieldErrors) map[string]string {
	msgs := make(map[string]string, len(errs))
	for field, fe := range errs {
		args := make([]any, len(fe.Args))
		for i, arg := range fe.Args {
			if n, ok := arg.(int64); ok {
				arg = clp.Format(n)
			}
			args[i] = arg
		}
		msgs[field] = l.T(fe.Key, args...)
	}
	return msgs
}

// Duration writes d as people say it, in the largest whole unit: "24 horas",
// "90 minutos", "1 día" (rounded down to whole seconds).
func (l Locale) Duration(d time.Duration) string {
	units := []struct {
		size      time.Duration
		one, many string
	}{
		{24 * time.Hour, "duration.day", "duration.days"},
		{time.Hour, "duration.hour", "duration.hours"},
		{time.Minute, "duration.minute", "duration.minutes"},
		{time.Second, "duration.second", "duration.seconds"},
	}
	for _, u := range units {
		if d >= u.size && d%u.size == 0 || u.size == time.Second {
			n := int64(d / u.size)
			if n == 1 {
				return l.T(u.one)
			}
			return l.T(u.many, n)
		}
	}
	return ""
}
