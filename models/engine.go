package models

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The engine home (issue 16). SQLite, a file named by DATABASE_URL, is the
// default and the heart of the product; a postgres:// or postgresql://
// DATABASE_URL runs the same Store on PostgreSQL. Every difference between
// the two lives here or in engine_pg.go, so that the queries elsewhere are
// written once:
//
//   - Placeholders: queries are written with ?. GORM rewrites its own; the
//     PostgreSQL pool (pgPool, engine_pg.go) rewrites those of the plain-SQL
//     hot paths to $1, $2… and drops SQLite's INDEXED BY hints, which the
//     PostgreSQL planner, having statistics, does not need.
//   - Typed VALUES: PostgreSQL reads an untyped VALUES list as text, so the
//     lists that UPDATE … FROM or INSERT … SELECT read are written with
//     typedRows, which casts on PostgreSQL and is valueRows on SQLite.
//   - Functions and collations SQLite has built in and PostgreSQL lacks are
//     created in the schema before each migration (pgCompat): the NOCASE collation
//     (ICU, case-insensitive), instr(), and the pg_trgm extension for search.
//   - Search: SQLite's FTS5 trigram index (search_index.go) becomes pg_trgm
//     GIN indexes read with ILIKE (search_pg.go).
//   - Backups (VACUUM INTO), integrity checks (PRAGMA quick_check) and
//     SQLite's repairs of unreadable stored values are SQLite's; on
//     PostgreSQL backups are pg_dump's and its health is the server's.
//   - Two instances on one PostgreSQL: migrations take an advisory lock, the
//     first admin and the session secret are made under a transaction's
//     advisory lock, and the notification writer locks the rows it reads
//     (FOR UPDATE: the sessions, then the links it may pay), so the same
//     notification applied by two instances at once is applied once, and
//     two payments of one link are applied in turn. A check that allows an
//     insert or a change (an order id free, an email free, an idempotency
//     key unanswered, an admin left, an endpoint's secrets) is made under a
//     transaction's advisory lock on what it checks (lockNames), and
//     AddSession reads its link FOR SHARE (forShare): at READ COMMITTED
//     two instances would otherwise both pass it.

// ErrNotOnPostgres is returned for what only an SQLite database can do (a
// file copy with VACUUM INTO, say).
var ErrNotOnPostgres = errors.New("not available on PostgreSQL")

// dialect is which engine a Store runs on.
type dialect struct {
	postgres bool
}

// IsPostgresURL says whether DATABASE_URL names a PostgreSQL database
// rather than an SQLite file.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// OnPostgres says whether the Store runs on PostgreSQL.
func (s *Store) OnPostgres() bool { return s.d.postgres }

// onPostgres says whether db talks to PostgreSQL, for the helpers that get
// a transaction rather than the Store.
func onPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// connOnPostgres says whether conn (a transaction's ConnPool) is PostgreSQL's.
func connOnPostgres(conn gorm.ConnPool) bool {
	switch conn.(type) {
	case *pgPool, *pgTx:
		return true
	}
	return false
}

