package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrLastSigningKey is returned when retiring a key would leave its
// algorithm without an active key, so the server could no longer sign.
var ErrLastSigningKey = errors.New("models: last active signing key")

// ListSigningKeys returns every signing key, newest activation first: the
// order in which SigningKeyAt picks the one that signs.
func (s *Store) ListSigningKeys(ctx context.Context) ([]SigningKey, error) {
	var keys []SigningKey
	if err := s.rd.WithContext(ctx).Order(signerOrder).Find(&keys).Error; err != nil {
		return nil, notFound(err, "list signing keys")
	}
	for i := range keys {
		if err := s.openKey(&keys[i]); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// SigningKeyByID returns one signing key.
func (s *Store) SigningKeyByID(ctx context.Context, id uint) (*SigningKey, error) {
	var k SigningKey
	if err := s.rd.WithContext(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
		return nil, notFound(err, "signing key by id")
	}
	if err := s.openKey(&k); err != nil {
		return nil, err
	}
	return &k, nil
}

// RetireSigningKey retires a key at now: a key that signs stops, a next
// key is dropped before it ever signs. It refuses with ErrLastSigningKey
// when no other key of the same algorithm could sign now and go on
// signing (one whose retirement a rotation has set does not count), and returns
// ErrNotFound for an unknown or already retired key. Dropping a next key
// cancels the retirement its rotation scheduled for the key it was to
// replace, so the algorithm keeps a signer. The keys of the algorithm are
// read and written in one transaction; SQLite's transactions take the
// write lock when they begin, and on PostgreSQL the rows are locked (FOR
// UPDATE), so two concurrent retirements cannot both see the other key
// still active.
func (s *Store) RetireSigningKey(ctx context.Context, id uint, now time.Time) (*SigningKey, error) {
	now = dbTime(now)
	var retired *SigningKey
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var k SigningKey
		if err := tx.Where("id = ? AND (retired_at IS NULL OR retired_at > ?)", id, now).Take(&k).Error; err != nil {
			return err
		}
		q := tx.Model(&SigningKey{}).Where("alg = ? AND (retired_at IS NULL OR retired_at > ?)", k.Alg, now)
		if tx.Dialector.Name() == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var live []SigningKey
		if err := q.Select("id", "activates_at", "retired_at").Find(&live).Error; err != nil {
			return err
		}
		next, pending, last := retirement(&k, live, now)
		if last {
			return ErrLastSigningKey
		}
		res := tx.Model(&SigningKey{}).Where("id = ? AND (retired_at IS NULL OR retired_at > ?)", id, now).Update("retired_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return gorm.ErrRecordNotFound
		}
		if next && pending == 0 {
			// The keys this one was to replace sign on.
			if err := tx.Model(&SigningKey{}).Where("alg = ? AND id <> ? AND activates_at <= ? AND retired_at > ?", k.Alg, id, now, now).
				Update("retired_at", nil).Error; err != nil {
				return err
			}
		}
		k.RetiredAt = &now
		retired = &k
		return nil
	})
	switch {
	case err == nil:
		if err := s.openKey(retired); err != nil {
			return nil, err
		}
		return retired, nil
	case errors.Is(err, ErrLastSigningKey):
		return nil, ErrLastSigningKey
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, ErrNotFound
	}
	return nil, fmt.Errorf("models: retire signing key: %w", err)
}

// retirement tells what retiring k at now would do, given the live keys
// of its algorithm: whether k is a next key (dropped before it signs),
// how many other next keys are pending, and whether k is the last key
// that could sign (the retirement is refused). Another key signs on
// after k only if it may sign now and no retirement is set for it: one
// set in the future is a rotation's (its successor is pending), or a
// concurrent caller's whose clock ran a little ahead.
func retirement(k *SigningKey, live []SigningKey, now time.Time) (next bool, pending int, last bool) {
	signers := 0
	for _, o := range live {
		switch {
		case o.ID == k.ID || o.RetiredAt != nil:
		case now.Before(o.ActivatesAt):
			pending++
		default:
			signers++
		}
	}
	next = now.Before(k.ActivatesAt)
	return next, pending, !next && signers == 0
}

// CheckRetireSigningKey tells, without changing anything, what
// RetireSigningKey would do to key id at now: the key, and
// ErrLastSigningKey when it would refuse, ErrNotFound for an unknown or
// already retired key. The admin's confirmation page asks it.
func (s *Store) CheckRetireSigningKey(ctx context.Context, id uint, now time.Time) (*SigningKey, error) {
	now = dbTime(now)
	db := s.rd.WithContext(ctx)
	var k SigningKey
	// The sealed private key is not read: a retirement's page needs none.
	if err := db.Select("id", "kid", "alg", "created_at", "activates_at", "retired_at").
		Where("id = ? AND (retired_at IS NULL OR retired_at > ?)", id, now).Take(&k).Error; err != nil {
		return nil, notFound(err, "check retire signing key")
	}
	var live []SigningKey
	if err := db.Model(&SigningKey{}).Where("alg = ? AND (retired_at IS NULL OR retired_at > ?)", k.Alg, now).
		Select("id", "activates_at", "retired_at").Find(&live).Error; err != nil {
		return nil, notFound(err, "check retire signing key")
	}
	if _, _, last := retirement(&k, live, now); last {
		return &k, ErrLastSigningKey
	}
	return &k, nil
}
