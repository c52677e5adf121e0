package views

import (
	"strings"

	"etpay-dashboard/models"
)

// MaskEmail hides most of an address: "ana.perez@shop.cl" becomes "a•••@shop.cl".
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if email == "" || at <= 0 {
		return maskAll(email)
	}
	first := []rune(email[:at])[0]
	return string(first) + "•••" + email[at:]
}

// MaskRUT keeps only the check digit: "12.345.678-5" becomes "••••••••-5".
func MaskRUT(rut string) string {
	if rut == "" {
		return ""
	}
	dash := strings.LastIndexByte(rut, '-')
	if dash < 0 {
		return maskAll(rut)
	}
	return "••••••••" + rut[dash:]
}

func maskAll(s string) string {
	if s == "" {
		return ""
	}
	return "•••"
}

// ForViewer reports whether user only views, and so sees personal data masked.
func ForViewer(user *models.User) bool {
	return user != nil && user.Role == models.RoleViewer
}

// customerEmail is the template func: the email, masked for viewers.
func customerEmail(user *models.User, email string) string {
	if ForViewer(user) {
		return MaskEmail(email)
	}
	return email
}

// customerRUT is the template func: the RUT, masked for viewers.
func customerRUT(user *models.User, rut string) string {
	if ForViewer(user) {
		return MaskRUT(rut)
	}
	return rut
}
