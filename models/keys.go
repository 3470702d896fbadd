package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// A signing key's life (SigningKey.State):
//
//	next      published in /jwks, not signing yet (ActivatesAt in the future)
//	active    signing: the newest key of its algorithm whose activation has come
//	retiring  no longer signing (RetiredAt passed), still published until every
//	          token it signed has expired
//	retired   gone from /jwks
//
// Rotation (RotateSigningKeys) adds a next key and schedules the retirement
// of the key it replaces at the moment the next key activates, so the two
// never sign at once and an algorithm never lacks a signer.
const (
	KeyNext     = "next"
	KeyActive   = "active"
	KeyRetiring = "retiring"
	KeyRetired  = "retired"
)

// State is k's state at now; publishFor is how long a key stays published
// after it stops signing.
func (k *SigningKey) State(now time.Time, publishFor time.Duration) string {
	switch {
	case k.RetiredAt != nil && !now.Before(*k.RetiredAt):
		if now.Before(k.RetiredAt.Add(publishFor)) {
			return KeyRetiring
		}
		return KeyRetired
	case now.Before(k.ActivatesAt):
		return KeyNext
	}
	return KeyActive
}

// AddSigningKey stores a new signing key; the newest key of its algorithm
// whose ActivatesAt has come signs (a zero ActivatesAt is now: it signs at
// once). The private key is sealed at rest (secretBox), bound to its kid;
// every read here opens it again.
func (s *Store) AddSigningKey(ctx context.Context, k *SigningKey) error {
	if err := s.transaction(ctx, func(tx *gorm.DB) error { return s.insertKey(tx, k) }); err != nil {
		return notFound(err, "add signing key")
	}
	return nil
}

