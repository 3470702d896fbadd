package jose

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNoKey is returned when no active key of an algorithm exists.
var ErrNoKey = errors.New("jose: no active signing key")

// Loader reads the keys a verifier may still meet: every key not retired
// (next keys too) and every key retired after retiredSince, newest
// activation first.
type Loader func(ctx context.Context, retiredSince time.Time) ([]KeyMaterial, error)

// Cache holds the signing keys parsed, and the JWK Set rendered, for at most
// TTL: a key created or retired through another instance sharing the
// database is honoured here within TTL. Changes made through this instance
// call Invalidate and are honoured at once.
type Cache struct {
	load       Loader
	ttl        time.Duration
	publishFor time.Duration
	now        func() time.Time

	reload sync.Mutex // one reload at a time
	snap   atomic.Pointer[snapshot]
	gen    atomic.Uint64 // bumped by Invalidate
	parsed sync.Map      // kid -> *Key; a kid's key material never changes
}

type snapshot struct {
	at time.Time
	// signers are, by alg, the keys that may sign at some time, newest
	// activation first: Signer picks the first that signs at its now, so
	// a key scheduled to activate (or retire) does so on time, within the
	// snapshot's life, on every instance.
	signers map[string][]signer
	jwks    []byte
}

type signer struct {
	m   KeyMaterial
	key *Key
}

// NewCache builds a key cache. Retired keys stay in the JWK Set for
// publishFor (the ID token lifetime and the cache's own bound: another
// instance may sign with a key up to ttl after it retired), so tokens they
// signed still verify.
func NewCache(load Loader, ttl, publishFor time.Duration, now func() time.Time) *Cache {
	return &Cache{load: load, ttl: ttl, publishFor: publishFor, now: now}
}

// Invalidate makes the next use reload from the database.
func (c *Cache) Invalidate() {
	c.gen.Add(1)
	c.snap.Store(nil)
}

// Signer returns the key of alg that signs now: the newest whose
// activation has come and that is not retired.
func (c *Cache) Signer(ctx context.Context, alg string) (*Key, error) {
	s, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	for _, k := range s.signers[alg] {
		if k.m.SignsAt(now) {
			return k.key, nil
		}
	}
	return nil, fmt.Errorf("%w for %s", ErrNoKey, alg)
}

// Algorithms lists the ID token signing algorithms usable now, in
// Algorithms' order: each server-key algorithm with an active key, and
// HS256, which signs with the client's own secret.
func (c *Cache) Algorithms(ctx context.Context) ([]string, error) {
	s, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	out := make([]string, 0, len(Algorithms))
	for _, alg := range Algorithms {
		signs := alg == HS256
		for _, k := range s.signers[alg] {
			signs = signs || k.m.SignsAt(now)
		}
		if signs {
			out = append(out, alg)
		}
	}
	return out, nil
}

// JWKS returns the public JWK Set as JSON.
func (c *Cache) JWKS(ctx context.Context) ([]byte, error) {
	s, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	return s.jwks, nil
}

// Parsed returns m parsed, from the cache when its kid was parsed before.
func (c *Cache) Parsed(m KeyMaterial) (*Key, error) {
	if k, ok := c.parsed.Load(m.KID); ok {
		return k.(*Key), nil
	}
	k, err := Parse(m)
	if err != nil {
		return nil, err
	}
	c.parsed.Store(m.KID, k)
	return k, nil
}

func (c *Cache) fresh(s *snapshot, now time.Time) bool {
	return s != nil && !now.Before(s.at) && now.Sub(s.at) < c.ttl
}

func (c *Cache) current(ctx context.Context) (*snapshot, error) {
	if s := c.snap.Load(); c.fresh(s, c.now()) {
		return s, nil
	}
	c.reload.Lock()
	defer c.reload.Unlock()
	now := c.now()
	if s := c.snap.Load(); c.fresh(s, now) {
		return s, nil
	}
	gen := c.gen.Load()
	stored, err := c.load(ctx, now.Add(-c.publishFor))
	if err != nil {
		return nil, err
	}
	s := &snapshot{at: now, signers: map[string][]signer{}}
	keys := make([]*Key, 0, len(stored))
	for _, m := range stored {
		k, err := c.Parsed(m)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		if m.RetiredAt.IsZero() || now.Before(m.RetiredAt) {
			s.signers[m.Alg] = append(s.signers[m.Alg], signer{m: m, key: k})
		}
	}
	if s.jwks, err = publicJWKS(keys); err != nil {
		return nil, err
	}
	// A change made through this instance during the load may be missing
	// from it: answer with it this once, but do not keep it.
	if c.gen.Load() == gen {
		c.snap.Store(s)
	}
	return s, nil
}

// Known returns the key with kid among those this cache has parsed (every
// key a load returned, retired ones included), loading first if nothing
// was loaded yet; false when it has not met kid.
func (c *Cache) Known(ctx context.Context, kid string) (*Key, bool, error) {
	if _, err := c.current(ctx); err != nil {
		return nil, false, err
	}
	k, ok := c.parsed.Load(kid)
	if !ok {
		return nil, false, nil
	}
	return k.(*Key), true, nil
}
