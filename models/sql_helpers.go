package models

import (
	"strings"
	"time"
)

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// valueRows is the VALUES list for rows of n placeholders each.
func valueRows(rows, n int) string {
	row := "(" + placeholders(n) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

func strPtr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func uintPtr(p *uint) any {
	if p == nil {
		return nil
	}
	return *p
}

func utcPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
