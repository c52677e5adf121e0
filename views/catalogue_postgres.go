package views

// Texts of running on PostgreSQL (issue 16): what the checks and the
// command line say where PostgreSQL, not etpay-dashboard, is in charge.
func init() {
	register("es", map[string]string{
		"system.database.postgres":    "%s: PostgreSQL responde. Su integridad la gestiona PostgreSQL: vigila sus propias alertas.",
		"system.disk.postgres":        "El disco de la base de datos lo gestiona PostgreSQL: vigílalo en su servidor o con tu proveedor.",
		"system.backups.postgres":     "Copias gestionadas por PostgreSQL: las copias programadas (BACKUP_DIR) no se usan; haz copias con pg_dump o con las de tu proveedor.",
		"golive.note.backup_postgres": "Gestionadas por PostgreSQL: confirma que pg_dump o tu proveedor hacen copias, y que sabes restaurarlas.",
		"cli.backup.postgres":         "La base de datos es PostgreSQL: backup --to solo copia bases SQLite. Haz la copia con pg_dump (por ejemplo: pg_dump --format=custom --file=copia.dump \"$DATABASE_URL\").",
	})
	register("en", map[string]string{
		"system.database.postgres":    "%s: PostgreSQL answers. Its integrity is managed by PostgreSQL: watch its own alerts.",
		"system.disk.postgres":        "The database's disk is managed by PostgreSQL: watch it on its server or with your provider.",
		"system.backups.postgres":     "Backups managed by PostgreSQL: scheduled backups (BACKUP_DIR) are not used; back up with pg_dump or your provider's backups.",
		"golive.note.backup_postgres": "Managed by PostgreSQL: make sure pg_dump or your provider makes backups, and that you know how to restore them.",
		"cli.backup.postgres":         "The database is PostgreSQL: backup --to copies SQLite databases only. Back it up with pg_dump (for example: pg_dump --format=custom --file=backup.dump \"$DATABASE_URL\").",
	})
}
