package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"etpay-dashboard/linkimport"
	"etpay-dashboard/models"
)

// writeFile writes data to a file named name in a temp dir and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// `links import` makes the good rows' links, writes the result as CSV to
// standard output, and fails (exit 1) naming how many rows it refused.
func TestLinksImport(t *testing.T) {
	vars, db := newEnv(t, "BASE_URL", "https://shop.cl/pagos/")
	latin1, _ := charmap.Windows1252.NewEncoder().Bytes([]byte("merchant_order_id;order_amount;customer_email;description\r\n" +
		"OC-1;$12.990;ana@correo.cl;Suscripción\r\nOC-2;doce mil;;\r\nOC-3;5.000;;Reserva\r\n"))
	file := writeFile(t, "pedidos.csv", latin1)
	r := runCmd(t, vars, "", "links", "import", file, "--send-email")
	if r.err == nil || r.err.Error() != "1 de 3 filas rechazadas (ver la columna error)." {
		t.Fatalf("err = %v, want the count of refused rows", r.err)
	}
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(linkimport.ResultColumns, ",") {
		t.Fatalf("stdout %q (%v)", r.stdout, err)
	}
	if recs[1][0] != "OC-1" || recs[1][1] != "12990" || recs[1][3] != "Suscripción" || recs[1][4] != "created" || !payURL.MatchString(recs[1][5]) {
		t.Errorf("OC-1: %q", recs[1])
	}
	if recs[2][4] != "error" || recs[2][5] != "" || !strings.Contains(recs[2][6], "Escribe el monto en pesos") {
		t.Errorf("OC-2: %q", recs[2])
	}
	if recs[3][4] != "created" {
		t.Errorf("OC-3: %q", recs[3])
	}
	if n := countLinks(t, db); n != 2 {
		t.Errorf("links = %d, want 2", n)
	}
	s := openTestStore(t, db)
	counts, _ := s.OutboxCounts(context.Background())
	if counts[models.MailQueued] != 1 {
		t.Errorf("emails queued = %d, want 1 (OC-1's)", counts[models.MailQueued])
	}
	entries, _ := s.AuditEntries(context.Background(), models.AuditPage{})
	if len(entries) != 1 || entries[0].Action != models.AuditLinksImported || !strings.Contains(entries[0].Detail, `"file":"pedidos.csv","created":2,"refused":1`) {
		t.Errorf("audit: %+v", entries)
	}

	// Again, flags first: every order is taken now, so every row is refused.
	r = runCmd(t, vars, "", "links", "import", "--email-lang", "en", file)
	if r.err == nil || !strings.HasPrefix(r.err.Error(), "3 de 3") || countLinks(t, db) != 2 {
		t.Fatalf("second import: %v, links %d", r.err, countLinks(t, db))
	}
}

func TestLinksImportAllGood(t *testing.T) {
	vars, db := newEnv(t, "LANG", "en_US.UTF-8")
	file := writeFile(t, "orders.csv", []byte("merchant_order_id,order_amount\nA-1,1000\nA-2,2000\n"))
	r := runCmd(t, vars, "", "links", "import", file)
	if r.err != nil || strings.Count(r.stdout, ",created,") != 2 || countLinks(t, db) != 2 {
		t.Fatalf("err %v, links %d, stdout:\n%s", r.err, countLinks(t, db), r.stdout)
	}
}

func TestLinksImportRefuses(t *testing.T) {
	vars, db := newEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"links", "import"}, "Uso: etpay-dashboard links import ARCHIVO"},
		{"two files", []string{"links", "import", "a.csv", "b.csv"}, "Uso: etpay-dashboard links import ARCHIVO"},
		{"missing file", []string{"links", "import", filepath.Join(t.TempDir(), "nada.csv")}, "No se pudo leer"},
		{"bad header", []string{"links", "import", writeFile(t, "x.csv", []byte("orden,monto\n1,2\n"))}, "Faltan columnas en la primera fila: merchant_order_id, order_amount."},
		{"bad language", []string{"links", "import", "a.csv", "--email-lang", "fr"}, "--email-lang:"},
	}
	for _, tt := range tests {
		r := runCmd(t, vars, "", tt.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, r.err, tt.want)
		}
	}
	if n := countLinks(t, db); n != 0 {
		t.Errorf("links = %d", n)
	}
}
