package models

import (
	"context"
	"time"
)

// AddSigningKey stores a new signing key; the newest active key of its
// algorithm signs from now on.
func (s *Store) AddSigningKey(ctx context.Context, k *SigningKey) error {
	if err := s.db.WithContext(ctx).Create(k).Error; err != nil {
		return notFound(err, "add signing key")
	}
	return nil
}

// ActiveSigningKey returns the newest unretired key for alg.
func (s *Store) ActiveSigningKey(ctx context.Context, alg string) (*SigningKey, error) {
	var k SigningKey
	err := s.db.WithContext(ctx).Where("alg = ? AND retired_at IS NULL", alg).
		Order("created_at DESC, id DESC").Take(&k).Error
	if err != nil {
		return nil, notFound(err, "active signing key")
	}
	return &k, nil
}

// PublishedSigningKeys returns the keys a verifier may still meet: every
// active key and every key retired after retiredSince.
func (s *Store) PublishedSigningKeys(ctx context.Context, retiredSince time.Time) ([]SigningKey, error) {
	var keys []SigningKey
	err := s.db.WithContext(ctx).Where("retired_at IS NULL OR retired_at > ?", retiredSince).
		Order("created_at DESC, id DESC").Find(&keys).Error
	if err != nil {
		return nil, notFound(err, "published signing keys")
	}
	return keys, nil
}
