package main

// The bare HTTP ceiling (-http): the reference's durable work behind the
// app's HTTP framework, driven by the load script's wrk -t2 -c32 like the
// app. It answers the question the reference alone cannot: what any server
// doing a notification's minimum honest work reaches at the group sizes 32
// connections allow. Per request: read the body ({"payment":"<jwt>"}, as
// ETpay sends it), verify the JWT (HS256, the session's key from a map
// loaded at start: no SQL), hand the notification to the one writer and
// answer 200 only once its group has committed (WAL, synchronous=FULL: after
// the fsync). The writer takes whatever is waiting, no more (no wait for a
// bigger group), and applies it as the reference's apply does: one BEGIN
// IMMEDIATE transaction with its three statements.
//
// It seeds the reference's database (same tables, same settings), writes
// each workload's bodies to a file, one a line (recent: the fresh sessions
// in creation order; random: the reference's random old pending ones),
// listens on loopback and prints one JSON line (ready) on stdout; it stops
// on SIGTERM. GET /groups says how many groups the writer committed and
// how many notifications they held; POST /checkpoint empties the WAL, as
// the reference does before each workload. -skip jwt finds a body's
// session in a map built when it was signed instead of verifying it;
// -skip write answers at once: together they split its cost into HTTP,
// JWT and durable write.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

// maxGroup bounds what the writer takes at once, as the reference's groups
// of 256; with 32 connections it is never reached.
const maxGroup = 256

// ready is the line printed once the server listens.
type ready struct {
	Listen string            `json:"listen"`
	Bodies map[string]string `json:"bodies"` // workload: file of its bodies, one a line
}

// claims are an ETpay notification's, as the app reads them.
type claims struct {
	SessionToken    string `json:"session_token"`
	MerchantOrderID string `json:"merchant_order_id"`
	PaymentToken    string `json:"payment_token"`
	PaymentStatus   string `json:"payment_status"`
	jwt.RegisteredClaims
}

// parser is pinned to HS256 with the app's leeway and iat check.
var parser = jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
	jwt.WithLeeway(60*time.Second), jwt.WithIssuedAt())

// bare is the server: the keys, the writer's queue and its counters.
type bare struct {
	skip string
	// keys is every session's signing key by token, loaded at start and
	// only read after; signed the session behind each body when skip is
	// "jwt".
	keys   map[string]string
	signed map[string]note
	queue  chan *request
	// checkpoints asks the writer to empty the WAL between workloads.
	checkpoints    chan chan error
	groups, stored atomic.Int64
}

// request is one notification waiting for its group's commit.
type request struct {
	note note
	done chan error
}

