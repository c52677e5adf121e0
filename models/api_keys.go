package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// APIKey is a key the shop's systems call the API with. Only its SHA-256
// is kept: the key itself is shown once, when it is made.
type APIKey struct {
	ID   uint   `gorm:"primaryKey"`
	Name string `gorm:"not null"`
	// Scope is APIScopeRead or APIScopeWrite.
	Scope string `gorm:"not null"`
	// Prefix is the key's visible start ("etp_live_" and a few characters),
	// for people to tell keys apart; it is no secret.
	Prefix string `gorm:"not null"`
	// Hash is the hex SHA-256 of the whole key, how a request finds it.
	Hash string `gorm:"uniqueIndex;not null"`
	// Mode is the app's mode when the key was made; the key works in that
	// mode only, so a sandbox key never touches live payments.
	Mode        string `gorm:"not null"`
	CreatedByID *uint
	CreatedBy   *User
	CreatedAt   time.Time
	// LastUsedAt is written at most once every APIKeyTouchEvery.
	LastUsedAt  *time.Time
	RevokedAt   *time.Time
	RevokedByID *uint
}

// API key scopes: read keys only look; write keys also make and cancel links.
const (
	APIScopeRead  = "read"
	APIScopeWrite = "write"
)

// APIScopes lists the scopes a key may have, the safer first.
var APIScopes = []string{APIScopeRead, APIScopeWrite}

// Audit actions of API keys (made and revoked by admins).
const (
	AuditAPIKeyCreated = "api_key_created"
	AuditAPIKeyRevoked = "api_key_revoked"
)

// APIKeyTouchEvery is how stale last_used_at may get: a busy key costs one
// write a minute, not one per request.
const APIKeyTouchEvery = time.Minute

// MaxAPIKeyName is the longest name a key may have, in characters.
const MaxAPIKeyName = 100

// apiKeyPrefixChars is how many characters of the secret part the visible
// prefix shows.
const apiKeyPrefixChars = 6

// ErrAlreadyRevoked says the key was revoked before.
var ErrAlreadyRevoked = errors.New("api key already revoked")

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// AuditName is how the audit log names the key as the author of a change:
// "API: <name> (<prefix>)".
func (k *APIKey) AuditName() string {
	return "API: " + k.Name + " (" + k.Prefix + ")"
}

// ValidateAPIKey checks a new key's name and scope.
func ValidateAPIKey(name, scope string) FieldErrors {
	errs := FieldErrors{}
	switch {
	case name == "":
		errs["name"] = FieldError{Key: "api_keys.invalid.name_required"}
	case utf8.RuneCountInString(name) > MaxAPIKeyName || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, unicode.IsControl):
		errs["name"] = FieldError{Key: "api_keys.invalid.name", Args: []any{MaxAPIKeyName}}
	}
	if !slices.Contains(APIScopes, scope) {
		errs["scope"] = FieldError{Key: "api_keys.invalid.scope"}
	}
	return errs
}

// APIKeyHash is the stored form of a key.
func APIKeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// newAPIKey makes a key for mode: "etp_live_" (or "etp_test_" in sandbox
// mode) and 26 random base32 characters, 130 bits.
func newAPIKey(mode string) (key, prefix string) {
	kind := "live"
	if mode != "live" {
		kind = "test"
	}
	secret := rand.Text()
	key = "etp_" + kind + "_" + secret
	return key, "etp_" + kind + "_" + secret[:apiKeyPrefixChars]
}

// CreateAPIKey makes a key and returns it with the key itself, which is
// not stored and cannot be read again. name and scope must pass
// ValidateAPIKey.
func (s *Store) CreateAPIKey(ctx context.Context, name, scope, mode string, by *uint) (*APIKey, string, error) {
	if len(ValidateAPIKey(name, scope)) > 0 {
		return nil, "", errors.New("create api key: invalid name or scope")
	}
	key, prefix := newAPIKey(mode)
	k := &APIKey{Name: name, Scope: scope, Prefix: prefix, Hash: APIKeyHash(key), Mode: mode, CreatedByID: by}
	if err := s.write.WithContext(ctx).Create(k).Error; err != nil {
		return nil, "", err
	}
	return k, key, nil
}

// APIKeyByKey finds the key a request presents, revoked or not (the caller
// decides what each state means). No cache stands between a revocation and
// the next request.
func (s *Store) APIKeyByKey(ctx context.Context, key string) (*APIKey, error) {
	var k APIKey
	if err := s.read.WithContext(ctx).Where("hash = ?", APIKeyHash(key)).Take(&k).Error; err != nil {
		return nil, notFound(err)
	}
	return &k, nil
}

// APIKeyByID returns one key.
func (s *Store) APIKeyByID(ctx context.Context, id uint) (*APIKey, error) {
	var k APIKey
	if err := s.read.WithContext(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
		return nil, notFound(err)
	}
	return &k, nil
}

// ListAPIKeys returns every key with its creator, newest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var rows []APIKey
	return rows, s.read.WithContext(ctx).Preload("CreatedBy").Order("id DESC").Find(&rows).Error
}

// TouchAPIKey records that the key was used at now, unless it was already
// recorded less than APIKeyTouchEvery before.
func (s *Store) TouchAPIKey(ctx context.Context, id uint, now time.Time) error {
	now = now.UTC()
	return s.write.WithContext(ctx).Exec("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
		now, id, now.Add(-APIKeyTouchEvery)).Error
}

// RevokeAPIKey revokes a key, for good: ErrNotFound for an unknown one,
// ErrAlreadyRevoked when it was revoked before (compare-and-set, so two
// admins revoking at once record one revocation).
func (s *Store) RevokeAPIKey(ctx context.Context, id, by uint) error {
	res := s.write.WithContext(ctx).Model(&APIKey{}).Where("id = ? AND revoked_at IS NULL", id).
		Updates(map[string]any{"revoked_at": time.Now().UTC(), "revoked_by_id": by})
	if res.Error != nil || res.RowsAffected == 1 {
		return res.Error
	}
	if _, err := s.APIKeyByID(ctx, id); err != nil {
		return err
	}
	return ErrAlreadyRevoked
}

// migrateAPI creates the API's tables.
func migrateAPI(db *gorm.DB) error {
	return db.AutoMigrate(&APIKey{}, &IdempotencyKey{})
}
