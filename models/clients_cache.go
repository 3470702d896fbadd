package models

import (
	"context"
	"sync"
	"time"
)

// ClientCache holds clients in memory, by client_id and by primary key,
// for the endpoints that read one on every request (/authorize, /token,
// /userinfo). Its staleness is bounded: an entry is used for at most ttl
// after it was read, so a change made through another instance (or
// another process on the same database) is honoured within ttl. A change
// made through this process's Store (the admin site, the CLI) is honoured
// at once: every client write bumps the Store's client generation, and
// entries read before it are dropped. Unknown client_ids are not cached,
// so the map holds at most the registered clients.
type ClientCache struct {
	s   *Store
	ttl time.Duration
	now func() time.Time

	mu         sync.RWMutex
	byClientID map[string]cachedClient
	byID       map[uint]cachedClient
	public     *publicRedirects
}

type cachedClient struct {
	c   Client
	at  time.Time // when it was read
	gen uint64    // the Store's client generation then
}

// NewClientCache returns a cache over s whose entries last at most ttl by
// the clock now; a ttl of zero or less reads the database every time.
func (s *Store) NewClientCache(ttl time.Duration, now func() time.Time) *ClientCache {
	return &ClientCache{s: s, ttl: ttl, now: now,
		byClientID: map[string]cachedClient{}, byID: map[uint]cachedClient{}}
}

// clientsChanged marks every cached client of this Store stale; the
// methods that write clients call it after their write.
func (s *Store) clientsChanged() { s.clientGen.Add(1) }

// ByClientID is Store.ClientByClientID through the cache. The Client
// returned is the caller's own copy (its slices are shared: read only).
func (cc *ClientCache) ByClientID(ctx context.Context, clientID string) (*Client, error) {
	cc.mu.RLock()
	e, ok := cc.byClientID[clientID]
	cc.mu.RUnlock()
	if ok && cc.fresh(e) {
		c := e.c
		return &c, nil
	}
	return cc.load(func() (*Client, error) { return cc.s.ClientByClientID(ctx, clientID) })
}

// ByID is Store.ClientByID through the cache.
func (cc *ClientCache) ByID(ctx context.Context, id uint) (*Client, error) {
	cc.mu.RLock()
	e, ok := cc.byID[id]
	cc.mu.RUnlock()
	if ok && cc.fresh(e) {
		c := e.c
		return &c, nil
	}
	return cc.load(func() (*Client, error) { return cc.s.ClientByID(ctx, id) })
}

func (cc *ClientCache) fresh(e cachedClient) bool {
	age := cc.now().Sub(e.at)
	return e.gen == cc.s.clientGen.Load() && age >= 0 && age < cc.ttl
}

// load reads a client and caches it. The generation and the time are
// taken before the read: a write through this Store that races the read
// leaves the entry at an older generation, so it is never used, and the
// entry's age counts from before the row was read.
func (cc *ClientCache) load(read func() (*Client, error)) (*Client, error) {
	gen, at := cc.s.clientGen.Load(), cc.now()
	c, err := read()
	if err != nil || cc.ttl <= 0 {
		return c, err
	}
	e := cachedClient{c: *c, gen: gen, at: at}
	cc.mu.Lock()
	// A deleted client leaves its entry to expire: it is never used past
	// ttl, nor at all after a write through this Store.
	cc.byClientID[c.ClientID] = e
	cc.byID[c.ID] = e
	cc.mu.Unlock()
	out := *c
	return &out, nil
}

// publicRedirects is the redirect URIs of every public client, as
// PublicRedirectURIs last read them.
type publicRedirects struct {
	uris []string
	at   time.Time
	gen  uint64
}

// PublicRedirectURIs is Store.PublicRedirectURIs through the cache, with
// the same bound as a client: at most ttl old, and read again after a
// client write through this Store. The slice is shared: read only.
func (cc *ClientCache) PublicRedirectURIs(ctx context.Context) ([]string, error) {
	cc.mu.RLock()
	e := cc.public
	cc.mu.RUnlock()
	if e != nil && cc.fresh(cachedClient{at: e.at, gen: e.gen}) {
		return e.uris, nil
	}
	gen, at := cc.s.clientGen.Load(), cc.now()
	uris, err := cc.s.PublicRedirectURIs(ctx)
	if err != nil || cc.ttl <= 0 {
		return uris, err
	}
	cc.mu.Lock()
	cc.public = &publicRedirects{uris: uris, at: at, gen: gen}
	cc.mu.Unlock()
	return uris, nil
}
