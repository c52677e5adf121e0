package main

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

// cliSentence is what a command-line error must look like: optionally the
// flag it is about, then a sentence (a capital letter first, a full stop last),
// never a catalogue key such as invalid.amount_digits.
var cliSentence = regexp.MustCompile(`^(--[a-z-]+: )?\p{Lu}[^\n]*\.$`)

func TestCLIErrorsAreSentences(t *testing.T) {
	live := []string{"ETPAY_API_URL", "https://api.example", "ETPAY_PMT_URL", "https://pmt.example", "ETPAY_MERCHANT_CODE", "m", "ETPAY_MERCHANT_API_TOKEN", "t"}
	const password = "una clave bien larga"
	tests := []struct {
		name  string
		lang  string
		vars  []string
		stdin string
		args  []string
		want  string // the whole message
		is    error  // a sentinel the error must still match
	}{
		{"amount with thousands dots", "", nil, "", []string{"links", "create", "--order", "OC-1", "--amount", "50.000"},
			"--amount: Escribe el monto en pesos solo con dígitos, sin puntos, comas ni signo $ (por ejemplo 50000).", nil},
		{"amount with thousands dots in English", "en_US.UTF-8", nil, "", []string{"links", "create", "--order", "OC-1", "--amount", "50.000"},
			"--amount: Write the amount in whole pesos with digits only, no dots, commas or $ sign (for example 50000).", nil},
		{"no amount", "es_CL.UTF-8", nil, "", []string{"links", "create", "--order", "OC-1"},
			"Para crear un link indica la orden con --order y el monto con --amount.", nil},
		{"bad order id reuses the form's message", "", nil, "", []string{"links", "create", "--order", "OC 1", "--amount", "500"},
			"--order: Usa solo letras, números, guion (-) y guion bajo (_), hasta 64 caracteres.", nil},
		{"email language", "", nil, "", []string{"links", "create", "--order", "OC-1", "--amount", "500", "--email", "a@b.cl", "--email-lang", "fr"},
			"--email-lang: El idioma del correo debe ser es (español) o en (inglés).", nil},
		{"links without a verb", "", nil, "", []string{"links"},
			`Uso incorrecto. Ejecuta "etpay-dashboard help" para ver los comandos y sus opciones.`, errUsage},
		{"users add with a bad email", "", nil, password + "\n", []string{"users", "add", "--email", "b@tienda", "--role", "staff", "--password-stdin"},
			"--email: Escribe un correo válido, como nombre@dominio.cl.", nil},
		{"users add with a bad role in English", "en", nil, password + "\n", []string{"users", "add", "--email", "b@tienda.cl", "--role", "owner", "--password-stdin"},
			"--role: The role must be admin, staff or viewer (read only).", nil},
		{"users add without --password-stdin", "", nil, password + "\n", []string{"users", "add", "--email", "b@tienda.cl", "--role", "staff"},
			"Escribe la contraseña por la entrada estándar y agrega --password-stdin; nunca como argumento, porque quedaría en el historial.", nil},
		{"users add with a short password", "", nil, "corta\n", []string{"users", "add", "--email", "b@tienda.cl", "--role", "staff", "--password-stdin"},
			"La contraseña debe tener al menos 12 caracteres.", models.ErrPasswordTooShort},
		{"users add with a long password in English", "en_GB", nil, strings.Repeat("x", 73) + "\n", []string{"users", "add", "--email", "b@tienda.cl", "--role", "staff", "--password-stdin"},
			"The password can have at most 72 bytes; accented letters count double. Make it a little shorter.", models.ErrPasswordTooLong},
		{"backup without --to", "", nil, "", []string{"backup"},
			"Indica con --to el archivo nuevo donde guardar la copia.", nil},
		{"seed with no sessions", "", nil, "", []string{"seed", "--sessions", "0"},
			"--sessions: Indica entre 1 y 10.000.000 sesiones de demostración, no 0.", nil},
		{"seed in live mode", "en", live, "", []string{"seed", "--sessions", "5"},
			"Demo data is not added in live mode (ETPAY_* settings are set), since it would mix with real payments. Add --force if you really mean to.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, _ := newEnv(t, append([]string{"LANG", tt.lang}, tt.vars...)...)
			r := runCmd(t, vars, tt.stdin, tt.args...)
			checkSentence(t, r.err, tt.want)
			if tt.is != nil && !errors.Is(r.err, tt.is) {
				t.Errorf("error %v does not wrap %v", r.err, tt.is)
			}
		})
	}

	t.Run("users add with a taken email", func(t *testing.T) {
		vars, _ := newEnv(t)
		if r := runCmd(t, vars, password+"\n", "users", "add", "--email", "ana@tienda.cl", "--role", "staff", "--password-stdin"); r.err != nil {
			t.Fatal(r.err)
		}
		r := runCmd(t, vars, password+"\n", "users", "add", "--email", "Ana@Tienda.cl", "--role", "admin", "--password-stdin")
		checkSentence(t, r.err, "--email: Ya existe un usuario con este correo.")
		if !errors.Is(r.err, models.ErrEmailTaken) {
			t.Errorf("error %v does not wrap ErrEmailTaken", r.err)
		}
	})
	t.Run("backup over an existing file", func(t *testing.T) {
		testdb.SkipOnPostgres(t, "backup --to copies SQLite files (see TestBackupOnPostgresSaysPgDump)")
		vars, _ := newEnv(t)
		to := filepath.Join(t.TempDir(), "copia.db")
		if r := runCmd(t, vars, "", "backup", "--to", to); r.err != nil {
			t.Fatal(r.err)
		}
		r := runCmd(t, vars, "", "backup", "--to", to)
		checkSentence(t, r.err, "--to: Ya existe el archivo "+to+": elige uno nuevo para no sobrescribir otra copia.")
	})
}

func checkSentence(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want %q", want)
	}
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	if !cliSentence.MatchString(err.Error()) {
		t.Errorf("error %q is not a sentence", err)
	}
}

// config checks ADMIN_PASSWORD before anything opens the database, by the
// same rule models applies to every password.
func TestConfigAndModelsAgreeOnPasswordLength(t *testing.T) {
	if config.MinPasswordLength != models.MinPasswordLength {
		t.Fatalf("config says %d characters, models %d", config.MinPasswordLength, models.MinPasswordLength)
	}
}
