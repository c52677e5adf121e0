package handlers

import (
	"testing"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// TestAuditDetailsInWords reads back every stored shape of audit detail, as
// this and older versions wrote them, in Spanish; what it cannot read is
// shown raw, never dropped.
func TestAuditDetailsInWords(t *testing.T) {
	es := views.NewLocale("es")
	tests := []struct {
		action, detail string
		words, raw     string
	}{
		{models.AuditUserChanged, "ana@shop.cl: disabled", "ana@shop.cl: desactivado", ""},
		{models.AuditUserChanged, "ana@shop.cl: enabled", "ana@shop.cl: reactivado", ""},
		{models.AuditUserChanged, "ana@shop.cl: password reset", "ana@shop.cl: contraseña restablecida", ""},
		{models.AuditUserChanged, "ana@shop.cl: role viewer", "ana@shop.cl: ahora con rol Solo lectura", ""},
		{models.AuditUserChanged, "ana@shop.cl: renamed", "", "ana@shop.cl: renamed"},
		{models.AuditUserAdded, "ana@shop.cl (staff)", "ana@shop.cl, con rol Operador", ""},
		{models.AuditReplay, "12 -> duplicate", "Notificación 12 procesada de nuevo: duplicada", ""},
		{models.AuditReplay, "12 -> exploded", "", "12 -> exploded"},
		{models.AuditCheck, "OC-1: recorded 2", "OC-1: respuestas de ETpay registradas: 2", ""},
		{models.AuditCheck, "OC-1: failed", "OC-1: ETpay respondió con un error", ""},
		{models.AuditCheck, "OC-1: unavailable", "OC-1: no se pudo comunicar con ETpay", ""},
		{models.AuditUnlock, "ana@shop.cl: 5 failures, 1 addresses refused", "ana@shop.cl: intentos fallidos olvidados: 5; direcciones que estaban bloqueadas: 1", ""},
		{models.AuditLogin, "2fa", "con verificación en dos pasos", ""},
		{models.AuditLogin, "2fa: recovery code, 9 left", "con un código de recuperación; quedan 9", ""},
		{models.AuditSecondFactorFailed, "login: code already used", "al iniciar sesión, con un código ya usado", ""},
		{models.AuditSecondFactorFailed, "turn off", "al desactivar la verificación en dos pasos", ""},
		{models.AuditSecondFactorRequired, "on", "activado", ""},
		{models.AuditMailAlertsChange, "off", "desactivado", ""},
		{models.AuditExport, "status=paid", "CSV", "status=paid"},
		{models.AuditExport, "xlsx ", "Excel", ""},
		{models.AuditDemoSeeded, "links 1-500, 500 sessions, 1200 notifications, mode sandbox", "Links 1 a 500: 500 sesiones y 1.200 notificaciones, modo pruebas (sandbox)", ""},
		{models.AuditExpiryRepaired, `link 7: stored expiry "10000-01-01" could not be read; cleared (no expiry)`,
			"Link 7: su vencimiento guardado no se podía leer y se borró (ya no vence). Valor guardado:", "10000-01-01"},
		{models.AuditShopChanged, `{"merchant_name":"Tienda Ñuñoa","reply_to":""}`, "Nombre: Tienda Ñuñoa · Responder a: —", ""},
		{models.AuditLinkCreated, "OC-1", "OC-1", ""},
		{"from_a_newer_version", "something else", "", "something else"},
		{models.AuditExport, "", "CSV", ""},
		{models.AuditLogout, "", "", ""},
	}
	for _, tt := range tests {
		got := auditLines(es, []models.AuditEntry{{Action: tt.action, Detail: tt.detail}})[0]
		if got.Words != tt.words || got.Raw != tt.raw {
			t.Errorf("%s %q: words %q raw %q, want %q %q", tt.action, tt.detail, got.Words, got.Raw, tt.words, tt.raw)
		}
	}
}
