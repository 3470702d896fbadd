package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// CORS (the Fetch standard's CORS protocol) for browser clients: a
// single-page app on its own origin calls /token, /revoke and /userinfo
// with fetch. An origin is let in only when it is the origin of a
// redirect URI of a registered public client (oauth.Origin), and the
// answer to a request carries Access-Control-Allow-Origin only when that
// origin belongs to the client the request is for. Credentials (cookies)
// are never allowed: these endpoints take none. Discovery and /jwks are
// public documents, open to every origin with "*".

// corsMaxAge is how long a browser may keep a preflight's answer, in
// seconds. It lets a browser skip preflights only: every real request is
// checked against the client again.
const corsMaxAge = 600

// corsOriginKey holds, in the echo.Context, the Origin of a request to an
// endpoint that answers browser clients (ClientCORS).
const corsOriginKey = "cors_origin"

// ClientCORS is the middleware of /token, /revoke and /userinfo: the
// answer varies by Origin, and the handler, once it knows the client,
// decides whether that origin may read it (allowOrigin).
func (h *Handler) ClientCORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderOrigin)
		if origin := c.Request().Header.Get(echo.HeaderOrigin); origin != "" {
			c.Set(corsOriginKey, origin)
		}
		return next(c)
	}
}

// allowOrigin lets the request's Origin read the answer when client is a
// public client and the origin is one of its redirect URIs'.
func (h *Handler) allowOrigin(c echo.Context, client *models.Client) {
	origin, _ := c.Get(corsOriginKey).(string)
	if origin == "" || client == nil || !client.IsPublic() || !oauth.HasOrigin(client.RedirectURIs, origin) {
		return
	}
	c.Response().Header().Set(echo.HeaderAccessControlAllowOrigin, origin)
}

// allowClaimedOrigin is allowOrigin for the client a /token or /revoke
// request names (client_id in the form, or HTTP Basic), whether or not it
// then authenticates: its errors are the app's to read too. A client that
// cannot be read gets no header; authenticateClient reports why.
func (h *Handler) allowClaimedOrigin(c echo.Context, p params) {
	if _, ok := c.Get(corsOriginKey).(string); !ok {
		return
	}
	id, _ := p.get("client_id")
	if auth := c.Request().Header.Get(echo.HeaderAuthorization); id == "" && auth != "" {
		id, _, _ = parseBasic(auth)
	}
	if id == "" {
		return
	}
	client, err := h.clients.ByClientID(c.Request().Context(), id)
	if err != nil {
		return
	}
	h.allowOrigin(c, client)
}

// Preflight answers OPTIONS at /token, /revoke and /userinfo. A CORS
// preflight (Origin and Access-Control-Request-Method) from the origin of
// some public client's redirect URI is allowed methods, the Authorization
// and Content-Type headers, and corsMaxAge; any other origin gets the
// same 204 without CORS headers, so the browser refuses the request. The
// preflight names no client: which client's origin it is is checked on
// the request itself. The set of origins is read through the client cache
// (stale by at most OIDC_CLIENT_CACHE_SECONDS, as a client is).
func (h *Handler) Preflight(methods ...string) echo.HandlerFunc {
	allow := strings.Join(append(methods, http.MethodOptions), ", ")
	return func(c echo.Context) error {
		hdr, req := c.Response().Header(), c.Request()
		hdr.Add(echo.HeaderVary, echo.HeaderOrigin)
		hdr.Add(echo.HeaderVary, echo.HeaderAccessControlRequestMethod)
		hdr.Add(echo.HeaderVary, echo.HeaderAccessControlRequestHeaders)
		hdr.Set(echo.HeaderAllow, allow)
		origin := req.Header.Get(echo.HeaderOrigin)
		if origin == "" || req.Header.Get(echo.HeaderAccessControlRequestMethod) == "" {
			return c.NoContent(http.StatusNoContent)
		}
		uris, err := h.clients.PublicRedirectURIs(req.Context())
		if err != nil {
			return c.NoContent(h.serverError(c, "cors preflight", err).Status)
		}
		if !oauth.HasOrigin(uris, origin) {
			return c.NoContent(http.StatusNoContent)
		}
		hdr.Set(echo.HeaderAccessControlAllowOrigin, origin)
		hdr.Set(echo.HeaderAccessControlAllowMethods, allow)
		hdr.Set(echo.HeaderAccessControlAllowHeaders, echo.HeaderAuthorization+", "+echo.HeaderContentType)
		hdr.Set(echo.HeaderAccessControlMaxAge, strconv.Itoa(corsMaxAge))
		return c.NoContent(http.StatusNoContent)
	}
}

// PublicCORS opens a public document (discovery, /jwks) to every origin,
// without credentials, and answers its preflight.
func PublicCORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hdr := c.Response().Header()
		hdr.Set(echo.HeaderAccessControlAllowOrigin, "*")
		if c.Request().Method == http.MethodOptions {
			hdr.Set(echo.HeaderAllow, "GET, OPTIONS")
			hdr.Set(echo.HeaderAccessControlAllowMethods, "GET, OPTIONS")
			hdr.Set(echo.HeaderAccessControlMaxAge, strconv.Itoa(corsMaxAge))
			return c.NoContent(http.StatusNoContent)
		}
		return next(c)
	}
}
