package models

import (
	"context"
	"maps"

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
