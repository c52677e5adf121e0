package views

// Texts of a merchant's day (issue 13): what an action did (the layout's
// flash), the pages that ask before an action, the shop's own name, payment
// outcomes in words, and the words that replace raw values on the pages.
func init() {
	register("es", map[string]string{
		"done.link_created":      "Link creado.",
		"done.link_created_mail": "Link creado. Su correo al cliente quedó en cola.",
		"done.link_cancelled":    "Link cancelado: ya no inicia pagos.",
		"done.expiry_saved":      "Vencimiento guardado.",
		"done.expiry_cleared":    "Vencimiento quitado: el link no vence.",

		"confirm.back":            "Volver",
		"confirm.cancel":          "No, volver",
		"links.cancel_confirm":    "¿Cancelar el link de la orden %s?",
		"links.cancel_what":       "El link dejará de iniciar pagos: quien lo abra verá que ya no está disponible.",
		"links.cancel_mail":       "Si su correo al cliente aún espera en la bandeja de salida, se retira sin enviarse.",
		"links.cancel_late":       "Un pago que ya se inició en ETpay aún puede confirmarse; si llega, el link queda marcado para devolverlo.",
		"links.cancel_submit":     "Sí, cancelar el link",
		"users.disable_confirm":   "¿Desactivar a %s?",
		"users.disable_undo":      "Puedes reactivarlo cuando quieras desde su página.",
		"users.password_confirm":  "Restablecer la contraseña de %s",
		"twofactor.reset_confirm": "¿Restablecer la verificación en dos pasos de %s?",
	})
	register("en", map[string]string{
		"done.link_created":      "Link created.",
		"done.link_created_mail": "Link created. Its email to the customer is queued.",
		"done.link_cancelled":    "Link cancelled: it starts no more payments.",
		"done.expiry_saved":      "Expiry saved.",
		"done.expiry_cleared":    "Expiry removed: the link does not expire.",

		"confirm.back":            "Back",
		"confirm.cancel":          "No, go back",
		"links.cancel_confirm":    "Cancel the link for order %s?",
		"links.cancel_what":       "The link will start no more payments: whoever opens it is told it is no longer available.",
		"links.cancel_mail":       "If its email to the customer is still waiting in the outbox, it is withdrawn unsent.",
		"links.cancel_late":       "A payment already started at ETpay may still be confirmed; if one arrives, the link is flagged for a refund.",
		"links.cancel_submit":     "Yes, cancel the link",
		"users.disable_confirm":   "Disable %s?",
		"users.disable_undo":      "You can enable them again at any time from their page.",
		"users.password_confirm":  "Reset the password of %s",
		"twofactor.reset_confirm": "Reset the two-step verification of %s?",
	})
}
