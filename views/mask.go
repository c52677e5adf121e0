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
