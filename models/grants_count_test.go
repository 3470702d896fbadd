package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"oidcd/models"
)

// TestCountGrants: what the admin's confirmation pages count, by filter:
// live access and refresh tokens (not revoked, not expired), unused
// codes, consents, the user's live sessions and the clients with a
// back-channel logout URI those sessions used.
func TestCountGrants(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other := f.otherClient(t)
	f.addToken(t, f.client) // live pair
	expired := f.newToken() // access expired, refresh live
	expired.FamilyID, expired.ExpiresAt = models.NewID(), f.now.Add(-time.Minute)
	if err := f.store.CreateToken(ctx, expired); err != nil {
		t.Fatal(err)
	}
	gone := f.addToken(t, f.client) // revoked
	if _, err := f.store.RevokeToken(ctx, gone.ID, f.now); err != nil {
		t.Fatal(err)
	}
	f.addToken(t, other) // another client's
	f.newCode(t)         // unused
	used := f.newCode(t)
	if err := f.store.DB().Model(&models.Code{}).Where("id = ?", used.ID).Update("used_at", f.now).Error; err != nil {
		t.Fatal(err)
	}
	if err := f.store.GrantConsent(ctx, f.user.ID, f.client.ID, []string{"openid"}, f.now, f.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Two live sessions and an expired one; the first touched the
	// client, which has a back-channel logout URI, and the other client,
	// which has none.
	if err := f.store.DB().Model(&models.Client{}).Where("id = ?", f.client.ID).Update("backchannel_logout_uri", "https://rp.example/bc").Error; err != nil {
		t.Fatal(err)
	}
	for i, expires := range []time.Time{f.now.Add(time.Hour), f.now.Add(time.Hour), f.now.Add(-time.Hour)} {
		s := &models.Session{ID: models.NewID(), UserID: &f.user.ID, Data: "x", ExpiresAt: expires}
		if err := f.store.DB().Create(s).Error; err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			for _, c := range []uint{f.client.ID, other.ID} {
				if err := f.store.DB().Create(&models.SessionClient{SessionKey: s.ID, ClientID: c, UserID: f.user.ID, SID: "sid"}).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, tc := range []struct {
		name   string
		filter models.GrantFilter
		want   models.GrantCounts
	}{
		{"user", models.GrantFilter{UserID: f.user.ID},
			models.GrantCounts{AccessTokens: 2, RefreshTokens: 3, UnusedCodes: 1, Consents: 1, Sessions: 2, LogoutClients: 1}},
		{"client", models.GrantFilter{ClientID: f.client.ID},
			models.GrantCounts{AccessTokens: 1, RefreshTokens: 2, UnusedCodes: 1, Consents: 1}},
		{"pair", models.GrantFilter{UserID: f.user.ID, ClientID: f.client.ID},
			models.GrantCounts{AccessTokens: 1, RefreshTokens: 2, UnusedCodes: 1, Consents: 1, Sessions: 2, LogoutClients: 1}},
		{"pair with the other client", models.GrantFilter{UserID: f.user.ID, ClientID: other.ID},
			models.GrantCounts{AccessTokens: 1, RefreshTokens: 1, Sessions: 2}},
	} {
		got, err := f.store.CountGrants(ctx, tc.filter, f.now)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := f.store.CountGrants(ctx, models.GrantFilter{}, f.now); err == nil {
		t.Errorf("CountGrants without a filter: no error, want one (it would count every row)")
	}
}

// TestCheckRetireSigningKey: the check agrees with RetireSigningKey, and
// changes nothing.
func TestCheckRetireSigningKey(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const pre = time.Hour
	first, err := s.RotateSigningKeys(ctx, models.Rotation{Alg: "RS256", Now: t0, Prepublish: pre, NewKey: fakeKeys()})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := s.CheckRetireSigningKey(ctx, first.ID, t0); !errors.Is(err, models.ErrLastSigningKey) || k == nil || k.KID != first.KID {
		t.Errorf("the only key: %+v, %v; want it and ErrLastSigningKey", k, err)
	}
	t1 := t0.Add(time.Minute)
	next, err := s.RotateSigningKeys(ctx, models.Rotation{Alg: "RS256", Now: t1, Prepublish: pre, NewKey: fakeKeys()})
	if err != nil {
		t.Fatal(err)
	}
	at := t1.Add(time.Minute)
	// The signer whose successor waits: refused, as RetireSigningKey refuses.
	if _, err := s.CheckRetireSigningKey(ctx, first.ID, at); !errors.Is(err, models.ErrLastSigningKey) {
		t.Errorf("the signer while its successor waits: %v, want ErrLastSigningKey", err)
	}
	k, err := s.CheckRetireSigningKey(ctx, next.ID, at)
	if err != nil || k.KID != next.KID || k.PrivateKeyPEM != "" {
		t.Fatalf("the next key: %+v, %v; want it, without its private key", k, err)
	}
	if got := kidAt(t, s, "RS256", t1.Add(2*pre)); got != next.KID {
		t.Errorf("the checks changed the schedule: signer %s later, want the next key %s", got, next.KID)
	}
	if _, err := s.RetireSigningKey(ctx, next.ID, at); err != nil {
		t.Fatalf("retire the next key: %v", err)
	}
	if _, err := s.CheckRetireSigningKey(ctx, next.ID, at); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("a retired key: %v, want ErrNotFound", err)
	}
	if _, err := s.CheckRetireSigningKey(ctx, next.ID+100, at); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("an unknown key: %v, want ErrNotFound", err)
	}
}
