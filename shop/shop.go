// Package shop is the shop as its customers see it: the name in its emails
// and on the payment pages, and the address their replies go to. An admin
// sets both on the shop's page; MERCHANT_NAME, when given, wins for the
// name. The settings are kept in memory and told of every change, so pages
// and emails need no query to read them.
package shop

import (
	"context"
	"sync"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
)

// Shop holds the shop's settings for one process. Only this process changes
// them (Save); others (the command line) read them once with Load.
type Shop struct {
	store *models.Store
	// given is MERCHANT_NAME; fallback, BASE_URL's host, names the shop
	// until someone says its name.
	given, fallback string

	mu    sync.RWMutex
	saved models.ShopSettings
}

// New makes a Shop over store; Load reads what is saved.
func New(cfg *config.Config, store *models.Store) *Shop {
	s := &Shop{store: store, fallback: cfg.BaseURL.Hostname()}
	if cfg.MerchantNameGiven {
		s.given = cfg.MerchantName
	}
	return s
}

// Open makes a Shop over store with its saved settings.
func Open(ctx context.Context, cfg *config.Config, store *models.Store) (*Shop, error) {
	s := New(cfg, store)
	return s, s.Load(ctx)
}

// Load reads the saved settings.
func (s *Shop) Load(ctx context.Context) error {
	saved, err := s.store.ShopSettings(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.saved = saved
	s.mu.Unlock()
	return nil
}

// Name is the shop's name as customers see it: MERCHANT_NAME, else the
// saved name, else BASE_URL's host.
func (s *Shop) Name() string {
	if s.given != "" {
		return s.given
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.saved.MerchantName != "" {
		return s.saved.MerchantName
	}
	return s.fallback
}

// ReplyTo is where customers' replies go, or "" for MAIL_FROM.
func (s *Shop) ReplyTo() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.saved.ReplyTo
}

// NameFixed reports whether MERCHANT_NAME names the shop, so the saved name
// is not used.
func (s *Shop) NameFixed() bool { return s.given != "" }

// Named reports whether someone has said the shop's name (MERCHANT_NAME or
// the shop's page): until then admins are asked for it.
func (s *Shop) Named() bool {
	if s.given != "" {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.saved.MerchantName != ""
}

// Saved is what the shop's page saved.
func (s *Shop) Saved() models.ShopSettings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.saved
}

// Save stores new settings (already validated) and uses them from now on.
func (s *Shop) Save(ctx context.Context, in models.ShopSettings) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.SaveShopSettings(ctx, in); err != nil {
		return err
	}
	s.saved = in
	return nil
}
