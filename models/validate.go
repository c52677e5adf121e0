package models

import (
	"errors"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"etpay-dashboard/clp"
)

// FieldError is a problem with one field: a catalogue key and its arguments,
// so the caller shows it in the user's language.
type FieldError struct {
	Key  string
	Args []any
}

// FieldErrors maps a form field name to its problem.
type FieldErrors map[string]FieldError

// orderIDPattern is ETpay's "alphanumeric, max 64" plus the hyphen its own
// example uses, and the underscore.
var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// MaxDescription is the longest description a link may have, in characters.
const MaxDescription = 200

// ValidateLink checks a new link's fields; an empty result means it is valid.
// The amount must already be a number: how it was written is the caller's concern.
func ValidateLink(in LinkInput, maxAmount int64) FieldErrors {
	errs := FieldErrors{}
	if !orderIDPattern.MatchString(in.MerchantOrderID) {
		errs["merchant_order_id"] = FieldError{Key: "invalid.order_id"}
	}
	switch {
	case in.Amount <= 0:
		errs["order_amount"] = FieldError{Key: "invalid.amount_positive"}
	case in.Amount > maxAmount:
		errs["order_amount"] = FieldError{Key: "invalid.amount_max", Args: []any{maxAmount}}
	}
	if in.CustomerEmail != "" && !ValidEmail(in.CustomerEmail) {
		errs["customer_email"] = FieldError{Key: "invalid.email"}
	}
	if utf8.RuneCountInString(in.Description) > MaxDescription || strings.ContainsAny(in.Description, "\r\n\x00") {
		errs["description"] = FieldError{Key: "invalid.description"}
	}
	return errs
}

// ValidEmail accepts a bare address (no display name) with a dotted domain.
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\r\n") {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// ParseExpiry reads a link's expiry as typed in loc (see ParseLocalDateTime).
// Empty means no expiry. A time in the past is allowed: the link is then
// expired at once. The field error says what to fix.
func ParseExpiry(s string, loc *time.Location) (*time.Time, *FieldError) {
	if s == "" {
		return nil, nil
	}
	t, err := ParseLocalDateTime(s, loc)
	switch {
	case errors.Is(err, ErrTimeRange):
		return nil, &FieldError{Key: "links.expiry_range", Args: []any{strconv.Itoa(FirstUserYear), strconv.Itoa(LastUserYear)}}
	case err != nil:
		return nil, &FieldError{Key: "links.expiry_format"}
	}
	return &t, nil
}

// AmountProblem is the field error for an amount clp could not read.
func AmountProblem(err error, maxAmount int64) *FieldError {
	switch {
	case errors.Is(err, clp.ErrEmpty):
		return &FieldError{Key: "invalid.amount_required"}
	case errors.Is(err, clp.ErrTooLarge):
		return &FieldError{Key: "invalid.amount_max", Args: []any{maxAmount}}
	}
	return &FieldError{Key: "invalid.amount_format"}
}
