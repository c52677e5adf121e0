package models

import (
	"testing"

	"etpay-dashboard/testdb"
)

// skipOnPostgres skips a test that is SQLite's by nature, saying why.
func skipOnPostgres(t testing.TB, reason string) {
	t.Helper()
	testdb.SkipOnPostgres(t, reason)
}

// refuseInserts makes every insert into table whose row matches when (a
// condition on NEW, or "" for all) fail with message, as a full disk or a
// broken row would: an SQLite trigger, or a PostgreSQL trigger function.
// allow ends it.
func refuseInserts(t *testing.T, s *Store, name, table, when, message string) (allow func()) {
	t.Helper()
	stmts := []string{"CREATE TRIGGER " + name + " BEFORE INSERT ON " + table + " " + sqliteWhen(when) +
		"BEGIN SELECT RAISE(ABORT, '" + message + "'); END"}
	if s.d.postgres {
		cond := "true"
		if when != "" {
			cond = when
		}
		stmts = []string{
			"CREATE FUNCTION " + name + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF " + cond +
				" THEN RAISE EXCEPTION '" + message + "'; END IF; RETURN NEW; END $$",
			"CREATE TRIGGER " + name + " BEFORE INSERT ON " + table + " FOR EACH ROW EXECUTE FUNCTION " + name + "()",
		}
	}
	for _, stmt := range stmts {
		if err := s.write.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		stmt := "DROP TRIGGER " + name
		if s.d.postgres {
			stmt += " ON " + table
		}
		if err := s.write.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func sqliteWhen(when string) string {
	if when == "" {
		return ""
	}
	return "WHEN " + when + " "
}
