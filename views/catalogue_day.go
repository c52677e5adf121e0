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
	})
	register("en", map[string]string{
		"done.link_created":      "Link created.",
		"done.link_created_mail": "Link created. Its email to the customer is queued.",
		"done.link_cancelled":    "Link cancelled: it starts no more payments.",
		"done.expiry_saved":      "Expiry saved.",
		"done.expiry_cleared":    "Expiry removed: the link does not expire.",
	})
}
