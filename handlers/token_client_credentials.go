package handlers

import (
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// clientCredentialsGrant is the client_credentials grant (RFC 6749 §4.4):
// a confidential client gets an access token for itself, with no user
// behind it. So it gets no refresh token (§4.4.3: SHOULD NOT) and no ID
// token, and /userinfo refuses the access token (there is no one to
// describe).
//
// Scope: what is asked for must be among the client's scopes
// (invalid_scope otherwise, §5.2); openid and offline_access speak of a
// user and are invalid_scope here. When none is asked for, the client
// gets all its scopes but those two (§3.3's pre-defined default); a
// client left with none is invalid_scope.
type clientCredentialsGrant struct{ h *Handler }

func (clientCredentialsGrant) grantType() string { return oauth.GrantClientCredentials }

// userScopes make sense only with a user.
var userScopes = []string{"openid", "offline_access"}

func (g clientCredentialsGrant) exchange(c echo.Context, p params, client *models.Client) (*tokenResponse, *oauth.Error) {
	h := g.h
	if client.IsPublic() {
		// §4.4: only a client that authenticates may use this grant.
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "a public client cannot use client_credentials")
	}
	scopeParam, _ := p.get("scope")
	requested := oauth.ParseScope(scopeParam)
	var scope []string
	if len(requested) == 0 {
		for _, s := range client.Scopes {
			if !slices.Contains(userScopes, s) {
				scope = append(scope, s)
			}
		}
		if len(scope) == 0 {
			return nil, oauth.Errorf(oauth.InvalidScope, "the client has no scope to use without a user")
		}
	} else {
		for _, s := range requested {
			if slices.Contains(userScopes, s) {
				return nil, oauth.Errorf(oauth.InvalidScope, "scope %q needs a user; client_credentials has none", s)
			}
		}
		if !oauth.Subset(requested, client.Scopes) {
			return nil, oauth.Errorf(oauth.InvalidScope, "the requested scope exceeds the client's scopes")
		}
		scope = requested
	}
	now := h.now()
	access := oauth.NewToken()
	tok := &models.Token{
		AccessTokenHash: oauth.HashToken(access),
		ClientID:        client.ID,
		FamilyID:        models.NewID(),
		Scope:           joinScopes(scope),
		AuthTime:        now,
		ExpiresAt:       now.Add(h.cfg.TokenExpire),
	}
	issued := &models.Event{Kind: models.EventTokenIssued, ClientID: &client.ID, Detail: oauth.GrantClientCredentials, RemoteIP: c.RealIP()}
	if err := h.store.IssueToken(c.Request().Context(), tok, issued); err != nil {
		return nil, h.serverError(c, "issue client token", err)
	}
	h.metrics.TokenIssued(oauth.GrantClientCredentials)
	return &tokenResponse{AccessToken: access, TokenType: "Bearer",
		ExpiresIn: int64(h.cfg.TokenExpire / time.Second), Scope: tok.Scope}, nil
}
