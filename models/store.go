package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the only door to the database. Writes go through one connection
// (SQLite allows one writer, and the bundled SQLite has a WAL bug with two);
// reads use a small pool of their own.
type Store struct {
	write *gorm.DB
	read  *gorm.DB
	// keys is NotificationKey's own small pool (see openKeyPool).
	keys keyPool
	// d is the engine the Store runs on (see engine.go).
	d dialect
	// notes group-commits notifications on the writer (see RecordNotification).
	notes *notifier
	// passwordCost is bcrypt's cost for new hashes (see WithPasswordCost).
	passwordCost int
	// loginsEnded counts the changes that ended logins (see LoginsEnded).
	loginsEnded atomic.Uint64
	// migrationBackup is the copy Open made before migrating (see MigrationBackup).
	migrationBackup string
	// baseURL is BASE_URL, which the links in webhooks start with (WithBaseURL).
	baseURL string
	// hookSnapshot is which event types endpoints want (see hookSubs).
	hookSnapshot atomic.Pointer[hookSubs]
	hooksMu      sync.Mutex
}

// migrateWithBackup migrates the database at url, first copying it next
// to itself when the migration changes its schema version (SQLite only).
func (s *Store) migrateWithBackup(ctx context.Context, url string) error {
	upgrading, err := s.backupBeforeMigration(ctx, url, time.Now())
	if err != nil {
		return err
	}
	if err := s.migrate(ctx, upgrading); err != nil {
		return err
	}
	return s.recordSchemaVersion(ctx)
}

// Open opens the database DATABASE_URL names and migrates it: a postgres://
// or postgresql:// URL is a PostgreSQL database (see engine.go), anything
// else the SQLite file at that path, created if needed.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: DefaultBusyTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	cost, err := passwordCost(o.passwordCost, inTestBinary())
	if err != nil {
		return nil, err
	}
	gcfg := &gorm.Config{
		Logger:  logger.Discard,
		NowFunc: func() time.Time { return time.Now().UTC() },
		// Every write path opens its own transaction where it needs one.
		SkipDefaultTransaction: true,
	}
	s := &Store{passwordCost: cost, baseURL: o.baseURL, d: dialect{postgres: IsPostgresURL(url)}}
	if err := s.openWriter(url, o.busyTimeout, gcfg); err != nil {
		return nil, err
	}
	if err := s.withMigrationLock(ctx, func() error { return s.migrateWithBackup(ctx, url) }); err != nil {
		s.closePools()
		return nil, err
	}
	if err := s.loadHookSubs(ctx); err != nil {
		s.closePools()
		return nil, fmt.Errorf("read webhook endpoints: %w", err)
	}
	if err := s.openReaders(url, o.busyTimeout, gcfg); err != nil {
		s.closePools()
		return nil, err
	}
	if err := s.startNotifier(ctx); err != nil {
		s.closePools()
		return nil, err
	}
	return s, nil
}

// openWriter opens the write pool: one connection, kept open.
func (s *Store) openWriter(url string, busy time.Duration, gcfg *gorm.Config) error {
	var err error
	if s.d.postgres {
		s.write, err = openPostgresGorm(url, false, busy, gcfg)
	} else {
		s.write, err = gorm.Open(sqlite.Open(dsn(url, true, busy)), gcfg)
	}
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	wsql, err := s.write.DB()
	if err != nil {
		return err
	}
	wsql.SetMaxOpenConns(1)
	wsql.SetConnMaxLifetime(0)
	return nil
}

// openReaders opens the read pool and the signing keys' pool.
func (s *Store) openReaders(url string, busy time.Duration, gcfg *gorm.Config) error {
	var err error
	if s.d.postgres {
		s.read, err = openPostgresGorm(url, true, busy, gcfg)
	} else {
		s.read, err = gorm.Open(sqlite.Open(dsn(url, false, busy)), gcfg)
	}
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	rsql, _ := s.read.DB()
	rsql.SetMaxOpenConns(4)
	if s.d.postgres {
		pool, err := openPostgresPool(url, true, busy)
		if err != nil {
			return err
		}
		pool.db.SetMaxOpenConns(keyConns)
		pool.db.SetMaxIdleConns(keyConns)
		s.keys = pool
		return nil
	}
	keys, err := openKeyPool(url, busy)
	if err != nil {
		return err
	}
	s.keys = keys
	return nil
}

// keyPool is what NotificationKey needs of its pool.
type keyPool interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	Close() error
}

// keyConns is how many connections the signing-key pool opens, and keeps.
const keyConns = 2

