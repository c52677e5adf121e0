package live

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"etpay-dashboard/models"
)

// Relay carries a Broker's events between the instances that share one
// PostgreSQL database, through NOTIFY and LISTEN on one channel (no other
// broker). Event ids come from a sequence, numbered in the statement that
// notifies, so a browser's Last-Event-ID means the same on every instance.
// Each instance fills its ring from the notifications it receives, its own
// included, so every ring holds the same events under the same ids.
//
// Publishing only queues the event: one goroutine sends the queue to the
// database, so a payment never waits on it, and a NOTIFY that fails is
// logged (the payment is committed already; a reload shows the row). A
// second connection listens; when it comes back after a drop the open
// streams are told to resync, since events may have been missed.
type Relay struct {
	config   *pgx.ConnConfig
	channel  string // as given; the schema's is channelSQL's
	sequence string // the sequence's name, quoted (regclass input)
	load     func(ctx context.Context, id uint) (*models.Session, error)
	logger   *slog.Logger
	broker   *Broker
	queue    chan models.Session
	dropped  atomic.Int64 // events the full queue refused, not yet logged
	// retryMin and retryMax bound the wait before listening again; wait
	// waits (tests hold it to keep the listener away).
	retryMin, retryMax time.Duration
	wait               func(ctx context.Context, d time.Duration) bool
	// quiet is how long the listener waits for a notification before it
	// pings (pingEvery; shorter in tests).
	quiet time.Duration
	// listenerPID and senderPID are the connections' backends, for tests
	// that kill them.
	listenerPID, senderPID atomic.Uint32
}

// RelayOptions are a Relay's settings; the zero value of each is the
// production one.
type RelayOptions struct {
	// Logger gets failed NOTIFYs, lost connections and reconnections.
	Logger *slog.Logger
	// LoadSession reads a session whose event would not fit in a
	// notification (8000 bytes): such an event carries only the session's
	// id. main passes Store.SessionByID.
	LoadSession func(ctx context.Context, id uint) (*models.Session, error)
	// Channel names the NOTIFY channel (default live_events; the channel
	// is that name and a hash of the schema, see channelSQL) and Sequence the
	// sequence numbering the events (default live_event_seq, created when
	// missing). Tests give each their own so they can run side by side.
	Channel, Sequence string
}

const (
	// queueSize bounds the events waiting for the database; beyond it
	// they are dropped (and logged), never waited on.
	queueSize = 1024
	// batchSize is how many queued events one statement notifies.
	batchSize = 100
	// dialTimeout bounds connecting, and statementTimeout one NOTIFY
	// statement: with the database gone, the queue moves on.
	dialTimeout      = 5 * time.Second
	statementTimeout = 5 * time.Second
	// pingEvery is how long the listener waits for a notification before
	// it checks that its connection still answers (a dead peer may never
	// close it).
	pingEvery = 30 * time.Second
	// lockClass is the first key of the advisory lock that orders publishes
	// ("live" in ASCII); the second is the channel's hash.
	lockClass = 0x6c697665
	// maxPayload keeps a notification under PostgreSQL's 8000-byte limit
	// with room for the event id before it.
	maxPayload = 7900
)

// NewRelay returns a relay over the PostgreSQL database at databaseURL
// (postgres:// or postgresql://). It connects only when Run starts; its
// Broker is usable at once.
func NewRelay(databaseURL string, opts RelayOptions) (*Relay, error) {
	config, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("live relay: %w", err)
	}
	config.ConnectTimeout = dialTimeout
	config.RuntimeParams["application_name"] = "etpay-dashboard live events"
	if opts.Channel == "" {
		opts.Channel = "live_events"
	}
	if opts.Sequence == "" {
		opts.Sequence = "live_event_seq"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Relay{
		config: config, channel: opts.Channel,
		sequence: pgx.Identifier{opts.Sequence}.Sanitize(),
		load:     opts.LoadSession, logger: opts.Logger,
		queue:    make(chan models.Session, queueSize),
		retryMin: 250 * time.Millisecond, retryMax: 10 * time.Second, wait: sleep,
		quiet: pingEvery,
	}
	r.broker = New()
	r.broker.relay = r
	return r, nil
}

// Broker is the relay's broker: handlers subscribe to it and the payments
// publish to it as to an in-memory one.
func (r *Relay) Broker() *Broker { return r.broker }

// Run sends the queued events and listens for every instance's until ctx
// ends, reconnecting with back-off whenever the database is away.
func (r *Relay) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { r.sendLoop(ctx) })
	wg.Go(func() { r.listenLoop(ctx) })
	wg.Wait()
}

// publish queues s for the database without waiting.
func (r *Relay) publish(s models.Session) {
	select {
	case r.queue <- s:
	default:
		r.dropped.Add(1) // logged by the sender, so publishing never logs
	}
}

// connect opens a connection with the sequence in place.
func (r *Relay) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, r.config.Copy())
	if err != nil {
		return nil, err
	}
	if err := r.ensureSequence(ctx, conn); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// ensureSequence creates the event sequence when missing. Two instances
// starting together would both try (and CREATE … IF NOT EXISTS can then
// fail on the catalogue's unique index), so it is done under the lock that
// orders publishes. One that exists is left alone: a role that may use it
// need not be allowed to create in its schema.
func (r *Relay) ensureSequence(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, r.sequence).Scan(&exists); err != nil || exists {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClass, r.channel); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "CREATE SEQUENCE IF NOT EXISTS "+r.sequence)
		return err
	})
}

// channelSQL is the SQL expression of the channel this relay notifies and
// listens on, from the parameter param holding Relay.channel: that name,
// then a hash of the connection's schema. A channel belongs to the whole
// database, while the sequence and the sessions are the schema's: two shops
// in two schemas of one database would otherwise see each other's rows.
func channelSQL(param string) string {
	return "(" + param + "::text || '_' || left(md5(coalesce(current_schema(), '')), 12))"
}

// sleep waits d, or less if ctx ends; it reports whether ctx is still on.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// closeConn closes a connection that may be nil or broken.
func closeConn(conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx) // a broken connection may fail to say goodbye: nothing to do
}
