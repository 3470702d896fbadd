package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"oidcd/models"
	"oidcd/models/modelstest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestScopeCacheBoundedStaleness: a ScopeCache over instance B's Store
// keeps the custom scopes it read for at most its ttl. A scope created,
// changed or deleted through instance A shows at B once the ttl has
// passed, not before; a change through B's own Store shows at once.
func TestScopeCacheBoundedStaleness(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	a, b := d.Open(t), d.Open(t)
	const ttl = 5 * time.Second
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cache := b.NewScopeCache(ttl, clock.now)
	names := func() map[string]string {
		t.Helper()
		all, err := cache.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for name, cs := range all {
			out[name] = cs.Title
		}
		return out
	}
	if got := names(); len(got) != 0 {
		t.Fatalf("fresh database: %v, want no custom scopes", got)
	}
	cs := &models.CustomScope{Name: "groups", Title: "Groups"}
	if err := a.CreateCustomScope(ctx, cs); err != nil {
		t.Fatal(err)
	}
	clock.add(ttl - time.Second)
	if got := names(); len(got) != 0 {
		t.Errorf("within the bound after A created a scope: %v, want the cached list (none)", got)
	}
	clock.add(time.Second)
	if got := names(); got["groups"] != "Groups" {
		t.Errorf("at the bound: %v, want groups", got)
	}
	cs.Title = "Teams"
	if err := a.SaveCustomScope(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if got := names(); got["groups"] != "Groups" {
		t.Errorf("right after A renamed the title: %v, want the cached Groups", got)
	}
	clock.add(ttl)
	if got := names(); got["groups"] != "Teams" {
		t.Errorf("past the bound: %v, want Teams", got)
	}
	// B's own write is honoured at once.
	if err := b.DeleteCustomScope(ctx, cs.ID); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 0 {
		t.Errorf("right after B deleted the scope: %v, want none", got)
	}
	// A ttl of zero reads every time.
	direct := b.NewScopeCache(0, clock.now)
	if err := a.CreateCustomScope(ctx, &models.CustomScope{Name: "x", Title: "X"}); err != nil {
		t.Fatal(err)
	}
	if all, err := direct.All(ctx); err != nil || len(all) != 1 {
		t.Errorf("ttl 0: %v, %v; want the new scope at once", all, err)
	}
}

func TestCustomScopeNameUnique(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.New(t).Open(t)
	if err := s.CreateCustomScope(ctx, &models.CustomScope{Name: "groups", Title: "Groups"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCustomScope(ctx, &models.CustomScope{Name: "groups", Title: "Again"}); !errors.Is(err, models.ErrConflict) {
		t.Errorf("second groups: %v, want ErrConflict", err)
	}
}
