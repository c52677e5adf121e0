package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// IdempotencyKey is an API request answered under an Idempotency-Key: a
// retry with the same key (per API key) and the same request gets the
// stored answer instead of doing the work again, for IdempotencyKeep.
type IdempotencyKey struct {
	ID       uint   `gorm:"primaryKey"`
	APIKeyID uint   `gorm:"uniqueIndex:idx_idempotency_keys_key,priority:1;not null"`
	Key      string `gorm:"uniqueIndex:idx_idempotency_keys_key,priority:2;not null"`
	// RequestHash is the SHA-256 of the request as the caller read it, so
	// that the same key sent with another request is refused.
	RequestHash string `gorm:"not null"`
	LinkID      *uint
	// Status and Body are the answer, given again to every retry.
	Status    int       `gorm:"not null"`
	Body      string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"index;not null"`
}

// IdempotencyKeep is how long an idempotency key is remembered.
const IdempotencyKeep = 24 * time.Hour

// ErrIdempotencyMismatch says an idempotency key already answered another request.
var ErrIdempotencyMismatch = errors.New("idempotency key already used with another request")

// IdempotentRequest names one request sent with an Idempotency-Key.
type IdempotentRequest struct {
	APIKeyID    uint
	Key         string
	RequestHash string
	// At is when it arrived: keys older than IdempotencyKeep are forgotten.
	At time.Time
}

// IdempotentAnswer is the stored answer to a request.
type IdempotentAnswer struct {
	Status int
	Body   []byte
	LinkID uint
}

// answerFor is the stored answer to req: nil when none is kept, and
// ErrIdempotencyMismatch when its key answered a different request.
func answerFor(db *gorm.DB, req IdempotentRequest) (*IdempotentAnswer, error) {
	var row IdempotencyKey
	err := db.Where("api_key_id = ? AND key = ? AND created_at >= ?", req.APIKeyID, req.Key, req.At.Add(-IdempotencyKeep).UTC()).
		Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case row.RequestHash != req.RequestHash:
		return nil, ErrIdempotencyMismatch
	}
	a := &IdempotentAnswer{Status: row.Status, Body: []byte(row.Body)}
	if row.LinkID != nil {
		a.LinkID = *row.LinkID
	}
	return a, nil
}

// IdempotentAnswerFor is the answer already given to req, if any (see
// answerFor). It is a quick look before the work; CreateLinkOnce decides
// again inside its transaction.
func (s *Store) IdempotentAnswerFor(ctx context.Context, req IdempotentRequest) (*IdempotentAnswer, error) {
	return answerFor(s.read.WithContext(ctx), req)
}

// CreateLinkOnce makes a link like CreateLink (with its email when email is
// not nil, like CreateLinkWithEmail) unless req's key already answered: it
// then returns that answer, replayed, or ErrIdempotencyMismatch. The key's
// answer (answer of the new link) is stored in the same transaction as the
// link, and transactions take the write lock first (on PostgreSQL, where
// two instances write at once, the key's own lock: lockNames), so however
// many copies of a request arrive at once, one link is made and every copy
// gets its answer.
func (s *Store) CreateLinkOnce(ctx context.Context, in LinkInput, email func(*Link) (*OutboxMessage, error), req IdempotentRequest,
	answer func(*Link) (int, []byte, error)) (a *IdempotentAnswer, replayed bool, err error) {
	link, err := newLink(in)
	if err != nil {
		return nil, false, err
	}
	err = s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Forget what is past keeping, so the table stays small.
		if err := tx.Where("created_at < ?", req.At.Add(-IdempotencyKeep).UTC()).Delete(&IdempotencyKey{}).Error; err != nil {
			return err
		}
		// Across instances too, one copy at a time looks for the answer.
		if err := lockNames(tx, "idempotency key", fmt.Sprintf("%d\x00%s", req.APIKeyID, req.Key)); err != nil {
			return err
		}
		if a, err = answerFor(tx, req); err != nil || a != nil {
			replayed = a != nil
			return err
		}
		if _, err := s.createLinkTx(tx, link, email); err != nil {
			return err
		}
		status, body, err := answer(link)
		if err != nil {
			return err
		}
		a = &IdempotentAnswer{Status: status, Body: body, LinkID: link.ID}
		return tx.Create(&IdempotencyKey{APIKeyID: req.APIKeyID, Key: req.Key, RequestHash: req.RequestHash,
			LinkID: &link.ID, Status: status, Body: string(body), CreatedAt: req.At.UTC()}).Error
	})
	if err != nil {
		return nil, false, err
	}
	return a, replayed, nil
}

// createLinkTx stores link, queues its link.created shop event and, when
// email is set, the email carrying it, all in tx: the one way every path
// (panel, API, command line) makes a link. It returns the email queued.
func (s *Store) createLinkTx(tx *gorm.DB, link *Link, email func(*Link) (*OutboxMessage, error)) (*OutboxMessage, error) {
	t := txStore{tx: tx}
	if err := t.createLink(link); err != nil {
		return nil, err
	}
	if err := s.queueLinksCreated(tx, link); err != nil {
		return nil, err
	}
	if email == nil {
		return nil, nil
	}
	msg, err := email(link)
	if err != nil {
		return nil, err
	}
	msg.LinkID = &link.ID
	return msg, t.createQueued(msg)
}
