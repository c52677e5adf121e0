package models

import (
	"time"
)

// lenientTime scans a stored time without failing on a value that cannot be
// read (a year past 9999 stored by an older version, say): such a value reads
// as empty, with bad set, so the caller can go on and say so. The
// notification writer reads rows with it: a payment must never fail on a
// field its rules do not need.
type lenientTime struct {
	t   time.Time
	ok  bool
	bad bool
}

// storedTimeLayouts are the ways the driver and GORM write times.
var storedTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

// Scan implements sql.Scanner.
func (lt *lenientTime) Scan(v any) error {
	*lt = lenientTime{}
	switch x := v.(type) {
	case nil:
	case time.Time:
		lt.t, lt.ok = x, true
	case string:
		lt.parse(x)
	case []byte:
		lt.parse(string(x))
	default:
		lt.bad = true
	}
	return nil
}

func (lt *lenientTime) parse(s string) {
	for _, layout := range storedTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			lt.t, lt.ok = t, true
			return
		}
	}
	lt.bad = true
}

func (lt lenientTime) ptr() *time.Time {
	if !lt.ok {
		return nil
	}
	v := lt.t
	return &v
}

func (lt lenientTime) value() time.Time { return lt.t }
