package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/seed"
	"etpay-dashboard/testdb"

	"github.com/jackc/pgx/v5"
)

// needsPostgres skips a migration test on a run without PostgreSQL.
func needsPostgres(t *testing.T) { testdb.RequirePostgres(t, "a shop moved into PostgreSQL") }

// shopFile is an SQLite shop with seeded history and one of each real
// flow: a link with its email, a paid session and its notifications, an
// audit entry, a user with two-step verification, an API key, a webhook
// endpoint with deliveries and an attempt.
func shopFile(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shop.db")
	s, err := models.Open(ctx, path, append(testStoreOptions, models.WithBaseURL("https://pagos.tienda.cl/"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := seed.Run(ctx, s, 300); err != nil {
		t.Fatal(err)
	}
	hash, err := s.HashPassword("una-clave-bien-larga")
	must(t, err)
	u, err := s.CreateUser(ctx, "admin@tienda.cl", hash, models.RoleAdmin)
	must(t, err)
	must(t, s.StartSecondFactor(ctx, u.ID, "sealed-secret"))
	must(t, s.EnableSecondFactor(ctx, u.ID, "sealed-secret", 100, []string{"hash-1", "hash-2"}, ""))
	_, _, err = s.CreateAPIKey(ctx, "tienda", "write", "sandbox", &u.ID)
	must(t, err)
	_, err = s.CreateWebhookEndpoint(ctx, models.WebhookEndpointInput{URL: "https://tienda.cl/hooks",
		Events: []string{"payment.succeeded", "link.created"}, Secret: "whsec_c2VjcmV0", CreatedByID: &u.ID})
	must(t, err)
	link, _, err := s.CreateLinkWithEmail(ctx, models.LinkInput{MerchantOrderID: "OC-ÑANDÚ-1", Amount: 12990,
		CustomerEmail: "cliente@correo.cl", Description: "Zapatos \"rojos\" talla 42", Mode: "sandbox", CreatedByID: &u.ID},
		func(l *models.Link) (*models.OutboxMessage, error) {
			return &models.OutboxMessage{Kind: models.MailLink, To: l.CustomerEmail, Subject: "Tu link", TextBody: "t",
				HTMLBody: "<p>h</p>", MessageID: l.Code + "@tienda.cl"}, nil
		})
	must(t, err)
	must(t, s.AddSession(ctx, &models.Session{LinkID: link.ID, SessionToken: "tok-1", SignatureToken: "sig-1", Mode: "sandbox"}))
	for _, paid := range []bool{true, true} { // the second is a duplicate
		_, err = s.RecordNotification(ctx, models.NotificationInput{ReceivedAt: time.Now(), RemoteAddr: "192.0.2.1",
			Body: []byte(`{"session_token":"tok-1"}`), Verified: true, SessionToken: "tok-1",
			MerchantOrderID: "OC-ÑANDÚ-1", PaymentToken: "pay-1", PaymentStatus: "success", Paid: paid})
		must(t, err)
	}
	must(t, s.RecordAudit(ctx, u, u.Email, "login", "desde la prueba", "192.0.2.1"))
	now := time.Now()
	due, err := s.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), nil, 10)
	must(t, err)
	if len(due) == 0 {
		t.Fatal("no webhook delivery to attempt")
	}
	_, err = s.RecordWebhookAttempt(ctx, models.WebhookResult{DeliveryID: due[0].DeliveryID, EndpointID: due[0].EndpointID,
		At: now, StatusCode: 500, Duration: 30 * time.Millisecond, Answer: "oops", Next: now.Add(time.Minute)}, nil)
	must(t, err)
	return path
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// runMigrateCommand runs `migrate --to target` on the SQLite file src.
func runMigrateCommand(src, target string) (string, error) {
	var out, errOut bytes.Buffer
	env := environment{storeOptions: testStoreOptions, args: []string{"migrate", "--to", target}, stdout: &out, stderr: &errOut,
		getenv: func(k string) string {
			if k == "DATABASE_URL" {
				return src
			}
			return ""
		}}
	err := run(context.Background(), env)
	return out.String(), err
}

func TestMigrateCopiesEveryRow(t *testing.T) {
	needsPostgres(t)
	t.Parallel()
	src := shopFile(t)
	target := testdb.URL(t, "target")
	out, err := runMigrateCommand(src, target)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	for _, want := range []string{"sessions ", "301 / 301", "ok   sessions", "sum(amount)", "Migración completa", "not copied: links_fts "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	compareDatabases(t, src, target)
	// The indexes suspended during the copy are all back.
	fresh := testdb.URL(t, "fresh")
	s, err := models.Open(context.Background(), fresh, testStoreOptions...)
	must(t, err)
	must(t, s.Close())
	if want, got := indexNames(t, fresh), indexNames(t, target); want != got || !strings.Contains(got, "idx_links_order_trgm") {
		t.Errorf("indexes after the copy:\n%s\nwant those of a new database:\n%s", got, want)
	}
	sameSessions(t, src, target)
}

// indexNames lists the indexes of a PostgreSQL database's schema.
func indexNames(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, url)
	must(t, err)
	defer pg.Close(ctx)
	var names string
	must(t, pg.QueryRow(ctx, "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = current_schema()").Scan(&names))
	return names
}

func TestMigrateRefusesANonEmptyTarget(t *testing.T) {
	needsPostgres(t)
	t.Parallel()
	ctx := context.Background()
	src := shopFile(t)
	target := testdb.URL(t, "target")
	s, err := models.Open(ctx, target, testStoreOptions...)
	must(t, err)
	_, err = s.CreateLink(ctx, models.LinkInput{MerchantOrderID: "YA-ESTABA", Amount: 1000, Mode: "sandbox"})
	must(t, err)
	must(t, s.Close())
	before := dumpTarget(t, target)
	out, err := runMigrateCommand(src, target)
	if err == nil || !strings.Contains(err.Error(), "no está vacía (la tabla links tiene filas)") {
		t.Fatalf("err = %v, want the target refused\n%s", err, out)
	}
	if after := dumpTarget(t, target); after != before {
		t.Errorf("the refused target changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestMigrateCatchesAMismatch is not parallel: it sets the command's hook.
func TestMigrateCatchesAMismatch(t *testing.T) {
	needsPostgres(t)
	src := shopFile(t)
	target := testdb.URL(t, "target")
	migrateBeforeCompare = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "DELETE FROM audit_entries WHERE id = (SELECT MAX(id) FROM audit_entries)")
		return err
	}
	defer func() { migrateBeforeCompare = nil }()
	out, err := runMigrateCommand(src, target)
	if err == nil || !strings.Contains(err.Error(), "no coincide con el origen en 1 tabla") {
		t.Fatalf("err = %v, want a mismatch\n%s", err, out)
	}
	if !strings.Contains(out, "FAIL audit_entries") || strings.Contains(out, "FAIL sessions") {
		t.Errorf("the comparison does not single out audit_entries:\n%s", out)
	}
}

func TestMigrateRefusals(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nada.db")
	for _, tt := range []struct {
		name, src, target, want string
	}{
		{"no target", missing, "", "Indica con --to"},
		{"target not PostgreSQL", missing, "/tmp/otra.db", "--to: El destino de --to debe ser una URL postgres://"},
		{"source PostgreSQL", "postgres://localhost/x", "postgresql://localhost/y", "DATABASE_URL debe nombrar el archivo SQLite"},
		{"source missing", missing, "postgres://localhost/y", "No existe el archivo SQLite " + missing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runMigrateCommand(tt.src, tt.target)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
