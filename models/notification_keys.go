package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// keyCacheSize bounds the signing keys kept in memory (about 200 bytes each).
const keyCacheSize = 1 << 15

// keyRefillRows bounds the sessions one refill reads (about 0.8 MB of keys).
const keyRefillRows = 4096

// keyRefillEvery is the least time between two refills, so sessions found
// one after another (or sent by a stranger who knows many session tokens)
// cost at most this many bulk reads a second.
const keyRefillEvery = 100 * time.Millisecond

// keyCache remembers signing keys found: a session's signature_token never
// changes once the session exists. Misses are never remembered, since an
// unknown session_token may become known when its session is created.
//
// Besides the keys of sessions this server started (AddSession) and keys
// looked up one by one, a refill reads in bulk the keys of the sessions
// created after one that missed: a session another process added (another
// instance, the CLI) is notified minutes after it was created, and so are
// the sessions created after it, so one read answers the next thousands of
// notifications without SQL.
type keyCache struct {
	mu   sync.RWMutex
	keys map[string]string
	// newest is the highest session id a refill has read: a session that
	// misses with a higher id was created since, and starts a refill.
	newest uint

	refilling sync.Mutex // held by the one refill running; others skip
	lastFill  time.Time  // when the last refill started (under refilling)
	now       func() time.Time
	refills   atomic.Int64 // refills run, for tests and figures
}

func (c *keyCache) get(token string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	key, ok := c.keys[token]
	return key, ok
}

func (c *keyCache) put(token, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(token, key)
}

func (c *keyCache) putLocked(token, key string) {
	if c.keys == nil {
		c.keys = make(map[string]string)
	}
	if len(c.keys) >= keyCacheSize {
		// Forget a quarter, chosen by map order (effectively at random).
		drop := keyCacheSize / 4
		for k := range c.keys {
			delete(c.keys, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.keys[token] = key
}

// startRefill says whether a refill after session id may run now, and if
// so holds the refill lock until c.refilling.Unlock: a session older than
// the newest read, a refill already running or one started less than
// keyRefillEvery ago means none.
func (c *keyCache) startRefill(id uint) bool {
	c.mu.RLock()
	older := id <= c.newest
	c.mu.RUnlock()
	if older || !c.refilling.TryLock() {
		return false
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	t := now()
	if !c.lastFill.IsZero() && t.Sub(c.lastFill) < keyRefillEvery {
		c.refilling.Unlock()
		return false
	}
	c.lastFill = t
	c.refills.Add(1)
	return true
}

// keyRow is one session's key as a refill reads it.
type keyRow struct {
	id         uint
	token, key string
}

// NotificationKey is SigningKey for the webhook: the signature_token of the
// session with this session_token, ErrNotFound when there is none, from a
// bounded in-memory cache when it was found before. An error that means the
// database stayed busy (or ctx's deadline passed first) is ErrBusy.
func (s *Store) NotificationKey(ctx context.Context, sessionToken string) (string, error) {
	if key, ok := s.notes.keys.get(sessionToken); ok {
		return key, nil
	}
	var id uint
	var key string
	err := s.keys.QueryRowContext(ctx, "SELECT id, signature_token FROM sessions WHERE session_token = ? LIMIT 1", sessionToken).Scan(&id, &key)
	if errors.Is(err, sql.ErrNoRows) {
		// An unknown token never starts a refill: strangers sending made-up
		// tokens cost one indexed lookup each, as before.
		return "", ErrNotFound
	}
	if err != nil {
		return "", markBusy(fmt.Errorf("find signing key: %w", err))
	}
	if key != "" {
		s.notes.keys.put(sessionToken, key)
	}
	s.refillKeys(ctx, id)
	return key, nil
}

// refillKeys reads into the cache the keys of up to keyRefillRows sessions
// created after session id, when startRefill allows. Its failure is not the
// caller's: the key asked for was found, and later misses read by SQL.
func (s *Store) refillKeys(ctx context.Context, id uint) {
	c := &s.notes.keys
	if !c.startRefill(id) {
		return
	}
	defer c.refilling.Unlock()
	rows, err := s.readKeysAfter(ctx, id)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range rows {
		if r.token != "" && r.key != "" {
			c.putLocked(r.token, r.key)
		}
	}
	// On PostgreSQL a session with a lower id may commit after this read; it
	// is then found one by one, as every key was before refills.
	c.newest = max(c.newest, id)
	if len(rows) > 0 {
		c.newest = max(c.newest, rows[len(rows)-1].id)
	}
}

// readKeysAfter reads the keys of up to keyRefillRows sessions with ids
// above id, in id order.
func (s *Store) readKeysAfter(ctx context.Context, id uint) ([]keyRow, error) {
	rs, err := s.keys.QueryContext(ctx, "SELECT id, session_token, signature_token FROM sessions WHERE id > ? ORDER BY id LIMIT ?", id, keyRefillRows)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make([]keyRow, 0, 256)
	for rs.Next() {
		var r keyRow
		if err := rs.Scan(&r.id, &r.token, &r.key); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}