// openKeyPool opens the read-only connections NotificationKey uses, all kept
// open once opened. On the read pool, which database/sql lets keep only two
// idle, 32 concurrent webhooks made it close and reopen connections all the
// time, and a new connection reads and parses the whole schema again (half
// the lookups' CPU under load). They are not the read pool's, kept open
// instead: the staff's searches leave megabytes in the connections they ran
// on, which the read pool gives back by closing the ones beyond two.
func openKeyPool(path string, busy time.Duration) (*sql.DB, error) {
	db, err := sql.Open(sqlite.DriverName, dsn(path, false, busy))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(keyConns)
	db.SetMaxIdleConns(keyConns)
	return db, nil
}

// writerCacheKiB is the writer's page cache (readers keep SQLite's 2 MB).
const writerCacheKiB = 16000

// dsn builds the driver string with the pragmas security.md asks for.
// _txlock=immediate makes every transaction take the write lock up front, so a
// read-then-write never fails half-way with "database is locked".
func dsn(path string, writer bool, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	if writer {
		q.Set("_txlock", "immediate")
		// Checkpoints stay on this connection (the bundled SQLite's WAL-reset
		// bug needs two connections writing or checkpointing at once), so
		// the group whose commit passes the threshold waits for one, and
		// every notification behind it too. At 1,000 pages (SQLite's own
		// default, said here on purpose) they are four times as frequent as
		// at 4,000 and each a quarter as long: in the load script the p99 of
		// first deliveries on random old sessions fell from 52 ms to 30–32 ms
		// (recent: 28 → 18 ms) for ~10% more bytes and the same rates
		// (docs/performance.md, run K). The WAL file is cut back to 64 MB
		// after it restarts.
		q.Add("_pragma", "wal_autocheckpoint(1000)")
		q.Add("_pragma", "journal_size_limit(67108864)")
		// Statement journals stay in memory instead of a temporary file
		// written page by page.
		q.Add("_pragma", "temp_store(MEMORY)")
		// A bigger page cache for the writer, which reads the rows it
		// changes (16 MB; readers keep SQLite's default 2 MB each).
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -writerCacheKiB))
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// migrateIndexes are the indexes migrate makes or drops beside GORM's: for
// the overview's sums and its "needs attention" counts, the claims of the
// workers, and a few partial ones. The dropped ones are covered by a wider
// index or read by nothing; each costs every insert.
var migrateIndexes = []string{
	"DROP INDEX IF EXISTS idx_sessions_status",
	"DROP INDEX IF EXISTS idx_links_customer_email",
	"DROP INDEX IF EXISTS idx_notifications_verdict",
	// Only a rejected body is ever looked up by its hash (to count it
	// again): verified ones need no index entry, one less page per write.
	"DROP INDEX IF EXISTS idx_notifications_body_hash",
	"CREATE INDEX IF NOT EXISTS idx_notifications_rejected_body ON notifications(body_hash) WHERE verdict = 'rejected'",
	"DROP INDEX IF EXISTS idx_sessions_status_paid_at",
	"CREATE INDEX IF NOT EXISTS idx_sessions_paid ON sessions(paid_at) WHERE status = 'paid'",
	"CREATE INDEX IF NOT EXISTS idx_links_review ON links(id) WHERE review_reason <> ''",
	"CREATE INDEX IF NOT EXISTS idx_sessions_conflict ON sessions(id) WHERE conflict",
	"CREATE INDEX IF NOT EXISTS idx_notifications_verdict_last ON notifications(verdict, last_received_at)",
	// Replaced by idx_outbox_claim, which orders customers' emails first.
	"DROP INDEX IF EXISTS idx_outbox_due",
	// No query reads emails by creation time (the lists go by id); the
	// index cost the notification writer an entry per receipt.
	"DROP INDEX IF EXISTS idx_outbox_messages_created_at",
	// The webhook worker's claim: an endpoint's payments first (deliveryPriority).
	"DROP INDEX IF EXISTS idx_webhook_deliveries_due",
	"CREATE INDEX IF NOT EXISTS idx_webhook_deliveries_due_first ON webhook_deliveries(priority, next_attempt_at) WHERE status = 'pending'",
	"CREATE INDEX IF NOT EXISTS idx_links_open_expiry ON links(expires_at) WHERE status = 'open' AND expires_at IS NOT NULL",
	// The look for links due a reminder reads only the link emails sent
	// in its window (models.DueReminders).
	"CREATE INDEX IF NOT EXISTS idx_outbox_link_sent ON outbox_messages(sent_at) WHERE kind IN ('link', 'reminder') AND status = 'sent'",
}