// typedRows is valueRows for a VALUES list that a query reads as a table
// (WITH v(…) AS (VALUES …)): on PostgreSQL each value is cast to its
// column's type (bigint, text, boolean, timestamptz), since it would read
// them all as text; on SQLite it is valueRows.
func typedRows(conn gorm.ConnPool, rows int, types ...string) string {
	if !connOnPostgres(conn) {
		return valueRows(rows, len(types))
	}
	cells := make([]string, len(types))
	for i, t := range types {
		cells[i] = "?::" + t
	}
	row := "(" + strings.Join(cells, ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// forUpdate is the locking clause the notification writer's read of a
// group's sessions (with their links, sessionsByTokenQuery) ends with: on
// PostgreSQL, another instance applying a notification for the same session
// waits for this transaction and then reads what it wrote. Rows are locked
// in id order, so two instances locking overlapping groups do not deadlock.
// Only the sessions: PostgreSQL locks no row of an outer join's nullable
// side, so the links a group may pay are locked next, in id order, and read
// again (lockLinks): two sessions of one link paid at once on two instances
// are applied in turn. SQLite has one writer at a time already.
func forUpdate(conn gorm.ConnPool) string {
	if connOnPostgres(conn) {
		return " ORDER BY s.id FOR UPDATE OF s"
	}
	return ""
}

// forShare is tx for a read that the rest of the transaction relies on
// staying true (AddSession: the link is open): on PostgreSQL the rows read
// are locked FOR SHARE until commit, so another instance's cancel or payment
// of them waits, as it would behind SQLite's single writer.
func forShare(tx *gorm.DB) *gorm.DB { return rowLock(tx, clause.LockingStrengthShare) }

// rowLock is tx whose read locks the rows it reads, on PostgreSQL, with
// strength (clause.LockingStrengthShare or …Update) until commit; SQLite's
// single writer needs none.
func rowLock(tx *gorm.DB, strength string) *gorm.DB {
	if !onPostgres(tx) {
		return tx
	}
	return tx.Clauses(clause.Locking{Strength: strength})
}

// lockStartup serializes, across instances sharing one PostgreSQL, a
// transaction that must happen once (the first admin, the session secret):
// a transaction-scoped advisory lock, released at its commit. SQLite's
// immediate transactions serialize them already.
func lockStartup(tx *gorm.DB) error { return advisoryXactLock(tx, startupLockClass) }

// advisoryXactLock waits for the transaction-scoped advisory lock class of
// this schema on PostgreSQL (released at commit); on SQLite the immediate
// transaction is alone already.
func advisoryXactLock(tx *gorm.DB, class int64) error {
	if !onPostgres(tx) {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", class).Error
}

// startupLockClass is the advisory lock of migrations and of what happens
// once at start (an arbitrary constant: "etpa" in ASCII), taken with the
// schema's hash as its second key: instances sharing a schema wait for each
// other, databases in other schemas of the same server do not.
const startupLockClass = 0x65747061

// tableCount counts the tables of the database (of the current schema on
// PostgreSQL): zero means a new database.
func (s *Store) tableCount(ctx context.Context) (int64, error) {
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
	if s.d.postgres {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
	}
	var n int64
	err := s.write.WithContext(ctx).Raw(q).Scan(&n).Error
	return n, err
}

// least is the function of the smaller of two values: SQLite's two-argument
// min(), PostgreSQL's LEAST (its min() is the aggregate only).
func (d dialect) least() string {
	if d.postgres {
		return "LEAST"
	}
	return "MIN"
}

// alone runs a statement whose failure must not undo its transaction (an
// email that cannot be queued never undoes a payment). SQLite undoes only
// the failed statement; PostgreSQL aborts the whole transaction on any
// error, unless the statement ran under a savepoint of its own.
func alone(ctx context.Context, conn gorm.ConnPool, fn func() error) error {
	if !connOnPostgres(conn) {
		return fn()
	}
	if _, err := conn.ExecContext(ctx, "SAVEPOINT alone"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := conn.ExecContext(ctx, "ROLLBACK TO SAVEPOINT alone"); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := conn.ExecContext(ctx, "RELEASE SAVEPOINT alone")
	return err
}

// stored is t as the database keeps it: PostgreSQL keeps microseconds,
// SQLite the nanoseconds of Go's text. Times the notification writer hands
// back (to the live table, the webhooks) are so the times stored.
func (d dialect) stored(t time.Time) time.Time {
	if d.postgres {
		return t.Truncate(time.Microsecond)
	}
	return t
}

// Advisory lock classes of the jobs that scan and act (issue 16), taken with
// the schema's hash as their second key like startupLockClass.
const (
	// expiryLockClass: the webhook worker's look for links whose expiry
	// passed (tried: tryJobLock), and staff expiring a link now (waited
	// for: queueExpiredOnce), so link.expired is queued once between them.
	expiryLockClass = 0x65747078
)

// tryJobLock says whether this instance may do a scanning job's transaction
// now: on PostgreSQL it takes the job's transaction-scoped advisory lock if
// no other instance holds it (pg_try_advisory_xact_lock, released at the
// commit); false means another instance is doing the same work this moment,
// so this one skips it rather than do it twice. On SQLite the immediate
// transaction already excludes every other writer, and it is always true.
func tryJobLock(tx *gorm.DB, class int64) (bool, error) {
	if !onPostgres(tx) {
		return true, nil
	}
	var got bool
	err := tx.Raw("SELECT pg_try_advisory_xact_lock(?, hashtext(current_schema()))", class).Scan(&got).Error
	return got, err
}

// loginsLockClass is the advisory lock under which instances count login
// attempts one at a time (models.AllowLoginAttempt).
const loginsLockClass = 0x65746c67

// lockLogins makes tx the only one counting login attempts until it commits:
// on PostgreSQL a transaction's advisory lock (a wait of milliseconds: each
// holder runs three short statements); SQLite's immediate transaction is
// alone already.
func lockLogins(tx *gorm.DB) error { return advisoryXactLock(tx, loginsLockClass) }

// lockOrderIDs makes tx, until it commits, the only transaction of any
// instance sharing this PostgreSQL schema that may take these links' order
// ids (each in its link's mode, case-folded): createLink's check that an
// order id is free and its insert are then one step, which READ COMMITTED
// alone does not make them (two instances, or the command line beside a
// server, could both find it free). SQLite's immediate transaction is alone
// already.
func lockOrderIDs(tx *gorm.DB, links ...*Link) error {
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.Mode + "\x00" + strings.ToLower(l.MerchantOrderID)
	}
	return lockNames(tx, "order id", names...)
}

// lockNames takes, on PostgreSQL, a transaction's advisory lock per name of
// this kind, for a check and the insert it allows to be one step across
// instances (see lockOrderIDs). A name's lock is one of lockBuckets per
// kind (its key: the kind's hash with the name's bucket in its low bits,
// mixed with the schema's; one bigint key, a space apart from the (class,
// schema) locks above); they are taken in the order of their keys, so two
// transactions taking several never wait for each other in a circle. On
// SQLite it does nothing.
func lockNames(tx *gorm.DB, kind string, names ...string) error {
	if !onPostgres(tx) {
		return nil
	}
	kindKey := fnvHash(kind) &^ (lockBuckets - 1)
	keys := make([]int64, 0, len(names))
	for _, name := range names {
		keys = append(keys, int64(kindKey|fnvHash(name)%lockBuckets))
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		err := tx.Exec("SELECT pg_advisory_xact_lock(?::bigint # hashtextextended(current_schema(), ?))", k, namesLockSeed).Error
		if err != nil {
			return fmt.Errorf("lock %s: %w", kind, err)
		}
	}
	return nil
}

// lockBuckets is how many advisory locks one kind of name may use. Names
// share them by hash (two names in one bucket only wait for each other), so
// an import of 5,000 order ids holds at most this many entries of
// PostgreSQL's shared lock table, which has max_locks_per_transaction ×
// max_connections slots for every transaction of the server (6,400 by
// default): one lock per name ran it out with 25,000–40,000 names.
const lockBuckets = 256

func fnvHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// namesLockSeed seeds the schema's hash in lockNames' keys (an arbitrary
// constant: "etor" in ASCII).
const namesLockSeed = 0x65746f72
