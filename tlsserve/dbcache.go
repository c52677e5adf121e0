package tlsserve

import (
	"context"
	"errors"

	"golang.org/x/crypto/acme/autocert"

	"etpay-dashboard/models"
)

// DBCache is an autocert.Cache kept in the database (models.ACMECert): on
// PostgreSQL, instances sharing the database serve one certificate, and the
// first to get or renew it saves every other the trip to the CA. (Two asking
// at the same moment may each get one; both are valid, and the last stored
// is the one every instance serves from then on.)
type DBCache struct {
	Store *models.Store
}

// Get implements autocert.Cache.
func (c DBCache) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := c.Store.ACMECertData(ctx, key)
	if errors.Is(err, models.ErrNotFound) {
		return nil, autocert.ErrCacheMiss
	}
	return data, err
}

// Put implements autocert.Cache.
func (c DBCache) Put(ctx context.Context, key string, data []byte) error {
	return c.Store.PutACMECert(ctx, key, data)
}

// Delete implements autocert.Cache.
func (c DBCache) Delete(ctx context.Context, key string) error {
	return c.Store.DeleteACMECert(ctx, key)
}
