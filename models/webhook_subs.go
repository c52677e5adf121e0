package models

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"gorm.io/gorm"
)

// hookSubs is the Store's snapshot of which event types some enabled
// endpoint subscribes to. Every write that may cause an event looks here
// first: without endpoints (most shops), recording a payment costs one map
// lookup and no query. It may say yes when no endpoint wants the type any
// more (the queueing query then finds none), never no when one does: a
// change that adds a subscription widens it before its transaction commits,
// and every change reloads it from the table after.
type hookSubs struct {
	types map[string]bool
}

// wants reports whether some enabled endpoint may subscribe to typ.
func (h *hookSubs) wants(typ string) bool { return h != nil && h.types[typ] }

// hooks is the current snapshot (never nil after Open).
func (s *Store) hooks() *hookSubs { return s.hookSnapshot.Load() }

// changeHooks runs change in a transaction on the writer, widening the
// snapshot with types first and reloading it after, so that no event of a
// subscribed type is ever missed while an endpoint comes or goes.
func (s *Store) changeHooks(ctx context.Context, types []string, change func(tx *gorm.DB) error) error {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	if len(types) > 0 {
		wider := maps.Clone(s.hooks().types)
		for _, t := range types {
			wider[t] = true
		}
		s.hookSnapshot.Store(&hookSubs{types: wider})
	}
	err := s.write.WithContext(ctx).Transaction(change)
	// Reloaded whatever happened. Should the reload fail, the snapshot
	// stays as wide as before, which costs queries but misses no event:
	// the change itself stands.
	_ = s.loadHookSubs(ctx)
	return err
}

// loadHookSubs reads the subscriptions of enabled endpoints into the snapshot.
func (s *Store) loadHookSubs(ctx context.Context) error {
	var rows []WebhookEndpoint
	if err := s.write.WithContext(ctx).Select("events").Where("enabled").Find(&rows).Error; err != nil {
		return err
	}
	types := map[string]bool{}
	for _, e := range rows {
		for _, t := range e.EventList() {
			types[t] = true
		}
	}
	s.hookSnapshot.Store(&hookSubs{types: types})
	return nil
}

// hooksIn is the snapshot a write about to queue events of types reads in
// tx. The snapshot is this process's: on PostgreSQL, where another instance
// may have added an endpoint since, a snapshot that does not want all of
// types is checked in tx against the table (a small one, one query), and
// widened with what it finds. On SQLite, one instance, it is the snapshot.
func (s *Store) hooksIn(tx *gorm.DB, types ...string) (*hookSubs, error) {
	h := s.hooks()
	if !s.d.postgres || !slices.ContainsFunc(types, func(t string) bool { return !h.wants(t) }) {
		return h, nil
	}
	var rows []WebhookEndpoint
	if err := tx.Select("events").Where("enabled").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read webhook subscriptions: %w", err)
	}
	var found []string
	for _, e := range rows {
		for _, t := range e.EventList() {
			if !h.wants(t) {
				found = append(found, t)
			}
		}
	}
	if len(found) == 0 {
		return h, nil
	}
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	wider := maps.Clone(s.hooks().types)
	for _, t := range found {
		wider[t] = true
	}
	h = &hookSubs{types: wider}
	s.hookSnapshot.Store(h)
	return h, nil
}
