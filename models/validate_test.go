package models

import (
	"context"
	"errors"
	"etpay-dashboard/testdb"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestValidateLinkOrderID(t *testing.T) {
	tests := []struct {
		name  string
		order string
		ok    bool
	}{
		{"etpay example with hyphen", "OC-700104", true},
		{"underscore", "a_b", true},
		{"one character", "7", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "OC 1", false},
		{"non-ascii letter", "ñ", false},
		{"empty", "", false},
		{"slash", "OC/1", false},
		{"dot", "OC.1", false},
		{"trailing newline", "OC-1\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateLink(LinkInput{MerchantOrderID: tt.order, Amount: 1000}, 100000000)
			fe, bad := errs["merchant_order_id"]
			if bad == tt.ok {
				t.Fatalf("ValidateLink(order %q) errors = %v, want ok=%v", tt.order, errs, tt.ok)
			}
			if bad && fe.Key != "invalid.order_id" {
				t.Errorf("key = %q, want invalid.order_id", fe.Key)
			}
			if len(errs) > 1 || (tt.ok && len(errs) != 0) {
				t.Errorf("unexpected errors for other fields: %v", errs)
			}
		})
	}
}

func TestValidateLinkAmount(t *testing.T) {
	const max = 100000
	tests := []struct {
		name    string
		amount  int64
		wantKey string // "" means valid
	}{
		{"one peso", 1, ""},
		{"fifty thousand", 50000, ""},
		{"exactly the maximum", max, ""},
		{"one over the maximum", max + 1, "invalid.amount_max"},
		{"zero", 0, "invalid.amount_positive"},
		{"negative", -3, "invalid.amount_positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateLink(LinkInput{MerchantOrderID: "OC-1", Amount: tt.amount}, max)
			fe, bad := errs["order_amount"]
			if tt.wantKey == "" {
				if len(errs) != 0 {
					t.Fatalf("amount %d: errors %v, want none", tt.amount, errs)
				}
				return
			}
			if !bad || fe.Key != tt.wantKey {
				t.Fatalf("amount %d: errors %v, want order_amount %s", tt.amount, errs, tt.wantKey)
			}
			if tt.wantKey == "invalid.amount_max" {
				if len(fe.Args) != 1 || fe.Args[0] != int64(max) {
					t.Errorf("amount_max args = %v, want [%d]", fe.Args, max)
				}
			}
		})
	}
}

func TestValidateLinkEmailAndDescription(t *testing.T) {
	tests := []struct {
		name        string
		email       string
		description string
		wantFields  []string
	}{
		{"no email, no description", "", "", nil},
		{"good email", "a@b.cl", "", nil},
		{"email without dotted domain", "a@b", "", []string{"customer_email"}},
		{"email with display name", "Name <a@b.cl>", "", []string{"customer_email"}},
		{"200-character description", "", strings.Repeat("x", 200), nil},
		{"200 multibyte characters", "", strings.Repeat("ñ", 200), nil},
		{"201-character description", "", strings.Repeat("x", 201), []string{"description"}},
		{"description with newline", "", "line one\nline two", []string{"description"}},
		{"description with carriage return", "", "line one\rline two", []string{"description"}},
		{"description with NUL", "", "a\x00b", []string{"description"}},
		{"both bad", "a b@c.cl", "a\nb", []string{"customer_email", "description"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateLink(LinkInput{MerchantOrderID: "OC-1", Amount: 1000, CustomerEmail: tt.email, Description: tt.description}, 100000)
			if len(errs) != len(tt.wantFields) {
				t.Fatalf("errors = %v, want fields %v", errs, tt.wantFields)
			}
			for _, f := range tt.wantFields {
				if _, ok := errs[f]; !ok {
					t.Errorf("errors = %v, missing %s", errs, f)
				}
			}
		})
	}
}

