package clp

import (
	"errors"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := map[int64]string{0: "$0", 5: "$5", 990: "$990", 12990: "$12.990", 1000000: "$1.000.000", 100000000: "$100.000.000", -1500: "-$1.500"}
	for in, want := range tests {
		if got := Format(in); got != want {
			t.Errorf("Format(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{"50000", 50000, nil},
		{"50.000", 50000, nil},
		{"$50.000", 50000, nil},
		{"$ 1.234.567", 1234567, nil},
		{"0", 0, nil},
		{"1,5", 0, ErrFormat},
		{"1.5", 0, ErrFormat},
		{"1.50", 0, ErrFormat},
		{"50.0000", 0, ErrFormat},
		{"-5", 0, ErrFormat},
		{"+5", 0, ErrFormat},
		{"1e5", 0, ErrFormat},
		{"5 000", 0, ErrFormat},
		{"", 0, ErrEmpty},
		{"$", 0, ErrFormat},
		{"９", 0, ErrFormat},
		{"99999999999999999999", 0, ErrTooLarge},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseDigits(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{"50000", 50000, nil},
		{"0", 0, nil},
		{"50.000", 0, ErrFormat},
		{"$5", 0, ErrFormat},
		{" 500", 0, ErrFormat},
		{"", 0, ErrEmpty},
		{"99999999999999999999", 0, ErrTooLarge},
	}
	for _, tt := range tests {
		got, err := ParseDigits(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseDigits(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
