package handlers

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// auditLine is an audit entry as its page shows it. The stored detail stays
// as the code wrote it (older rows too); Words says it in the reader's
// language, and Raw is what is shown as stored: a query string, or a detail
// of a shape this version does not know.
type auditLine struct {
	models.AuditEntry
	Words, Raw string
}

func auditLines(l views.Locale, entries []models.AuditEntry) []auditLine {
	out := make([]auditLine, len(entries))
	for i, e := range entries {
		out[i] = auditLine{AuditEntry: e}
		if say, ok := auditDetails[e.Action]; ok {
			if words, raw, ok := say(l, e.Detail); ok {
				out[i].Words, out[i].Raw = words, raw
				continue
			}
		}
		if plainDetail[e.Action] {
			out[i].Words = e.Detail
		} else {
			out[i].Raw = e.Detail
		}
	}
	return out
}

// plainDetail are the actions whose detail is data alone (an order id, an
// email): shown as it is.
var plainDetail = map[string]bool{
	models.AuditLinkCreated: true, models.AuditLinkCanceled: true, models.AuditEmailResent: true,
	models.AuditSecondFactorReset: true, models.AuditLoginFailed: true,
	models.AuditAPIKeyCreated: true, models.AuditAPIKeyRevoked: true, // "<name> (<prefix>)"
}

// auditDetails read back each action's stored detail: words, a raw part,
// and whether the detail had a shape they know.
var auditDetails = map[string]func(l views.Locale, d string) (words, raw string, ok bool){
	models.AuditUserChanged:          userChangeWords,
	models.AuditUserAdded:            userAddedWords,
	models.AuditReplay:               replayWords,
	models.AuditCheck:                checkWords,
	models.AuditUnlock:               unlockWords,
	models.AuditLogin:                loginWords,
	models.AuditSecondFactorFailed:   codeFailedWords,
	models.AuditSecondFactorRequired: onOffWords,
	models.AuditMailAlertsChange:     onOffWords,
	models.AuditExport:               exportWords,
	models.AuditDemoSeeded:           seededWords,
	models.AuditExpiryRepaired:       expiryRepairedWords,
	models.AuditShopChanged:          shopWords,
	models.AuditLinksImported:        importWords,
	models.AuditReminders:            remindersWords,
}

// "<email>: disabled", ": enabled", ": password reset", ": role <role>".
func userChangeWords(l views.Locale, d string) (string, string, bool) {
	email, change, ok := cutLast(d, ": ")
	switch {
	case !ok:
		return "", "", false
	case change == "disabled":
		return l.T("audit.detail.disabled", email), "", true
	case change == "enabled":
		return l.T("audit.detail.enabled", email), "", true
	case change == "password reset":
		return l.T("audit.detail.password_reset", email), "", true
	case strings.HasPrefix(change, "role ") && models.ValidRole(change[5:]):
		return l.T("audit.detail.role", email, l.T("users.role."+change[5:])), "", true
	}
	return "", "", false
}

// "<email> (<role>)".
func userAddedWords(l views.Locale, d string) (string, string, bool) {
	email, role, ok := strings.Cut(strings.TrimSuffix(d, ")"), " (")
	if !ok || !models.ValidRole(role) {
		return "", "", false
	}
	return l.T("audit.detail.user_added", email, l.T("users.role."+role)), "", true
}

// "<notification id> -> <verdict>".
func replayWords(l views.Locale, d string) (string, string, bool) {
	id, verdict, ok := strings.Cut(d, " -> ")
	switch verdict {
	case models.VerdictVerified, models.VerdictDuplicate, models.VerdictRejected:
		return l.T("audit.detail.replay", id, l.T("verdict."+verdict)), "", ok
	}
	return "", "", false
}

// "<order>: recorded <n>", ": failed", ": unavailable".
func checkWords(l views.Locale, d string) (string, string, bool) {
	order, result, ok := cutLast(d, ": ")
	switch {
	case !ok:
		return "", "", false
	case result == "failed":
		return l.T("audit.detail.check_failed", order), "", true
	case result == "unavailable":
		return l.T("audit.detail.check_unavailable", order), "", true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(result, "recorded "))
	return l.T("audit.detail.check_recorded", order, n), "", err == nil && strings.HasPrefix(result, "recorded ")
}

// "<email>: <n> failures, <m> addresses refused".
func unlockWords(l views.Locale, d string) (string, string, bool) {
	email, counts, ok := cutLast(d, ": ")
	var failures, refused int
	if _, err := fmt.Sscanf(counts, "%d failures, %d addresses refused", &failures, &refused); err != nil || !ok {
		return "", "", false
	}
	return l.T("audit.detail.unlock", email, failures, refused), "", true
}

// "2fa", "2fa: recovery code, <n> left".
func loginWords(l views.Locale, d string) (string, string, bool) {
	if d == "2fa" {
		return l.T("audit.detail.login_2fa"), "", true
	}
	var left int
	if _, err := fmt.Sscanf(d, "2fa: recovery code, %d left", &left); err != nil {
		return "", "", false
	}
	return l.T("audit.detail.login_recovery", left), "", true
}

// "login", "login: code already used", "turn off".
func codeFailedWords(l views.Locale, d string) (string, string, bool) {
	key := map[string]string{"login": "audit.detail.code_login", "login: code already used": "audit.detail.code_reused",
		"turn off": "audit.detail.code_turn_off"}[d]
	return l.T(key), "", key != ""
}

// "on", "off".
func onOffWords(l views.Locale, d string) (string, string, bool) {
	key := map[string]string{"on": "audit.detail.on", "off": "audit.detail.off"}[d]
	return l.T(key), "", key != ""
}

// "<query string>" (CSV; empty for every session) or "xlsx <query string>":
// the query is shown raw.
func exportWords(l views.Locale, d string) (string, string, bool) {
	key := "audit.detail.export_csv"
	if q, ok := strings.CutPrefix(d, "xlsx"); ok {
		key, d = "audit.detail.export_xlsx", strings.TrimSpace(q)
	}
	return l.T(key), d, true
}

// "links <a>-<b>, <n> sessions, <m> notifications, mode <mode>" (package seed).
func seededWords(l views.Locale, d string) (string, string, bool) {
	var first, last, sessions, notes int
	var mode string
	_, err := fmt.Sscanf(d, "links %d-%d, %d sessions, %d notifications, mode %s", &first, &last, &sessions, &notes, &mode)
	if err != nil {
		return "", "", false
	}
	return l.T("audit.detail.seeded", first, last, sessions, notes, l.T("mode."+mode)), "", true
}

// "link <id>: stored expiry <quoted> could not be read; cleared (no expiry)" (models).
func expiryRepairedWords(l views.Locale, d string) (string, string, bool) {
	var id int
	var stored string
	if _, err := fmt.Sscanf(d, "link %d: stored expiry %q", &id, &stored); err != nil {
		return "", "", false
	}
	return l.T("audit.detail.expiry_repaired", id), stored, true
}

// The JSON of models.ShopSettings.
func shopWords(l views.Locale, d string) (string, string, bool) {
	var s models.ShopSettings
	if err := json.Unmarshal([]byte(d), &s); err != nil {
		return "", "", false
	}
	return l.T("audit.detail.shop", orDash(s.MerchantName), orDash(s.ReplyTo)), "", true
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
