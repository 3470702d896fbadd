package models

import (
	"context"
	"time"
)

// GrantCounts is what a user, a client or a pair of them holds at a
// moment: what an admin action on them would take away. The admin's
// confirmation pages show it before the action.
type GrantCounts struct {
	// AccessTokens are unrevoked tokens whose access token has not
	// expired; RefreshTokens, unrevoked tokens whose refresh token has
	// not. A token row holds both, so a pair counts in each.
	AccessTokens, RefreshTokens int64
	// UnusedCodes are authorization codes not yet exchanged (expired or
	// not: revoking deletes them all).
	UnusedCodes int64
	Consents    int64
	// Sessions are the user's live browser sessions; LogoutClients, the
	// clients with a back-channel logout URI that sessions of the user
	// (of the pair, with a client) signed in to, which a logout token
	// would reach. Both zero without a user in the filter.
	Sessions, LogoutClients int64
}

// CountGrants counts what f's user and/or client hold at now. f must name
// a user or a client.
func (s *Store) CountGrants(ctx context.Context, f GrantFilter, now time.Time) (GrantCounts, error) {
	var g GrantCounts
	if f.UserID == 0 && f.ClientID == 0 {
		return g, errNoFilter
	}
	db := s.rd.WithContext(ctx)
	counts := []struct {
		n     *int64
		model any
		where string
		args  []any
	}{
		{&g.AccessTokens, &Token{}, "revoked_at IS NULL AND expires_at > ?", []any{now}},
		{&g.RefreshTokens, &Token{}, "revoked_at IS NULL AND refresh_token_hash IS NOT NULL AND refresh_expires_at > ?", []any{now}},
		{&g.UnusedCodes, &Code{}, "used_at IS NULL", nil},
		{&g.Consents, &UserConsent{}, "1 = 1", nil},
	}
	for _, c := range counts {
		if err := f.apply(db.Model(c.model)).Where(c.where, c.args...).Count(c.n).Error; err != nil {
			return g, notFound(err, "count grants")
		}
	}
	if f.UserID == 0 {
		return g, nil
	}
	if err := db.Model(&Session{}).Where("user_id = ? AND expires_at > ?", f.UserID, now).Count(&g.Sessions).Error; err != nil {
		return g, notFound(err, "count sessions")
	}
	// The clients enqueueLogouts would send a logout token to.
	q := db.Table("session_clients sc").Joins("JOIN clients c ON c.id = sc.client_id").
		Where("c.backchannel_logout_uri <> '' AND sc.user_id = ?", f.UserID)
	if f.ClientID != 0 {
		q = q.Where("sc.client_id = ?", f.ClientID)
	}
	if err := q.Distinct("sc.client_id").Count(&g.LogoutClients).Error; err != nil {
		return g, notFound(err, "count logout clients")
	}
	return g, nil
}

// TokenByID returns an unrevoked token with User and Client loaded;
// ErrNotFound when there is none (unknown or revoked already).
func (s *Store) TokenByID(ctx context.Context, id uint) (*Token, error) {
	var t Token
	if err := s.rd.WithContext(ctx).Preload("User").Preload("Client").Where("revoked_at IS NULL").Take(&t, id).Error; err != nil {
		return nil, notFound(err, "token by id")
	}
	return &t, nil
}

// ConsentByID returns a consent with User and Client loaded.
func (s *Store) ConsentByID(ctx context.Context, id uint) (*UserConsent, error) {
	var c UserConsent
	if err := s.rd.WithContext(ctx).Preload("User").Preload("Client").Take(&c, id).Error; err != nil {
		return nil, notFound(err, "consent by id")
	}
	return &c, nil
}

// CodeByID returns an authorization code with User and Client loaded.
func (s *Store) CodeByID(ctx context.Context, id uint) (*Code, error) {
	var c Code
	if err := s.rd.WithContext(ctx).Preload("User").Preload("Client").Take(&c, id).Error; err != nil {
		return nil, notFound(err, "code by id")
	}
	return &c, nil
}
