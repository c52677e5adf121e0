package config

import (
	"strings"
	"testing"
	"time"
)

func TestReminderSettings(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil || c.RemindAfter != 0 || c.RemindMax != 1 {
		t.Fatalf("defaults: after %v max %d (%v), want off and 1", c.RemindAfter, c.RemindMax, err)
	}
	c, err = Load(nil, env(map[string]string{"REMIND_AFTER": "48h", "REMIND_MAX": "3"}))
	if err != nil || c.RemindAfter != 48*time.Hour || c.RemindMax != 3 {
		t.Fatalf("env: after %v max %d (%v)", c.RemindAfter, c.RemindMax, err)
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "REMIND_AFTER") {
		t.Errorf("no warning about reminders without SMTP_URL: %q", c.Warnings)
	}
	// A flag beats the environment.
	c, err = Load([]string{"--remind-after", "24h", "--remind-max", "2"}, env(map[string]string{"REMIND_AFTER": "48h", "REMIND_MAX": "3"}))
	if err != nil || c.RemindAfter != 24*time.Hour || c.RemindMax != 2 {
		t.Fatalf("flags: after %v max %d (%v)", c.RemindAfter, c.RemindMax, err)
	}
	for _, bad := range []map[string]string{
		{"REMIND_AFTER": "2 days"},
		{"REMIND_AFTER": "30m"},
		{"REMIND_AFTER": "-48h"},
		{"REMIND_MAX": "0"},
		{"REMIND_MAX": "11"},
		{"REMIND_MAX": "uno"},
	} {
		if _, err := Load(nil, env(bad)); err == nil || !strings.Contains(err.Error(), "REMIND_") {
			t.Errorf("%v: %v, want an error naming the setting", bad, err)
		}
	}
}
