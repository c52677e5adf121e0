package models

import (
	"errors"
	"time"
)

// Every time a person (or a shop's script) supplies is bounded to these
// years: the driver stores times as text, and a year past 9999 (one typed as
// "never", 9999-12-31 in Chile, is 10000 in UTC) is stored but can never be
// read back, so it would break every page and notification that reads it.
const (
	FirstUserYear = 2000
	LastUserYear  = 2100
)

// Errors of ParseLocalDateTime; callers turn them into field messages.
var (
	ErrTimeFormat = errors.New("not a date and time")
	ErrTimeRange  = errors.New("date outside the years the system keeps")
)

// ValidUserTime reports whether t lies within the years a user may supply.
func ValidUserTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= FirstUserYear && y <= LastUserYear
}

// localDateTimeLayouts are the forms a date-time is typed in: an HTML
// datetime-local value (with or without seconds) or the same with a space.
var localDateTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// ParseLocalDateTime reads a wall-clock date and time in loc, as a person
// types it. Around daylight-saving changes it does what a person expects: a
// time that does not exist (the hour skipped when clocks go forward) becomes
// the first valid minute after it, and a time that happens twice (when clocks
// go back) is its first occurrence.
func ParseLocalDateTime(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range localDateTimeLayouts {
		wall, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if wall.Year() < FirstUserYear || wall.Year() > LastUserYear {
			return time.Time{}, ErrTimeRange
		}
		t := wallClock(wall, loc)
		if !ValidUserTime(t) {
			return time.Time{}, ErrTimeRange
		}
		return t, nil
	}
	return time.Time{}, ErrTimeFormat
}

// wallClock places the wall-clock time w (read as UTC) in loc, resolving
// daylight-saving gaps and overlaps as ParseLocalDateTime says.
func wallClock(w time.Time, loc *time.Location) time.Time {
	at := func(add time.Duration) (time.Time, bool) {
		v := w.Add(add)
		t := time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), 0, loc)
		// A time that exists reads back as the same wall clock.
		return t, t.Format(time.DateTime) == v.Format(time.DateTime)
	}
	t, ok := at(0)
	if !ok {
		// In a gap: the first minute on the wall that exists (gaps are at
		// most a few hours anywhere).
		for m := time.Minute; m <= 4*time.Hour; m += time.Minute {
			if t, ok = at(m); ok {
				return t.Truncate(time.Minute)
			}
		}
		return t
	}
	// In an overlap the same wall clock also exists an offset-change
	// earlier; take the earliest instant that reads as this wall clock.
	for _, back := range []time.Duration{2 * time.Hour, time.Hour, 30 * time.Minute} {
		if e := t.Add(-back); e.In(loc).Format(time.DateTime) == t.Format(time.DateTime) {
			return e
		}
	}
	return t
}
