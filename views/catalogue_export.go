package views

// Texts of the spreadsheet exports (.xlsx).
func init() {
	register("es", map[string]string{
		"xlsx.export":                "Exportar Excel",
		"xlsx.col.mode":              "Modo",
		"xlsx.col.paid_at":           "Pagada el",
		"xlsx.col.failed_at":         "Fallida el",
		"xlsx.col.last_notification": "Última notificación",
		"xlsx.col.email":             "Correo del cliente",
		"xlsx.col.created_by":        "Creado por",
		"xlsx.col.last_opened":       "Abierto por última vez",
		"xlsx.col.link_email":        "Correo del link",
		"xlsx.col.expires_at":        "Vence el",
	})
	register("en", map[string]string{
		"xlsx.export":                "Export to Excel",
		"xlsx.col.mode":              "Mode",
		"xlsx.col.paid_at":           "Paid at",
		"xlsx.col.failed_at":         "Failed at",
		"xlsx.col.last_notification": "Last notification",
		"xlsx.col.email":             "Customer email",
		"xlsx.col.created_by":        "Created by",
		"xlsx.col.last_opened":       "Last opened",
		"xlsx.col.link_email":        "Link email",
		"xlsx.col.expires_at":        "Expires at",
	})
}
