package jose

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCacheSignerOnTime: a key scheduled to activate signs from its
// activation, and the key it replaces stops then, within one snapshot of
// the cache: every instance switches at the same moment, not up to its
// cache bound late; both stay in the JWK Set.
func TestCacheSignerOnTime(t *testing.T) {
	t.Parallel()
	old, err := NewKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	next, err := NewKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	switchAt := t0.Add(time.Hour)
	old.ActivatesAt, old.RetiredAt = t0.Add(-time.Hour), switchAt
	next.ActivatesAt = switchAt
	now, loads := t0, 0
	c := NewCache(func(context.Context, time.Time) ([]KeyMaterial, error) {
		loads++
		return []KeyMaterial{next, old}, nil // newest activation first
	}, 24*time.Hour, time.Hour, func() time.Time { return now })
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{t0, old.KID},
		{switchAt.Add(-time.Nanosecond), old.KID},
		{switchAt, next.KID},
		{switchAt.Add(time.Hour), next.KID},
	} {
		now = tc.at
		k, err := c.Signer(context.Background(), ES256)
		if err != nil || k.KID != tc.want {
			t.Errorf("at %v: signer %v (%v), want %s", tc.at, k, err, tc.want)
		}
		jwks, err := c.JWKS(context.Background())
		if err != nil || !strings.Contains(string(jwks), old.KID) || !strings.Contains(string(jwks), next.KID) {
			t.Errorf("at %v: JWK Set %s (%v), want both keys", tc.at, jwks, err)
		}
	}
	if loads != 1 {
		t.Errorf("loads = %d, want 1: the switch needs no reload", loads)
	}
	if _, err := c.Signer(context.Background(), RS256); err == nil {
		t.Errorf("signer for an algorithm without keys: want ErrNoKey")
	}
}
