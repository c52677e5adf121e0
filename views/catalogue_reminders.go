package views

// Texts of the reminders of unpaid links: the email and the link page's card.
func init() {
	register("es", map[string]string{
		"mail.kind.reminder":          "Recordatorio de pago",
		"mail.reminder.subject":       "Recordatorio de %s: tu pago de la orden %s está pendiente",
		"mail.reminder.intro":         "Te recordamos que el pago de la orden %[2]s a %[1]s sigue pendiente. Puedes pagarla por transferencia bancaria con ETpay en el mismo link que te enviamos.",
		"mail.reminder.paid":          "Si ya pagaste, no hagas nada: este recordatorio se cruzó con tu pago.",
		"reminders.title":             "Recordatorios",
		"reminders.server_off":        "Este servidor no envía recordatorios (se activan con el ajuste REMIND_AFTER).",
		"reminders.rule":              "Si el link sigue sin pagar %s después de su último correo, el cliente recibe un recordatorio, hasta %d en total.",
		"reminders.sent":              "Recordatorios enviados a este link: %d.",
		"reminders.on":                "Los recordatorios de este link están activos.",
		"reminders.off":               "Los recordatorios de este link están desactivados.",
		"reminders.turn_off":          "Desactivar recordatorios",
		"reminders.turn_on":           "Activar recordatorios",
		"done.reminders_off":          "Recordatorios desactivados para este link.",
		"done.reminders_on":           "Recordatorios activados para este link.",
		"audit.action.link_reminders": "Recordatorios de un link",
		"audit.detail.reminders_off":  "%s: recordatorios desactivados",
		"audit.detail.reminders_on":   "%s: recordatorios activados",
	})
	register("en", map[string]string{
		"mail.kind.reminder":          "Payment reminder",
		"mail.reminder.subject":       "Reminder from %s: your payment for order %s is pending",
		"mail.reminder.intro":         "This is a reminder that your payment for order %[2]s to %[1]s is still pending. You can pay it by bank transfer with ETpay at the same link we sent you.",
		"mail.reminder.paid":          "If you have already paid, do nothing: this reminder crossed your payment.",
		"reminders.title":             "Reminders",
		"reminders.server_off":        "This server sends no reminders (the REMIND_AFTER setting turns them on).",
		"reminders.rule":              "If the link is still unpaid %s after its last email, the customer gets a reminder, up to %d in all.",
		"reminders.sent":              "Reminders sent for this link: %d.",
		"reminders.on":                "This link's reminders are on.",
		"reminders.off":               "This link's reminders are off.",
		"reminders.turn_off":          "Turn reminders off",
		"reminders.turn_on":           "Turn reminders on",
		"done.reminders_off":          "Reminders turned off for this link.",
		"done.reminders_on":           "Reminders turned on for this link.",
		"audit.action.link_reminders": "A link's reminders",
		"audit.detail.reminders_off":  "%s: reminders turned off",
		"audit.detail.reminders_on":   "%s: reminders turned on",
	})
}
