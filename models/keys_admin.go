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

// ListSigningKeys returns every signing key, newest first: the order in
// which ActiveSigningKey picks the one that signs.
func (s *Store) ListSigningKeys(ctx context.Context) ([]SigningKey, error) {
	var keys []SigningKey
	if err := s.rd.WithContext(ctx).Order("created_at DESC, id DESC").Find(&keys).Error; err != nil {
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

// RetireSigningKey marks an active key retired at now. It refuses with
// ErrLastSigningKey when no other key of the same algorithm would stay
// active, and returns ErrNotFound for an unknown or already retired key.
// The active keys of the algorithm are read and written in one
// transaction; SQLite's transactions take the write lock when they begin,
// and on PostgreSQL the rows are locked (FOR UPDATE), so two concurrent
// retirements cannot both see the other key still active.
func (s *Store) RetireSigningKey(ctx context.Context, id uint, now time.Time) (*SigningKey, error) {
	var retired *SigningKey
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var k SigningKey
		if err := tx.Where("id = ? AND retired_at IS NULL", id).Take(&k).Error; err != nil {
			return err
		}
		q := tx.Model(&SigningKey{}).Where("alg = ? AND retired_at IS NULL", k.Alg)
		if tx.Dialector.Name() == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var active []uint
		if err := q.Pluck("id", &active).Error; err != nil {
			return err
		}
		others := 0
		found := false
		for _, a := range active {
			if a == id {
				found = true
			} else {
				others++
			}
		}
		if !found {
			return gorm.ErrRecordNotFound
		}
		if others == 0 {
			return ErrLastSigningKey
		}
		res := tx.Model(&SigningKey{}).Where("id = ? AND retired_at IS NULL", id).Update("retired_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return gorm.ErrRecordNotFound
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
