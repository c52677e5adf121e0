// Package shop is the shop as its customers see it: the name in its emails
// and on the payment pages, and the address their replies go to. An admin
// sets both on the shop's page; MERCHANT_NAME, when given, wins for the
// name. The settings are kept in memory and told of every change, so pages
// and emails need no query to read them.
package shop

import (
	"context"
	"sync"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
)

// Shop holds the shop's settings for one process. On SQLite only this
// process changes them (Save); others (the command line) read them once
// with Load. On PostgreSQL another instance may save them too: a copy older
// than sharedRefresh is read again when next asked for.
type Shop struct {
	store *models.Store
	// given is MERCHANT_NAME; fallback, BASE_URL's host, names the shop
	// until someone says its name.
	given, fallback string

	mu     sync.RWMutex
	saved  models.ShopSettings
	loaded time.Time // when saved was read or written

	// shared: instances share the database (PostgreSQL).
	shared    bool
	refreshMu sync.Mutex // one reload at a time; others use the copy meanwhile
	// now is the clock of the copy's age (tests move it).
	now func() time.Time
}

// sharedRefresh is how stale, at most, an instance's copy of settings saved
// on another instance sharing the database may be.
const sharedRefresh = 5 * time.Second

// New makes a Shop over store; Load reads what is saved.
func New(cfg *config.Config, store *models.Store) *Shop {
	s := &Shop{store: store, fallback: cfg.BaseURL.Hostname(), shared: store != nil && store.OnPostgres(), now: time.Now}
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
	s.saved, s.loaded = saved, s.now()
	s.mu.Unlock()
	return nil
}

// current is the saved settings, read again first when another instance may
// have changed them since (see sharedRefresh). A reload that fails keeps
// the copy, a name a few seconds old being better than a failed page, and
// is not tried again before sharedRefresh has passed: while the database is
// down, pages must not each wait for it here.
func (s *Shop) current() models.ShopSettings {
	s.mu.RLock()
	saved, stale := s.saved, s.shared && s.now().Sub(s.loaded) >= sharedRefresh
	s.mu.RUnlock()
	if !stale || !s.refreshMu.TryLock() {
		return saved
	}
	defer s.refreshMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.Load(ctx) != nil {
		s.mu.Lock()
		s.loaded = s.now()
		s.mu.Unlock()
		return saved
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.saved
}

// Name is the shop's name as customers see it: MERCHANT_NAME, else the
// saved name, else BASE_URL's host.
func (s *Shop) Name() string {
	if s.given != "" {
		return s.given
	}
	if saved := s.current(); saved.MerchantName != "" {
		return saved.MerchantName
	}
	return s.fallback
}

// ReplyTo is where customers' replies go, or "" for MAIL_FROM.
func (s *Shop) ReplyTo() string { return s.current().ReplyTo }

// NameFixed reports whether MERCHANT_NAME names the shop, so the saved name
// is not used.
func (s *Shop) NameFixed() bool { return s.given != "" }

// Named reports whether someone has said the shop's name (MERCHANT_NAME or
// the shop's page): until then admins are asked for it.
func (s *Shop) Named() bool {
	if s.given != "" {
		return true
	}
	return s.current().MerchantName != ""
}

// Saved is what the shop's page saved.
func (s *Shop) Saved() models.ShopSettings { return s.current() }

// Save stores new settings (already validated) and uses them from now on.
func (s *Shop) Save(ctx context.Context, in models.ShopSettings) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.SaveShopSettings(ctx, in); err != nil {
		return err
	}
	s.saved, s.loaded = in, s.now()
	return nil
}
