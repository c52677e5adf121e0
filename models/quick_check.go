package models

import (
	"context"
	"fmt"
	"strings"
)

// maxQuickCheckProblems caps the problems QuickCheck reports: the first few
// say enough to decide on restoring a backup.
const maxQuickCheckProblems = 5

// QuickCheck runs SQLite's PRAGMA quick_check (integrity_check without the
// index cross-checks, fast enough for a status page) and returns its verdict:
// "ok" when healthy, else its first problems joined by "; ".
func (s *Store) QuickCheck(ctx context.Context) (string, error) {
	var rows []string
	err := s.read.WithContext(ctx).Raw(fmt.Sprintf("PRAGMA quick_check(%d)", maxQuickCheckProblems)).Scan(&rows).Error
	if err != nil {
		return "", fmt.Errorf("quick_check: %w", err)
	}
	if len(rows) == 0 {
		return "", fmt.Errorf("quick_check: no answer")
	}
	return strings.Join(rows, "; "), nil
}
