package views

import (
	"testing"

	"etpay-dashboard/models"
)

func TestMaskEmail(t *testing.T) {
	tests := map[string]string{
		"ana.perez@shop.cl": "a•••@shop.cl",
		"ñandu@shop.cl":     "ñ•••@shop.cl",
		"":                  "",
		"no-at-sign":        "•••",
		"@shop.cl":          "•••",
	}
	for in, want := range tests {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
	if got := customerEmail(&models.User{Role: models.RoleViewer}, "ana@shop.cl"); got != "a•••@shop.cl" {
		t.Errorf("viewer sees %q", got)
	}
	if got := customerEmail(&models.User{Role: models.RoleStaff}, "ana@shop.cl"); got != "ana@shop.cl" {
		t.Errorf("staff see %q", got)
	}
}
