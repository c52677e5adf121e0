package shop

import "time"

// SetClock sets the clock s measures its copy's age by.
func SetClock(s *Shop, now func() time.Time) { s.now = now }
