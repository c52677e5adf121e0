package views

// Texts of the command line's error messages. Mistakes in a field the web
// forms also have reuse the forms' texts (invalid.*, users.invalid.*).
func init() {
	register("es", map[string]string{
		"cli.usage":                    "Uso incorrecto. Ejecuta \"etpay-dashboard help\" para ver los comandos y sus opciones.",
		"cli.links.needs_order_amount": "Para crear un link indica la orden con --order y el monto con --amount.",
		"cli.invalid.email_lang":       "El idioma del correo debe ser es (español) o en (inglés).",
		"cli.invalid.role":             "El rol debe ser admin (administrador), staff (operador) o viewer (solo lectura).",
		"cli.users.password_stdin":     "Escribe la contraseña por la entrada estándar y agrega --password-stdin; nunca como argumento, porque quedaría en el historial.",
		"cli.users.unknown":            "No hay ningún usuario con el correo %s.",
		"cli.backup.to_required":       "Indica con --to el archivo nuevo donde guardar la copia.",
		"cli.backup.exists":            "Ya existe el archivo %s: elige uno nuevo para no sobrescribir otra copia.",
		"cli.seed.sessions_range":      "Indica entre 1 y 10.000.000 sesiones de demostración, no %d.",
		"cli.seed.live_refused":        "No se agregan datos de demostración en modo live (hay ajustes ETPAY_* configurados), porque se mezclarían con los pagos reales. Agrega --force si de verdad quieres hacerlo.",
	})
	register("en", map[string]string{
		"cli.usage":                    "Wrong usage. Run \"etpay-dashboard help\" to see the commands and their options.",
		"cli.links.needs_order_amount": "To create a link, give the order with --order and the amount with --amount.",
		"cli.invalid.email_lang":       "The email's language must be es (Spanish) or en (English).",
		"cli.invalid.role":             "The role must be admin, staff or viewer (read only).",
		"cli.users.password_stdin":     "Give the password on standard input and add --password-stdin; never as an argument, where it would stay in the shell history.",
		"cli.users.unknown":            "There is no user with the email %s.",
		"cli.backup.to_required":       "Name the new file to write the backup to with --to.",
		"cli.backup.exists":            "The file %s already exists: choose a new one so no other backup is overwritten.",
		"cli.seed.sessions_range":      "Give between 1 and 10,000,000 demo sessions, not %d.",
		"cli.seed.live_refused":        "Demo data is not added in live mode (ETPAY_* settings are set), since it would mix with real payments. Add --force if you really mean to.",
	})
}