func TestValidEmail(t *testing.T) {
	tests := []struct {
		name  string
		email string
		ok    bool
	}{
		{"simple", "a@b.cl", true},
		{"dotted local part and subdomain", "juan.perez@mail.tienda.cl", true},
		{"plus tag", "ventas+etpay@tienda.cl", true},
		{"no dotted domain", "a@b", false},
		{"space in local part", "a b@c.cl", false},
		{"angle brackets", "<a@b.cl>", false},
		{"display name", "Name <a@b.cl>", false},
		{"empty", "", false},
		{"no at sign", "ab.cl", false},
		{"domain starts with dot", "a@.b.cl", false},
		{"domain ends with dot", "a@b.cl.", false},
		{"two addresses", "a@b.cl, c@d.cl", false},
		{"newline", "a@b.cl\n", false},
		{"too long", strings.Repeat("a", 250) + "@b.cl", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidEmail(tt.email); got != tt.ok {
				t.Errorf("ValidEmail(%q) = %v, want %v", tt.email, got, tt.ok)
			}
		})
	}
}

func TestHashPasswordRules(t *testing.T) {
	tests := []struct {
		name     string
		password string
		wantErr  error
	}{
		{"empty", "", ErrPasswordTooShort},
		{"11 characters", "abcdefghijk", ErrPasswordTooShort},
		{"11 characters, 12 bytes", "contraseña1", ErrPasswordTooShort},
		{"73 bytes", strings.Repeat("a", 73), ErrPasswordTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := (&Store{passwordCost: bcrypt.MinCost}).HashPassword(tt.password)
			if !errors.Is(err, tt.wantErr) || h != "" {
				t.Fatalf("HashPassword(%q) = %q, %v; want error %v", tt.password, h, err, tt.wantErr)
			}
			if err := ValidatePassword(tt.password); !errors.Is(err, tt.wantErr) {
				t.Fatalf("ValidatePassword(%q) = %v; want %v", tt.password, err, tt.wantErr)
			}
		})
	}
}

// TestHashPasswordMatches hashes once with a Store opened as production
// opens it: bcrypt at cost 12, about 250 ms.
func TestHashPasswordMatches(t *testing.T) {
	const password = "contraseña12" // 12 characters, 13 bytes
	s, err := Open(context.Background(), testdb.URL(t, "prod.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := s.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$12$") {
		t.Errorf("hash %q is not bcrypt at cost 12", h)
	}
	tests := []struct {
		name  string
		try   string
		match bool
	}{
		{"same password", password, true},
		{"different password", "contraseña13", false},
		{"empty", "", false},
		{"case changed", "Contraseña12", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PasswordMatches(h, tt.try); got != tt.match {
				t.Errorf("PasswordMatches(%q) = %v, want %v", tt.try, got, tt.match)
			}
		})
	}
	if PasswordMatches("not a hash", password) {
		t.Error("PasswordMatches accepted a malformed hash")
	}
}

// Production never hashes below cost 12: only a test binary may lower it.
func TestProductionRefusesAWeakPasswordCost(t *testing.T) {
	for _, tt := range []struct {
		asked  int
		inTest bool
		want   int
		err    bool
	}{
		{0, false, MinPasswordCost, false},
		{12, false, 12, false},
		{14, false, 14, false},
		{11, false, 0, true},
		{bcrypt.MinCost, false, 0, true},
		{bcrypt.MinCost, true, bcrypt.MinCost, false},
		{1, true, 0, true},
		{bcrypt.MaxCost + 1, false, 0, true},
	} {
		got, err := passwordCost(tt.asked, tt.inTest)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("passwordCost(%d, test=%v) = %d, %v; want %d, error %v", tt.asked, tt.inTest, got, err, tt.want, tt.err)
		}
	}
	inTestBinary = func() bool { return false } // as in the real binary
	defer func() { inTestBinary = testing.Testing }()
	if _, err := Open(context.Background(), testdb.URL(t, "weak.db"), WithPasswordCost(bcrypt.MinCost)); !errors.Is(err, ErrWeakPasswordCost) {
		t.Fatalf("Open with cost %d outside tests: %v, want ErrWeakPasswordCost", bcrypt.MinCost, err)
	}
}