// serve runs the bare HTTP program until SIGTERM.
func serve(dir string, sessions, recent, random int, skip string) error {
	if skip != "" && skip != "jwt" && skip != "write" {
		return fmt.Errorf("-skip %q: want jwt or write", skip)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	work, err := os.MkdirTemp(dir, "reference-http-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	db, conn, err := open(ctx, filepath.Join(work, "reference.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()
	b := &bare{skip: skip, signed: map[string]note{}, queue: make(chan *request, maxGroup), checkpoints: make(chan chan error)}
	files, err := b.prepare(ctx, conn, work, sessions, recent, random)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	app := b.app()
	written := make(chan struct{})
	go func() { defer close(written); b.write(ctx, conn) }()
	go func() { <-ctx.Done(); _ = app.ShutdownWithTimeout(5 * time.Second) }()
	line, _ := json.Marshal(ready{Listen: ln.Addr().String(), Bodies: files})
	fmt.Println(string(line))
	err = app.Listener(ln)
	<-written
	return err
}

// prepare seeds the reference's database, loads every session's key and
// writes each workload's signed bodies to a file in work.
func (b *bare) prepare(ctx context.Context, conn *sql.Conn, work string, sessions, recent, random int) (map[string]string, error) {
	begin := time.Now()
	rng := rand.New(rand.NewChaCha8([32]byte{15}))
	pending, err := seed(ctx, conn, rng, sessions)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	fresh, err := insertSessions(ctx, conn, rng, sessions+1, recent, func(int) bool { return false })
	if err != nil {
		return nil, fmt.Errorf("fresh sessions: %w", err)
	}
	rng.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
	if b.keys, err = loadKeys(ctx, conn, rng); err != nil {
		return nil, err
	}
	files := map[string]string{}
	for _, w := range []struct {
		name   string
		tokens []string
	}{{"recent", fresh}, {"random", pending[:min(random, len(pending))]}} {
		if files[w.name], err = b.writeBodies(work, w.name, w.tokens); err != nil {
			return nil, err
		}
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "reference -http: %d sessions, %d keys, bodies signed in %v\n",
		sessions+recent, len(b.keys), time.Since(begin).Round(time.Millisecond))
	return files, nil
}

// loadKeys gives every session a signing key (40 alphanumerics, like
// ETpay's signature_token) and returns them by token: the reference's
// sessions table has no key column, so they live in memory only.
func loadKeys(ctx context.Context, conn *sql.Conn, rng *rand.Rand) (map[string]string, error) {
	rs, err := conn.QueryContext(ctx, "SELECT token FROM sessions ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	keys := map[string]string{}
	for rs.Next() {
		var token string
		if err := rs.Scan(&token); err != nil {
			return nil, err
		}
		keys[token] = alnum(rng, 40)
	}
	return keys, rs.Err()
}

// writeBodies signs one notification per token as ETpay would (the claims
// the load script's bodies carry) and writes the bodies, one a line.
func (b *bare) writeBodies(work, name string, tokens []string) (string, error) {
	var out strings.Builder
	for i, t := range tokens {
		c := claims{SessionToken: t, MerchantOrderID: fmt.Sprintf("PED-%s-%06d", name, i+1),
			PaymentToken: "LOAD" + t[:40], PaymentStatus: "success"}
		token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(b.keys[t]))
		if err != nil {
			return "", err
		}
		body, _ := json.Marshal(map[string]string{"payment": token})
		b.signed[token] = note{token: t, paymentToken: c.PaymentToken}
		out.Write(body)
		out.WriteByte('\n')
	}
	path := filepath.Join(work, name+".txt")
	return path, os.WriteFile(path, []byte(out.String()), 0o600)
}

// app is the Fiber app: the app's own settings where they touch a
// webhook (immutable strings, streamed bodies read ahead 4 KB, timeouts),
// one POST route, and the two routes the load script reads between
// workloads.
func (b *bare) app() *fiber.App {
	app := fiber.New(fiber.Config{
		Immutable: true, DisableStartupMessage: true,
		StreamRequestBody: true, BodyLimit: 4 << 10, DisablePreParseMultipartForm: true,
		Concurrency: 10_000, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Minute, IdleTimeout: 60 * time.Second,
	})
	app.Post("/webhooks/etpay", b.receive)
	app.Get("/groups", func(c *fiber.Ctx) error {
		return c.JSON(map[string]int64{"groups": b.groups.Load(), "notifications": b.stored.Load()})
	})
	app.Post("/checkpoint", func(c *fiber.Ctx) error {
		done := make(chan error, 1)
		b.checkpoints <- done
		if err := <-done; err != nil {
			return err
		}
		return c.SendString("ok")
	})
	return app
}

// receive is the webhook: parse, verify, hand to the writer, answer once
// its group committed.
func (b *bare) receive(c *fiber.Ctx) error {
	var body struct {
		Payment string `json:"payment"`
	}
	if err := json.Unmarshal(c.Body(), &body); err != nil || body.Payment == "" {
		return c.Status(fiber.StatusBadRequest).SendString("malformed notification")
	}
	n, err := b.verify(body.Payment)
	if err != nil {
		return c.Status(fiber.StatusUnauthorized).SendString("notification not verified")
	}
	if b.skip == "write" {
		return c.SendString("ok")
	}
	n.body = string(c.Body())
	req := &request{note: n, done: make(chan error, 1)}
	b.queue <- req
	if err := <-req.done; err != nil {
		return err
	}
	return c.SendString("ok")
}

// verify checks the JWT with its session's key (or, with -skip jwt, finds
// the session it was signed for) and returns the notification it carries.
func (b *bare) verify(token string) (note, error) {
	if b.skip == "jwt" {
		n, ok := b.signed[token]
		if !ok {
			return note{}, errors.New("unknown body")
		}
		return n, nil
	}
	var c claims
	_, err := parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		key := b.keys[t.Claims.(*claims).SessionToken]
		if key == "" {
			return nil, errors.New("unknown session")
		}
		return []byte(key), nil
	})
	if err != nil {
		return note{}, err
	}
	if c.PaymentStatus == "" {
		return note{}, errors.New("no payment_status")
	}
	return note{token: c.SessionToken, paymentToken: c.PaymentToken}, nil
}

// write is the one writer: it takes whatever notifications are waiting (at
// least one, at most maxGroup), applies them in one transaction and
// answers each with the commit's outcome.
func (b *bare) write(ctx context.Context, conn *sql.Conn) {
	group := make([]*request, 0, maxGroup)
	notes := make([]note, 0, maxGroup)
	for {
		select {
		case <-ctx.Done():
			return
		case done := <-b.checkpoints:
			_, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			done <- err
			continue
		case req := <-b.queue:
			group = append(group[:0], req)
		}
	gather:
		for len(group) < maxGroup {
			select {
			case req := <-b.queue:
				group = append(group, req)
			default:
				break gather
			}
		}
		notes = notes[:0]
		for _, req := range group {
			notes = append(notes, req.note)
		}
		_, _, err := apply(ctx, conn, notes)
		if err == nil {
			b.groups.Add(1)
			b.stored.Add(int64(len(notes)))
		}
		for _, req := range group {
			req.done <- err
		}
	}
}
