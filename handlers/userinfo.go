package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// Userinfo serves GET and POST /userinfo (OpenID Connect Core §5.3). The
// access token comes as a Bearer header, a form body field (RFC 6750 §2.2)
// or, unless turned off, a query parameter as the seed walkthrough sends it.
func (h *Handler) Userinfo(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	token, oerr := h.bearerToken(c)
	if oerr != nil {
		return h.bearerError(c, oerr)
	}
	if token == "" {
		// RFC 6750 §3.1: a request with no credentials gets a challenge
		// without an error code.
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="oidcd"`)
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": oauth.InvalidToken, "error_description": "an access token is required"})
	}
	tok, err := h.store.ActiveAccessToken(c.Request().Context(), oauth.HashToken(token), h.now())
	if errors.Is(err, models.ErrNotFound) {
		return h.bearerError(c, oauth.Errorf(oauth.InvalidToken, "the access token is invalid, expired or revoked"))
	}
	if err != nil {
		return h.bearerError(c, h.serverError(c, "userinfo", err))
	}
	if tok.User == nil || !tok.User.Active {
		return h.bearerError(c, oauth.Errorf(oauth.InvalidToken, "the access token is not for an active user"))
	}
	// Claims are released only for scopes the client still has: an admin
	// who narrows a client takes effect at once, not when its access
	// tokens expire.
	client, err := h.clients.ByID(c.Request().Context(), tok.ClientID)
	if errors.Is(err, models.ErrNotFound) {
		return h.bearerError(c, oauth.Errorf(oauth.InvalidToken, "the access token is invalid, expired or revoked"))
	}
	if err != nil {
		return h.bearerError(c, h.serverError(c, "userinfo", err))
	}
	h.allowOrigin(c, client)
	scopes := allowedScopes(client, tok.ScopeList())
	if !slices.Contains(scopes, "openid") {
		return h.bearerError(c, oauth.Errorf(oauth.InsufficientScope, "the access token does not carry the openid scope, or its client no longer has it"))
	}
	claims, err := h.releasedClaims(c.Request().Context(), tok.User, scopes)
	if err != nil {
		return h.bearerError(c, h.serverError(c, "userinfo", err))
	}
	claims["sub"] = tok.User.Subject
	return c.JSON(http.StatusOK, claims)
}

// bearerToken finds the access token in exactly one of the places RFC 6750
// §2 allows; more than one is invalid_request.
func (h *Handler) bearerToken(c echo.Context) (string, *oauth.Error) {
	r := c.Request()
	var found []string
	if auth := r.Header.Get(echo.HeaderAuthorization); auth != "" {
		scheme, value, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
			return "", oauth.Errorf(oauth.InvalidRequest, "the Authorization header must be Bearer")
		}
		found = append(found, strings.TrimSpace(value))
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationForm) {
		p, err := readBody(c)
		if err != nil {
			return "", oauth.Errorf(oauth.InvalidRequest, "%s", err.Error())
		}
		if v := p.values["access_token"]; len(v) > 0 {
			found = append(found, v...)
		}
	}
	q, err := readQuery(c)
	if err != nil {
		return "", oauth.Errorf(oauth.InvalidRequest, "%s", err.Error())
	}
	if v := q.values["access_token"]; len(v) > 0 {
		if !h.cfg.UserinfoQueryToken {
			return "", oauth.Errorf(oauth.InvalidRequest, "access_token in the query is disabled on this server")
		}
		found = append(found, v...)
	}
	if len(found) > 1 {
		return "", oauth.Errorf(oauth.InvalidRequest, "send the access token one way, once")
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], nil
}

// bearerError writes an RFC 6750 §3 error with its WWW-Authenticate
// challenge.
func (h *Handler) bearerError(c echo.Context, e *oauth.Error) error {
	if e.Status < 500 {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate,
			fmt.Sprintf(`Bearer realm="oidcd", error=%q, error_description=%q`, e.Code, e.Description))
	}
	return c.JSON(e.Status, map[string]string{"error": e.Code, "error_description": e.Description})
}
