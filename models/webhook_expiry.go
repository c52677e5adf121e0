package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// expiredUntilKey is the setting that says how far the expiry job has
// looked: the expiry and id of the last link it considered.
const expiredUntilKey = "webhook_expired_until"

// expiryBatch bounds the links one transaction of the expiry job reads.
const expiryBatch = 500

// expiryMark is a place in the order (expires_at, id) of links.
type expiryMark struct {
	at time.Time
	id uint
}

// QueueLinkExpiries queues link.expired for every open link whose expiry
// has passed by now, once per link: it looks at the expiries after where it
// stopped last time, and moves that mark in the same transaction as the
// events. An endpoint hears of the expiries that passed while it existed.
// It returns how many events it queued; without a subscribed endpoint it
// reads nothing. Instances sharing a PostgreSQL database take turns (an
// advisory lock): while one looks, another skips its look.
func (s *Store) QueueLinkExpiries(ctx context.Context, now time.Time) (int, error) {
	total := 0
	// On PostgreSQL another instance's endpoint may want it: the batch's
	// own query of the endpoints says.
	for s.hooks().wants(EventLinkExpired) || s.d.postgres {
		n, more, err := s.queueExpiryBatch(ctx, now.UTC())
		total += n
		if err != nil || !more {
			return total, err
		}
	}
	return total, nil
}

// queueExpiryBatch does one transaction of QueueLinkExpiries; more says the
// batch was full.
func (s *Store) queueExpiryBatch(ctx context.Context, now time.Time) (queued int, more bool, err error) {
	err = s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Another instance looking this moment queues what this one would.
		if mine, err := tryJobLock(tx, expiryLockClass); err != nil || !mine {
			return err
		}
		endpoints, err := subscribedEndpoints(tx, EventLinkExpired)
		if err != nil || len(endpoints) == 0 {
			return err
		}
		mark, err := readExpiryMark(tx)
		if err != nil {
			return err
		}
		links, err := expiredLinksAfter(tx, mark, now)
		if err != nil {
			return err
		}
		var evs []shopEvent
		for _, l := range links {
			ev, err := expiryEvent(s.baseURL, l, endpoints)
			if err != nil {
				return err
			}
			if ev != nil {
				evs = append(evs, *ev)
			}
		}
		if err := insertShopEvents(tx.Statement.Context, tx.Statement.ConnPool, evs); err != nil {
			return err
		}
		next := expiryMark{at: now}
		if more = len(links) == expiryBatch; more {
			last := links[len(links)-1]
			next = expiryMark{at: *last.ExpiresAt, id: last.ID}
		}
		queued = len(evs)
		return writeExpiryMark(tx, next)
	})
	return queued, more, err
}

// expiryEvent is link.expired for the endpoints that existed when l
// expired; nil when none did.
func expiryEvent(baseURL string, l *Link, endpoints []WebhookEndpoint) (*shopEvent, error) {
	var ids []uint
	for _, e := range endpoints {
		if !e.CreatedAt.After(*l.ExpiresAt) {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ev, err := newShopEvent(baseURL, EventLinkExpired, *l.ExpiresAt, l, nil)
	ev.endpoints = ids
	return &ev, err
}

// expiredLinksAfter reads the open links whose expiry passed after mark and
// by now, and that have no link.expired event yet, through idx_links_open_expiry.
func expiredLinksAfter(tx *gorm.DB, mark expiryMark, now time.Time) ([]*Link, error) {
	rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context, "SELECT "+eventLinkColumns+" FROM links "+
		"WHERE status = 'open' AND expires_at IS NOT NULL AND expires_at >= ? AND (expires_at > ? OR id > ?) AND expires_at <= ? "+
		"AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.link_id = links.id AND e.type = ?) "+
		"ORDER BY expires_at, id LIMIT ?", mark.at, mark.at, mark.id, now, EventLinkExpired, expiryBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var links []*Link
	for rows.Next() {
		l, err := scanEventLink(rows)
		if err != nil {
			return nil, err
		}
		if l.ExpiresAt != nil { // one that cannot be read is no expiry
			links = append(links, l)
		}
	}
	return links, rows.Err()
}

func readExpiryMark(tx *gorm.DB) (expiryMark, error) {
	var value string
	if err := tx.Raw("SELECT COALESCE(MAX(value), '') FROM settings WHERE key = ?", expiredUntilKey).Scan(&value).Error; err != nil {
		return expiryMark{}, err
	}
	at, id, ok := strings.Cut(value, " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	n, err2 := strconv.ParseUint(id, 10, 64)
	if !ok || err != nil || err2 != nil {
		return expiryMark{}, nil // never looked: from the start
	}
	return expiryMark{at: t.UTC(), id: uint(n)}, nil
}

func writeExpiryMark(tx *gorm.DB, m expiryMark) error {
	value := fmt.Sprintf("%s %d", m.at.UTC().Format(time.RFC3339Nano), m.id)
	return tx.Exec("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		expiredUntilKey, value).Error
}

// subscribedEndpoints are the enabled endpoints subscribed to typ.
func subscribedEndpoints(tx *gorm.DB, typ string) ([]WebhookEndpoint, error) {
	var all, out []WebhookEndpoint
	if err := tx.Select("id", "events", "created_at").Where("enabled").Order("id").Find(&all).Error; err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.Subscribes(typ) {
			out = append(out, e)
		}
	}
	return out, nil
}

// queueExpiredOnce queues link.expired for link id, expired now by staff,
// unless it has one already.
func (s *Store) queueExpiredOnce(tx *gorm.DB, id uint) error {
	if h, err := s.hooksIn(tx, EventLinkExpired); err != nil || !h.wants(EventLinkExpired) {
		return err
	}
	// After the expiry job of any instance (it may be queueing this link's
	// event now: its expiry passed before staff set another), so the look
	// below sees what it queued. The job then skips its look while this
	// transaction runs (tryJobLock).
	if err := advisoryXactLock(tx, expiryLockClass); err != nil {
		return err
	}
	var n int64
	if err := tx.Model(&WebhookEvent{}).Where("link_id = ? AND type = ?", id, EventLinkExpired).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	return s.queueLinkEvent(tx, EventLinkExpired, id)
}

// queueLinkEvent queues the event typ about link id as tx has left it.
func (s *Store) queueLinkEvent(tx *gorm.DB, typ string, id uint) error {
	if h, err := s.hooksIn(tx, typ); err != nil || !h.wants(typ) {
		return err
	}
	row := tx.Statement.ConnPool.QueryRowContext(tx.Statement.Context, "SELECT "+eventLinkColumns+" FROM links WHERE id = ?", id)
	l, err := scanEventLink(row)
	if err != nil {
		return fmt.Errorf("load link %d for its webhook event: %w", id, err)
	}
	return s.queueShopEvent(tx, typ, l, nil)
}
