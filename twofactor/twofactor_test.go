package twofactor

import (
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"
)

// rfcSecret is RFC 6238's SHA-1 test key, "12345678901234567890", in base32.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func TestCodesFollowRFC6238(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, cut to six digits (RFC 4226's truncation).
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		if got, err := Code(rfcSecret, time.Unix(unix, 0)); err != nil || got != want {
			t.Errorf("code at %d = %q, %v; want %q", unix, got, err, want)
		}
	}
}

func TestMatchAcceptsOneStepEitherSide(t *testing.T) {
	secret := NewSecret()
	now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
	tests := []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"current step", 0, true},
		{"previous step", -Period, true},
		{"next step", Period, true},
		{"two steps ago", -2 * Period, false},
		{"two steps ahead", 2 * Period, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now.Add(tt.offset)
			code, _ := Code(secret, at)
			step, err := Match(secret, code, now)
			if tt.ok && (err != nil || step != Step(at)) {
				t.Fatalf("Match = %d, %v; want step %d", step, err, Step(at))
			}
			if !tt.ok && !errors.Is(err, ErrNoMatch) {
				t.Fatalf("Match = %d, %v; want ErrNoMatch", step, err)
			}
		})
	}
}

func TestMatchReadsCodesAsPeopleTypeThem(t *testing.T) {
	secret := NewSecret()
	now := time.Now()
	code, _ := Code(secret, now)
	if _, err := Match(secret, " "+code[:3]+" "+code[3:]+"\n", now); err != nil {
		t.Errorf("a code with spaces: %v", err)
	}
	for _, typed := range []string{"", "12345", "1234567", "12a456", code + "0"} {
		if _, err := Match(secret, typed, now); !errors.Is(err, ErrNoMatch) {
			t.Errorf("Match(%q) = %v, want ErrNoMatch", typed, err)
		}
	}
}

func TestURLAndGrouping(t *testing.T) {
	secret := NewSecret()
	if len(secret) != 32 || strings.ToUpper(secret) != secret {
		t.Fatalf("secret %q: want 32 upper-case base32 characters", secret)
	}
	u, err := URL("Tienda: Centro", "ana@shop.cl", secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"otpauth://totp/", "secret=" + secret, "algorithm=SHA1", "digits=6", "period=30", "issuer=Tienda"} {
		if !strings.Contains(u, want) {
			t.Errorf("URL %q lacks %q", u, want)
		}
	}
	if got := Grouped("ABCDEFGHIJ"); got != "ABCD EFGH IJ" {
		t.Errorf("Grouped = %q", got)
	}
}

func TestSealedSecretsOpenOnlyForTheirUserAndKey(t *testing.T) {
	s := NewSealer("one secret")
	sealed := s.Seal(7, "JBSWY3DPEHPK3PXP")
	if strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatal("the sealed secret shows the secret")
	}
	if got, err := s.Open(7, sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(8, sealed); !errors.Is(err, ErrUnreadable) {
		t.Errorf("another user's row opened: %v", err)
	}
	if _, err := NewSealer("another secret").Open(7, sealed); !errors.Is(err, ErrUnreadable) {
		t.Errorf("another session secret opened it: %v", err)
	}
	if _, err := s.Open(7, "JBSWY3DPEHPK3PXP"); !errors.Is(err, ErrUnreadable) {
		t.Errorf("a plain secret opened: %v", err)
	}
	if again := s.Seal(7, "JBSWY3DPEHPK3PXP"); again == sealed {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := NewRecoveryCodes()
	if len(codes) != RecoveryCodes || len(hashes) != RecoveryCodes {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, code := range codes {
		if len(code) != 19 || strings.Count(code, "-") != 3 || seen[code] {
			t.Fatalf("code %q: want unique xxxx-xxxx-xxxx-xxxx", code)
		}
		seen[code] = true
		for _, typed := range []string{code, strings.ToUpper(code), strings.ReplaceAll(code, "-", ""), " " + strings.ReplaceAll(code, "-", " ")} {
			if h, ok := RecoveryHash(typed); !ok || h != hashes[i] {
				t.Errorf("RecoveryHash(%q) does not find code %d", typed, i)
			}
		}
		if strings.Contains(hashes[i], strings.ReplaceAll(code, "-", "")) {
			t.Errorf("hash %q shows its code", hashes[i])
		}
	}
	for _, typed := range []string{"", "123456", "abcd-efgh-ijkl-mno", "abcd-efgh-ijkl-mno1"} {
		if _, ok := RecoveryHash(typed); ok {
			t.Errorf("RecoveryHash(%q) accepted", typed)
		}
	}
}