func (s *Store) insertKey(tx *gorm.DB, k *SigningKey) error {
	if k.ActivatesAt.IsZero() {
		k.ActivatesAt = time.Now()
	}
	k.ActivatesAt = dbTime(k.ActivatesAt)
	row := *k
	sealed, err := s.box.seal(signingKeyAD(k.KID), k.PrivateKeyPEM)
	if err != nil {
		return err
	}
	row.PrivateKeyPEM = sealed
	if err := tx.Create(&row).Error; err != nil {
		return err
	}
	k.ID, k.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// dbTime is t as both databases store it: UTC, to the microsecond, so a
// time written and read back compares equal.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// signsAt is the condition of the keys that may sign at now; the newest of
// them (signerOrder) signs.
const signsAt = "activates_at <= ? AND (retired_at IS NULL OR retired_at > ?)"

// signerOrder puts the key that signs first.
const signerOrder = "activates_at DESC, id DESC"

// ActiveSigningKey returns the key that signs for alg now.
func (s *Store) ActiveSigningKey(ctx context.Context, alg string) (*SigningKey, error) {
	return s.SigningKeyAt(ctx, alg, time.Now())
}

// SigningKeyAt returns the key that signs for alg at now: the newest whose
// activation has come and that is not retired.
func (s *Store) SigningKeyAt(ctx context.Context, alg string, now time.Time) (*SigningKey, error) {
	var k SigningKey
	now = dbTime(now)
	err := s.rd.WithContext(ctx).Where("alg = ? AND "+signsAt, alg, now, now).
		Order(signerOrder).Take(&k).Error
	if err != nil {
		return nil, notFound(err, "active signing key")
	}
	if err := s.openKey(&k); err != nil {
		return nil, err
	}
	return &k, nil
}

// PublishedSigningKeys returns the keys a verifier may still meet, newest
// activation first: every key not retired (next keys included, so they
// are published before they sign) and every key retired after
// retiredSince.
func (s *Store) PublishedSigningKeys(ctx context.Context, retiredSince time.Time) ([]SigningKey, error) {
	var keys []SigningKey
	err := s.rd.WithContext(ctx).Where("retired_at IS NULL OR retired_at > ?", dbTime(retiredSince)).
		Order(signerOrder).Find(&keys).Error
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

// Rotation asks RotateSigningKeys for a new key of Alg.
type Rotation struct {
	Alg string
	Now time.Time
	// Prepublish is how long the new key is published before it signs;
	// zero makes it sign at once (an emergency: verifiers holding a cached
	// JWK Set reject its tokens until they fetch /jwks again).
	Prepublish time.Duration
	// Every, when set, rotates only when the key signing now began
	// signing at least Every - Prepublish ago, so each key signs about
	// Every (the schedule); zero rotates now (on demand).
	Every time.Duration
	// NewKey makes the key; it is called outside the transaction, and its
	// key is dropped when another instance rotated first.
	NewKey func(alg string) (SigningKey, error)
	// Event, when set, is recorded in the rotation's transaction, Target
	// and After filled in: only the instance that rotates records it.
	Event *Event
}

// ErrKeyPending is returned by RotateSigningKeys when a next key of the
// algorithm already waits to sign: rotating again would replace it
// before it ever signed.
var ErrKeyPending = errors.New("models: a next signing key is already pending")

// ErrNotDue is returned by RotateSigningKeys on a schedule when the key
// signing now is not old enough.
var ErrNotDue = errors.New("models: signing key rotation not due")

// RotateSigningKeys adds a key of r.Alg that signs from r.Now +
// r.Prepublish and schedules the retirement, at that moment, of every key
// of r.Alg signing or able to sign before it. With Prepublish zero (an
// emergency) the new key signs at once and the keys that signed stay
// active, not signing, until retired (a leaked one by the admin, the
// others at the next rotation). An algorithm without any signing key gets
// a key that signs at once (no verifier can hold a cached key of it).
//
// Instances sharing the database rotate once: the check and the insert
// run in one transaction under the database's write lock (SQLite: the
// writer's BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory
// lock), and the check is made again there, so the second instance finds
// the first one's next key (ErrKeyPending) or a young signer (ErrNotDue).
// It returns the new key, the pending one with ErrKeyPending, or the
// signing one with ErrNotDue.
func (s *Store) RotateSigningKeys(ctx context.Context, r Rotation) (*SigningKey, error) {
	now := dbTime(r.Now)
	// A cheap look first: a schedule check that finds nothing to do
	// takes no lock and makes no key.
	if k, err := s.rotationBlocked(s.rd.WithContext(ctx), r, now); err != nil || k != nil {
		return s.opened(k, err)
	}
	k, err := r.NewKey(r.Alg)
	if err != nil {
		return nil, fmt.Errorf("models: rotate signing keys: new key: %w", err)
	}
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		if tx.Dialector.Name() == "postgres" {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", keyRotationLockKey).Error; err != nil {
				return err
			}
		}
		if blocking, err := s.rotationBlocked(tx, r, now); err != nil || blocking != nil {
			if blocking != nil {
				k = *blocking
			}
			return err
		}
		var signing int64
		if err := tx.Model(&SigningKey{}).Where("alg = ? AND "+signsAt, r.Alg, now, now).Count(&signing).Error; err != nil {
			return err
		}
		at := now.Add(r.Prepublish)
		if signing == 0 {
			at = now
		}
		k.Alg, k.ActivatesAt = r.Alg, at
		retire := tx.Model(&SigningKey{}).Where("alg = ? AND (retired_at IS NULL OR retired_at > ?)", r.Alg, at)
		if r.Prepublish == 0 {
			// An emergency: the new key signs now, beside the keys that
			// signed (the admin retires a leaked one; the next rotation
			// retires the others). A pending next key is dropped.
			retire = retire.Where("activates_at > ?", now)
		}
		// Otherwise every key that could sign before the new one stops
		// when it begins.
		if err := retire.Update("retired_at", at).Error; err != nil {
			return err
		}
		if err := s.insertKey(tx, &k); err != nil {
			return err
		}
		if r.Event != nil {
			e := *r.Event
			e.Target = "signing key " + k.KID
			after, err := json.Marshal(struct {
				KID, Alg    string
				ActivatesAt time.Time
			}{k.KID, k.Alg, k.ActivatesAt})
			if err != nil {
				return err
			}
			e.After = string(after)
			return recordEvent(tx, &e)
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrKeyPending), errors.Is(err, ErrNotDue), errors.Is(err, ErrNotFound):
		return s.opened(&k, err)
	case err != nil:
		return nil, fmt.Errorf("models: rotate signing keys: %w", err)
	}
	return &k, nil
}

// keyRotationLockKey is the PostgreSQL advisory lock rotations run under.
const keyRotationLockKey = 0x6f69646b6579 // "oidkey"

// rotationBlocked returns the key that keeps r from rotating now, with
// ErrKeyPending or ErrNotDue, or nil.
func (s *Store) rotationBlocked(db *gorm.DB, r Rotation, now time.Time) (*SigningKey, error) {
	var keys []SigningKey
	err := db.Where("alg = ? AND (retired_at IS NULL OR retired_at > ?)", r.Alg, now).
		Order(signerOrder).Find(&keys).Error
	if err != nil {
		return nil, err
	}
	for i := range keys {
		k := &keys[i]
		if now.Before(k.ActivatesAt) {
			if r.Prepublish == 0 {
				continue // an emergency replaces it
			}
			return k, ErrKeyPending
		}
		// The signer.
		if r.Every > 0 && now.Before(k.ActivatesAt.Add(r.Every-r.Prepublish)) {
			return k, ErrNotDue
		}
		return nil, nil
	}
	if r.Every > 0 {
		// Nothing to rotate on a schedule: serve's start makes the first
		// key of each algorithm.
		return nil, ErrNotFound
	}
	return nil, nil
}

// opened returns k, its private key opened, with err; or err alone.
func (s *Store) opened(k *SigningKey, err error) (*SigningKey, error) {
	if k == nil || k.ID == 0 {
		return nil, err
	}
	if oerr := s.openKey(k); oerr != nil {
		return nil, oerr
	}
	return k, err
}
