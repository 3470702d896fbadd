package handlers

import (
	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// passwordGrant is the resource owner password credentials grant (RFC
// 6749 §4.3): the client sends the user's username and password and gets
// the tokens the code flow would give. It exists for parity with the
// system this one replaces and is off unless
// OIDC_GRANT_TYPE_PASSWORD_ENABLE=true; RFC 9700 §2.4 says it MUST NOT be
// used, since it hands the user's password to the client.
//
// Only confidential clients may use it (CheckGrantTypes refuses it for a
// public one, and a public client given it anyway is unauthorized_client
// here): the seed system let public clients use it too, but then anyone
// who copies a public client_id may test passwords at /token, throttled
// only as /login is.
//
// The username and password are checked by checkLogin, as at POST /login:
// the same throttle keys (one failed /login and one failed password grant
// count together), the same password limiter, inactive users refused, the
// same login events and metrics. Wrong credentials, an unknown user and an
// inactive one all get one invalid_grant (§5.2), so the answer does not
// say which usernames exist. A locked throttle key is also invalid_grant,
// 400, with Retry-After (RFC 9110 §10.2.3): §5.2 has no code for "try
// later", and 429 would be outside what a client of §5.2 expects. No free
// password slot, or a throttle that cannot count, is 503
// temporarily_unavailable with Retry-After, as the login page answers.
//
// Scope: what is asked for must be among the client's scopes
// (invalid_scope, §5.2); none asked gives the client's scopes (§3.3's
// pre-defined default); of those, only the standard and custom scopes are
// granted (grantableScopes). openid brings an ID token whose auth_time is now;
// a refresh token is issued as the code exchange issues one.
type passwordGrant struct{ h *Handler }

func (passwordGrant) grantType() string { return oauth.GrantPassword }

// badCredentials is the one answer to a wrong username or password.
const badCredentials = "the username or password is incorrect"

func (g passwordGrant) exchange(c echo.Context, p params, client *models.Client) (*tokenResponse, *oauth.Error) {
	h := g.h
	if client.IsPublic() {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "a public client cannot use the password grant")
	}
	username, _ := p.get("username")
	password, _ := p.get("password")
	if username == "" || password == "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "username and password are required")
	}
	scopeParam, _ := p.get("scope")
	scope := oauth.ParseScope(scopeParam)
	if len(scope) == 0 {
		scope = client.Scopes
	} else if !oauth.Subset(scope, client.Scopes) {
		return nil, oauth.Errorf(oauth.InvalidScope, "the requested scope exceeds the client's scopes")
	}
	// A name the client lists that is no user scope (offline_access,
	// token_introspection, a deleted custom scope) is dropped, as at
	// /authorize.
	grantable, err := h.grantableScopes(c.Request().Context(), client)
	if err != nil {
		return nil, h.serverError(c, "password grant scopes", err)
	}
	if scope = oauth.AllowedScopes(scope, grantable); len(scope) == 0 {
		return nil, oauth.Errorf(oauth.InvalidScope, "no requested scope can be granted to a user")
	}
	// Found before the password is checked, so that a client that cannot
	// be signed for costs no attempt and writes nothing.
	key, kerr := h.signingKey(c, client)
	if kerr != nil {
		return nil, kerr
	}

	// No device cookie: the request comes from the client, not the
	// user's browser, so the username's ceiling key counts it.
	user, check := h.checkLogin(c, username, password, "")
	switch check.outcome {
	case loginWrong:
		return nil, oauth.Errorf(oauth.InvalidGrant, badCredentials)
	case loginThrottled:
		c.Response().Header().Set("Retry-After", retryAfter(check.retryAfter))
		return nil, oauth.Errorf(oauth.InvalidGrant, "too many failed sign-in attempts; retry later")
	case loginBusy:
		c.Response().Header().Set("Retry-After", "5")
		return nil, oauth.Errorf(oauth.TemporarilyUnavailable, "the server is handling many sign-ins; retry in a few seconds")
	case loginUncounted:
		c.Response().Header().Set("Retry-After", "60")
		return nil, oauth.Errorf(oauth.TemporarilyUnavailable, "the server cannot check sign-in attempts right now; retry in a minute")
	case loginFailed:
		return nil, oauth.Errorf(oauth.ServerError, "the server could not check the credentials")
	}
	now := h.now()
	h.loginSucceeded(c, user, now)

	tok, access, refresh := h.newToken(client, user.ID, joinScopes(scope), now, now)
	tok.FamilyID = models.NewID()
	issued := &models.Event{Kind: models.EventTokenIssued, ClientID: &client.ID, UserID: &user.ID, Detail: oauth.GrantPassword, RemoteIP: c.RealIP()}
	if err := h.store.IssueToken(c.Request().Context(), tok, issued); err != nil {
		return nil, h.serverError(c, "issue password token", err)
	}
	h.metrics.TokenIssued(oauth.GrantPassword)
	return h.tokenResponse(c, key, client, user, tok, access, refresh, "")
}
