package config

import (
	"fmt"
	"strconv"
	"time"
)

// Bounds of the reminder settings: customers are reminded at most once an
// hour, and a link nags at most MaxRemindMax times.
const (
	MinRemindAfter = time.Hour
	MaxRemindMax   = 10
)

// loadReminders reads REMIND_AFTER (unset: no reminders) and REMIND_MAX.
func (c *Config) loadReminders(src *source) {
	if raw := src.value("REMIND_AFTER"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < MinRemindAfter {
			src.fail(fmt.Errorf("REMIND_AFTER %q is not a duration of at least 1h, such as 48h (unset it for no reminders)", raw))
		}
		c.RemindAfter = d
	}
	raw := src.orDefault("REMIND_MAX")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxRemindMax {
		src.fail(fmt.Errorf("REMIND_MAX %q is not a whole number from 1 to %d", raw, MaxRemindMax))
	}
	c.RemindMax = n
	if c.RemindAfter > 0 && c.SMTPURL == nil {
		c.Warnings = append(c.Warnings, "REMIND_AFTER is set but SMTP_URL is not: reminders follow sent emails, and none are sent")
	}
}