// migrate brings the schema up to date. upgrading says the database comes
// from an older version: only then are its rows repaired (a full scan each,
// which a start at the current version need not pay).
// On PostgreSQL, withMigrationLock has created pgCompat's objects first.
func (s *Store) migrate(ctx context.Context, upgrading bool) error {
	hadLastOpened := s.write.Migrator().HasColumn(&Link{}, "LastOpenedAt")
	err := s.write.WithContext(ctx).AutoMigrate(&User{}, &StaffSession{}, &Setting{}, &Link{}, &Session{}, &Notification{}, &AuditEntry{}, &OutboxMessage{}, &MailAlertSubscription{}, &SecondFactor{}, &RecoveryCode{},
		&WebhookEndpoint{}, &WebhookEvent{}, &WebhookDelivery{}, &WebhookAttempt{}, &LinkImport{})
	if err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	if err := migrateAPI(s.write.WithContext(ctx)); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	if err := s.write.WithContext(ctx).AutoMigrate(&LoginAttempt{}, &ACMECert{}); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	if !hadLastOpened {
		// Links opened before the column came were last opened, as far as
		// anyone knows, when they were first opened.
		if err := s.write.WithContext(ctx).Exec("UPDATE links SET last_opened_at = opened_at WHERE last_opened_at IS NULL").Error; err != nil {
			return fmt.Errorf("migrate database: %w", err)
		}
	}
	if err := s.ensureSessionIndexes(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	for _, stmt := range migrateIndexes {
		if err := s.write.WithContext(ctx).Exec(stmt).Error; err != nil {
			return fmt.Errorf("migrate database: %w", err)
		}
	}
	if !upgrading {
		return nil
	}
	// Alerts queued before priorities existed go after customers' emails.
	if err := s.write.WithContext(ctx).Exec("UPDATE outbox_messages SET priority = 1 WHERE kind NOT IN ('link', 'receipt') AND priority = 0").Error; err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	if s.d.postgres {
		return nil // a timestamptz is always readable: nothing to repair
	}
	if err := s.clearUnreadableExpiries(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}

// unreadableExpiry selects links whose stored expiry cannot be read back:
// anything but a four-digit year within the years a user may supply (an
// older version stored "never", typed as 9999-12-31 in Chile, as year 10000).
const unreadableExpiry = "expires_at IS NOT NULL AND (typeof(expires_at) <> 'text' OR " +
	"expires_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' OR " +
	"substr(expires_at, 1, 4) < '2000' OR substr(expires_at, 1, 4) > '2100')"

// clearUnreadableExpiries repairs links whose expiry cannot be read (they
// would break every page that shows them): the expiry is cleared, which is
// what "never" meant, and the audit log says so for each link.
func (s *Store) clearUnreadableExpiries(ctx context.Context) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var bad []struct {
			ID        uint
			ExpiresAt string
		}
		if err := tx.Raw("SELECT id, CAST(expires_at AS TEXT) AS expires_at FROM links WHERE " + unreadableExpiry).Scan(&bad).Error; err != nil {
			return err
		}
		for _, l := range bad {
			if err := tx.Exec("UPDATE links SET expires_at = NULL WHERE id = ?", l.ID).Error; err != nil {
				return err
			}
			entry := AuditEntry{At: time.Now().UTC(), Action: AuditExpiryRepaired,
				Detail: fmt.Sprintf("link %d: stored expiry %q could not be read; cleared (no expiry)", l.ID, l.ExpiresAt)}
			if err := tx.Create(&entry).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// Close stops the writer, once the notifications queued are written, and
// closes both connection pools.
func (s *Store) Close() error {
	s.notes.stop()
	return s.closePools()
}

func (s *Store) closePools() error {
	var errs []error
	for _, db := range []*gorm.DB{s.read, s.write} {
		if db == nil {
			continue
		}
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	if s.keys != nil {
		errs = append(errs, s.keys.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error
}

// IntegrityCheck runs SQLite's integrity_check and returns its verdict ("ok" when healthy).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var result string
	err := s.read.WithContext(ctx).Raw("PRAGMA integrity_check").Scan(&result).Error
	return result, err
}

// SessionSecret returns the stored cookie secret, generating and keeping one on first use.
func (s *Store) SessionSecret(ctx context.Context) (string, error) {
	const key = "session_secret"
	var secret string
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockStartup(tx); err != nil { // two instances starting at once
			return err
		}
		var st Setting
		err := tx.Where("key = ?", key).Take(&st).Error
		if err == nil {
			secret = st.Value
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		secret = rand.Text() + rand.Text()
		return tx.Create(&Setting{Key: key, Value: secret}).Error
	})
	return secret, err
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}
