package handlers

import (
	"etpay-dashboard/linkimport"
	"etpay-dashboard/views"
)

// importWords reads an import's audit detail back.
func importWords(l views.Locale, d string) (string, string, bool) {
	a, ok := linkimport.ParseAudit(d)
	if !ok {
		return "", "", false
	}
	key := "audit.detail.links_imported"
	if a.Emails {
		key = "audit.detail.links_imported_em"
	}
	return l.T(key, a.File, a.Created, a.Refused), "", true
}

// remindersWords reads back "<order id>: off" and "<order id>: on".
func remindersWords(l views.Locale, d string) (string, string, bool) {
	order, state, ok := cutLast(d, ": ")
	switch {
	case ok && state == "off":
		return l.T("audit.detail.reminders_off", order), "", true
	case ok && state == "on":
		return l.T("audit.detail.reminders_on", order), "", true
	}
	return "", "", false
}
