// Package clp reads and writes amounts of Chilean pesos the way Chileans do:
// whole pesos, a dot between thousands, a leading $ ("$12.990"). The panel,
// the emails, the command line and the ETpay sandbox all use it, so an amount
// reads the same everywhere.
package clp

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// Errors of Parse and ParseDigits; callers turn them into field messages.
var (
	ErrEmpty    = errors.New("amount is empty")
	ErrFormat   = errors.New("amount is not whole pesos")
	ErrTooLarge = errors.New("amount is too large")
)

// Format writes whole pesos with dots between thousands and no decimals:
// 12990 is "$12.990".
func Format(amount int64) string {
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

// pattern is whole pesos as people type them: 50000 or 50.000. A dot is only
// ever a thousands separator.
var pattern = regexp.MustCompile(`^(\d+|\d{1,3}(\.\d{3})+)$`)

// digits is an amount as a script writes it.
var digits = regexp.MustCompile(`^[0-9]+$`)

// Parse reads an amount as a person types it: "50000", "50.000" and
// "$50.000" are all fifty thousand. Decimals, signs and exponents are
// refused; zero parses, and is left for validation to refuse.
func Parse(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrEmpty
	}
	s = strings.TrimSpace(strings.TrimPrefix(s, "$"))
	if !pattern.MatchString(s) {
		return 0, ErrFormat
	}
	return parseInt(strings.ReplaceAll(s, ".", ""))
}

// ParseDigits reads an amount written as plain digits only, the form the
// command line documents for scripts ("50000").
func ParseDigits(s string) (int64, error) {
	if s == "" {
		return 0, ErrEmpty
	}
	if !digits.MatchString(s) {
		return 0, ErrFormat
	}
	return parseInt(s)
}

func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrTooLarge // only overflow gets here: the patterns allow digits alone
	}
	return n, nil
}
