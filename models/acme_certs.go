package models

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// ACMECert is one entry of the ACME certificate cache (an account key, a
// certificate with its key, a challenge's token) kept in the database, so
// that every instance sharing one PostgreSQL serves the same certificate and
// asks Let's Encrypt once (tlsserve's autocert.Cache over the Store). On
// SQLite the cache is the acme-certs folder beside the database file.
type ACMECert struct {
	Key       string `gorm:"primaryKey"`
	Data      []byte `gorm:"not null"`
	UpdatedAt time.Time
}

// TableName names ACMECert's table.
func (ACMECert) TableName() string { return "acme_certs" }

// ACMECertData returns the cached entry key, or ErrNotFound.
func (s *Store) ACMECertData(ctx context.Context, key string) ([]byte, error) {
	var c ACMECert
	if err := s.write.WithContext(ctx).Where("key = ?", key).Take(&c).Error; err != nil {
		return nil, notFound(err)
	}
	return c.Data, nil
}

// PutACMECert stores the entry key, replacing what was there.
func (s *Store) PutACMECert(ctx context.Context, key string, data []byte) error {
	return s.write.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"data", "updated_at"})}).
		Create(&ACMECert{Key: key, Data: data, UpdatedAt: time.Now().UTC()}).Error
}

// DeleteACMECert removes the entry key; a missing one is no error.
func (s *Store) DeleteACMECert(ctx context.Context, key string) error {
	return s.write.WithContext(ctx).Where("key = ?", key).Delete(&ACMECert{}).Error
}
