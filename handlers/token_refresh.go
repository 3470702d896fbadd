package handlers

import (
	"errors"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// refreshGrant is the refresh_token grant (RFC 6749 §6) with rotation: the
// old pair stops working, and presenting a rotated-out refresh token again
// revokes its whole family (RFC 9700 §4.14.2).
type refreshGrant struct{ h *Handler }

func (refreshGrant) grantType() string { return oauth.GrantRefreshToken }

func (g refreshGrant) exchange(c echo.Context, p params, client *models.Client) (*tokenResponse, *oauth.Error) {
	h := g.h
	refresh, _ := p.get("refresh_token")
	if refresh == "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "refresh_token is required")
	}
	scopeParam, _ := p.get("scope")
	requested := oauth.ParseScope(scopeParam)
	key, kerr := h.signingKey(c, client)
	if kerr != nil {
		return nil, kerr
	}
	now := h.now()
	var access, nextRefresh string
	var user models.User
	// granted is what the new pair carries: the scope asked for (or, when
	// none is, the one granted before), less any scope the client may no
	// longer have since an admin narrowed it (RFC 6749 §6: never more than
	// the original grant, and here never more than the client's own).
	var granted []string
	// Recorded in the rotation's transaction.
	issued := &models.Event{Kind: models.EventTokenIssued, ClientID: &client.ID, Detail: "refresh_token", RemoteIP: c.RealIP()}
	tok, err := h.store.RotateRefreshToken(c.Request().Context(), oauth.HashToken(refresh), now,
		func(old *models.Token) error {
			switch {
			case old.ClientID != client.ID:
				return oauth.Errorf(oauth.InvalidGrant, "the refresh token was issued to another client")
			case old.RefreshExpiresAt == nil || !now.Before(*old.RefreshExpiresAt):
				return oauth.Errorf(oauth.InvalidGrant, "the refresh token has expired")
			case old.User == nil || !old.User.Active:
				return oauth.Errorf(oauth.InvalidGrant, "the user is no longer active")
			case !oauth.Subset(requested, old.ScopeList()):
				return oauth.Errorf(oauth.InvalidScope, "the requested scope exceeds the scope originally granted")
			}
			base := old.ScopeList()
			if len(requested) > 0 {
				base = requested
			}
			if granted = allowedScopes(client, base); len(granted) == 0 {
				return oauth.Errorf(oauth.InvalidScope, "no granted scope is still allowed for this client")
			}
			return nil
		},
		func(old *models.Token) (*models.Token, error) {
			var t *models.Token
			t, access, nextRefresh = h.newToken(client, *old.UserID, joinScopes(granted), old.AuthTime, now)
			t.SID = old.SID
			user = *old.User
			issued.UserID = old.UserID
			return t, nil
		}, issued)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, oauth.Errorf(oauth.InvalidGrant, "the refresh token is invalid or revoked")
	case errors.Is(err, models.ErrRefreshReused):
		return nil, oauth.Errorf(oauth.InvalidGrant, "the refresh token was already used; its tokens are revoked")
	case err != nil:
		if oe := asOAuthError(err); oe != nil {
			return nil, oe
		}
		return nil, h.serverError(c, "rotate refresh token", err)
	}
	h.metrics.TokenIssued("refresh_token")
	// OpenID Connect Core §12.2: the refreshed ID token keeps the original
	// auth_time and carries no nonce.
	return h.tokenResponse(c, key, client, &user, tok, access, nextRefresh, "")
}
