package models

import (
	"context"
	"time"
)

// AddSigningKey stores a new signing key; the newest active key of its
// algorithm signs from now on. The private key is sealed at rest
// (secretBox), bound to its kid; every read here opens it again.
func (s *Store) AddSigningKey(ctx context.Context, k *SigningKey) error {
	row := *k
	sealed, err := s.box.seal(signingKeyAD(k.KID), k.PrivateKeyPEM)
	if err != nil {
		return err
	}
	row.PrivateKeyPEM = sealed
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return notFound(err, "add signing key")
	}
	k.ID, k.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// ActiveSigningKey returns the newest unretired key for alg.
func (s *Store) ActiveSigningKey(ctx context.Context, alg string) (*SigningKey, error) {
	var k SigningKey
	err := s.rd.WithContext(ctx).Where("alg = ? AND retired_at IS NULL", alg).
		Order("created_at DESC, id DESC").Take(&k).Error
	if err != nil {
		return nil, notFound(err, "active signing key")
	}
	if err := s.openKey(&k); err != nil {
		return nil, err
	}
	return &k, nil
}

// PublishedSigningKeys returns the keys a verifier may still meet: every
// active key and every key retired after retiredSince.
func (s *Store) PublishedSigningKeys(ctx context.Context, retiredSince time.Time) ([]SigningKey, error) {
	var keys []SigningKey
	err := s.rd.WithContext(ctx).Where("retired_at IS NULL OR retired_at > ?", retiredSince).
		Order("created_at DESC, id DESC").Find(&keys).Error
	if err != nil {
		return nil, notFound(err, "published signing keys")
	}
	for i := range keys {
		if err := s.openKey(&keys[i]); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
