package models

import (
	"testing"
)

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

// TestRebind: SQLite's queries as PostgreSQL reads them.
func TestRebind(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"placeholders", "SELECT a FROM t WHERE b = ? AND c IN (?, ?)", "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"},
		{"quoted ? stays", `SELECT '?' AS q, "a?" FROM t WHERE x = ?`, `SELECT '?' AS q, "a?" FROM t WHERE x = $1`},
		{"bound by GORM", "SELECT * FROM t WHERE a = $1", "SELECT * FROM t WHERE a = $1"},
		{"index hint", "SELECT * FROM notifications INDEXED BY idx_n WHERE id = ?", "SELECT * FROM notifications WHERE id = $1"},
		{"unary plus", "WHERE (+s.mode = ? OR +l.amount = ?)", "WHERE (s.mode = $1 OR l.amount = $2)"},
		{"arithmetic stays", "SELECT length(a) + length(b)", "SELECT length(a) + length(b)"},
		{"insert", "INSERT INTO links (a) VALUES (?)", "INSERT INTO links (a) VALUES ($1)"},
		{"quoted + stays", "INSERT INTO links (a) VALUES ('x +abc (+y')", "INSERT INTO links (a) VALUES ('x +abc (+y')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rebind(tt.in); got != tt.want {
				t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
