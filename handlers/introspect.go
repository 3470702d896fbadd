package handlers

import (
	"errors"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// IntrospectionScope is the client scope that lets a client introspect
// tokens issued to other clients (the seed system's name for it).
const IntrospectionScope = "token_introspection"

// introspection is an RFC 7662 §2.2 answer for an active token. An
// inactive one is exactly {"active": false}.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
	Iat       int64  `json:"iat"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud"`
	Iss       string `json:"iss"`
}

// Introspect serves POST /introspect, token introspection (RFC 7662). The
// client authenticates as at /token (§2.1); a failed authentication is 401
// invalid_client (§2.3), where the seed system answered 200 inactive.
// token is required (invalid_request otherwise). Access and refresh tokens
// are both looked up; token_type_hint is only a hint (§2.1).
//
// A client may introspect the tokens issued to it. Another client's token
// needs token_introspection among the introspecting client's scopes and,
// with IntrospectionValidateAudience, that token's client_id too (§4: the
// server decides who may learn about which tokens). Every token the
// caller may not see, or that is unknown, revoked (a rotated-out refresh
// token is), expired, of a user no longer active, is {"active": false}
// alike (§2.2), so the answer tells nothing more. Every answer is
// no-store (§4).
func (h *Handler) Introspect(c echo.Context) error {
	token, client, answered := h.clientToken(c)
	if client == nil {
		return answered
	}
	inactive := map[string]bool{"active": false}
	hash := oauth.HashToken(token)
	tok, err := h.store.TokenByValue(c.Request().Context(), hash)
	if errors.Is(err, models.ErrNotFound) {
		return c.JSON(http.StatusOK, inactive)
	}
	if err != nil {
		return h.tokenError(c, h.serverError(c, "introspect", err))
	}
	if !h.mayIntrospect(client, tok) {
		return c.JSON(http.StatusOK, inactive)
	}
	now := h.now()
	ans := introspection{Active: true, ClientID: tok.Client.ClientID, Aud: tok.Client.ClientID,
		Iss: h.cfg.Issuer, Iat: tok.CreatedAt.Unix()}
	expires := &tok.ExpiresAt
	ans.TokenType = "Bearer"
	if tok.AccessTokenHash != hash {
		// A refresh token: its own expiry; token_type is the RFC 7009
		// hint value, since "Bearer" (RFC 7662 §2.2, RFC 6749 §7.1)
		// names how an access token is presented.
		expires, ans.TokenType = tok.RefreshExpiresAt, "refresh_token"
	}
	switch {
	case tok.RevokedAt != nil, expires == nil, !now.Before(*expires):
		return c.JSON(http.StatusOK, inactive)
	case tok.UserID != nil && (tok.User == nil || !tok.User.Active):
		return c.JSON(http.StatusOK, inactive)
	}
	ans.Exp = expires.Unix()
	if tok.User != nil {
		ans.Sub = tok.User.Subject
	}
	if h.cfg.IntrospectionResponseScope {
		ans.Scope = tok.Scope
	}
	return c.JSON(http.StatusOK, ans)
}

// mayIntrospect reports whether client may learn about tok (RFC 7662 §4):
// its own tokens always; another client's only with the
// token_introspection scope and, when IntrospectionValidateAudience is
// set, that client's client_id among its scopes as well (the seed
// system's OIDC_INTROSPECTION_VALIDATE_AUDIENCE_SCOPE).
func (h *Handler) mayIntrospect(client *models.Client, tok *models.Token) bool {
	if tok.ClientID == client.ID {
		return true
	}
	if !slices.Contains(client.Scopes, IntrospectionScope) {
		return false
	}
	return !h.cfg.IntrospectionValidateAudience || slices.Contains(client.Scopes, tok.Client.ClientID)
}
