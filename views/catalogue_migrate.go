package views

// Texts of `migrate --to` (issue 16): moving a shop's history from its
// SQLite file to PostgreSQL.
func init() {
	register("es", map[string]string{
		"cli.migrate.to_required":    "Indica con --to la base PostgreSQL de destino (postgres://… o postgresql://…).",
		"cli.migrate.to_postgres":    "El destino de --to debe ser una URL postgres://… o postgresql://…: solo se migra a PostgreSQL.",
		"cli.migrate.source_sqlite":  "DATABASE_URL debe nombrar el archivo SQLite de origen; ya es una base PostgreSQL, así que no hay nada que migrar.",
		"cli.migrate.source_missing": "No existe el archivo SQLite %s que nombra DATABASE_URL: revisa la ruta.",
		"cli.migrate.source_version": "El archivo SQLite no tiene el esquema de esta versión: inicia esta versión una vez sobre él (la actualiza) y vuelve a migrar.",
		"cli.migrate.not_empty":      "La base de destino no está vacía (la tabla %s tiene filas): no se tocó. Migra a una base PostgreSQL nueva y vacía.",
		"cli.migrate.mismatch":       "La copia no coincide con el origen en %d tabla(s) (marcadas FAIL arriba): no uses la base de destino; bórrala y vuelve a migrar.",
		"cli.migrate.done":           "Migración completa: %d filas en %d tablas, todas las cantidades y sumas coinciden (%s). Ahora apunta DATABASE_URL a la base PostgreSQL.",
	})
	register("en", map[string]string{
		"cli.migrate.to_required":    "Name the target PostgreSQL database with --to (postgres://… or postgresql://…).",
		"cli.migrate.to_postgres":    "The --to target must be a postgres://… or postgresql://… URL: migrations go to PostgreSQL only.",
		"cli.migrate.source_sqlite":  "DATABASE_URL must name the source SQLite file; it is already a PostgreSQL database, so there is nothing to migrate.",
		"cli.migrate.source_missing": "The SQLite file %s named by DATABASE_URL does not exist: check the path.",
		"cli.migrate.source_version": "The SQLite file is not at this version's schema: start this version on it once (which upgrades it) and migrate again.",
		"cli.migrate.not_empty":      "The target database is not empty (table %s has rows): it was left untouched. Migrate to a new, empty PostgreSQL database.",
		"cli.migrate.mismatch":       "The copy differs from the source in %d table(s) (marked FAIL above): do not use the target database; drop it and migrate again.",
		"cli.migrate.done":           "Migration complete: %d rows in %d tables, every count and sum matches (%s). Now point DATABASE_URL at the PostgreSQL database.",
	})
}
