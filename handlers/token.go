package handlers

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// tokenResponse is the success body of RFC 6749 §5.1 and OpenID Connect
// Core §3.1.3.3.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// Token serves POST /token (RFC 6749 §3.2): it authenticates the client
// and hands the request to the grant registered for its grant_type
// (grants.go). Every answer, success or error, is
// no-store.
func (h *Handler) Token(c echo.Context) error {
	p, client, answered := h.clientPost(c)
	if client == nil {
		return answered
	}
	grantType, _ := p.get("grant_type")
	if grantType == "" {
		return h.tokenError(c, oauth.Errorf(oauth.InvalidRequest, "grant_type is required"))
	}
	g, ok := h.grants[grantType]
	if !ok {
		return h.tokenError(c, oauth.Errorf(oauth.UnsupportedGrantType, "grant_type %q is not supported", grantType))
	}
	if !client.AllowsGrantType(grantType) {
		// RFC 6749 §5.2: the client is not authorized to use this grant.
		return h.tokenError(c, oauth.Errorf(oauth.UnauthorizedClient, "the client may not use grant_type %q", grantType))
	}
	resp, oerr := g.exchange(c, p, client)
	if oerr != nil {
		return h.tokenError(c, oerr)
	}
	return c.JSON(http.StatusOK, resp)
}

// clientToken begins /revoke and /introspect: clientPost, then the token
// parameter both require (RFC 7009 §2.1, RFC 7662 §2.1; invalid_request
// without it). When client is nil the answer has been written.
func (h *Handler) clientToken(c echo.Context) (token string, client *models.Client, answered error) {
	p, client, answered := h.clientPost(c)
	if client == nil {
		return "", nil, answered
	}
	if token, _ = p.get("token"); token == "" {
		return "", nil, h.tokenError(c, oauth.Errorf(oauth.InvalidRequest, "token is required"))
	}
	return token, client, nil
}

// clientPost begins every endpoint a client authenticates to (/token,
// /revoke, /introspect): the answer, whatever it is, is no-store (RFC
// 6749 §5.1, RFC 7009 §2, RFC 7662 §4); the form is read once, each
// parameter at most once (RFC 6749 §3.2); the client authenticates as at
// /token (RFC 6749 §2.3). When client is nil the answer has been written
// (413, or an OAuth error) and answered is what the handler returns.
func (h *Handler) clientPost(c echo.Context) (p params, client *models.Client, answered error) {
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderCacheControl, "no-store")
	hdr.Set("Pragma", "no-cache")

	p, err := readBody(c)
	if errors.Is(err, errBodyTooLarge) {
		return p, nil, echo.ErrStatusRequestEntityTooLarge // 413, as with a Content-Length
	}
	if err != nil {
		return p, nil, h.tokenError(c, oauth.Errorf(oauth.InvalidRequest, "%s", err.Error()))
	}
	if err := p.singleValued(); err != nil {
		return p, nil, h.tokenError(c, oauth.Errorf(oauth.InvalidRequest, "%s", err.Error()))
	}
	h.allowClaimedOrigin(c, p)
	client, oerr := h.authenticateClient(c, p)
	if oerr != nil {
		return p, nil, h.tokenError(c, oerr)
	}
	return p, client, nil
}

// tokenError writes RFC 6749 §5.2 JSON. invalid_client is 401 and, when
// the client tried HTTP Basic, carries WWW-Authenticate.
// A server_error was logged where it was made (serverError), not here.
func (h *Handler) tokenError(c echo.Context, e *oauth.Error) error {
	if e.Code == oauth.InvalidClient && c.Request().Header.Get(echo.HeaderAuthorization) != "" {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="oidcd", charset="UTF-8"`)
	}
	return c.JSON(e.Status, map[string]string{"error": e.Code, "error_description": e.Description})
}

// authenticateClient accepts client_secret_basic, client_secret_post, and
// a bare client_id for public clients (RFC 6749 §2.3.1, §3.2.1). Using two
// methods at once is refused. Secrets are compared as hashes in constant
// time.
func (h *Handler) authenticateClient(c echo.Context, p params) (*models.Client, *oauth.Error) {
	formID, _ := p.get("client_id")
	formSecret, _ := p.get("client_secret")
	id, secret := formID, formSecret
	basic := false
	if auth := c.Request().Header.Get(echo.HeaderAuthorization); auth != "" {
		var ok bool
		id, secret, ok = parseBasic(auth)
		if !ok {
			return nil, oauth.Errorf(oauth.InvalidClient, "malformed HTTP Basic client credentials")
		}
		if p.has("client_secret") {
			return nil, oauth.Errorf(oauth.InvalidRequest, "use one client authentication method, not two")
		}
		if formID != "" && formID != id {
			return nil, oauth.Errorf(oauth.InvalidClient, "client_id does not match the Authorization header")
		}
		basic = true
	}
	if id == "" {
		return nil, oauth.Errorf(oauth.InvalidClient, "client authentication is required")
	}
	// Failed authentication is throttled per client_id + address and per
	// address (clientKeys). The check reads the throttle state once and
	// writes only on failure, so the success path stays one read: failures
	// racing each other can overshoot the limit by the requests in flight,
	// which is harmless, since a client secret is 256 random bits (the
	// admin site and CLI generate them) that no number of guesses finds;
	// the throttle bounds the load and the noise of a misconfigured or
	// hostile caller.
	ctx, now := c.Request().Context(), h.now()
	pair, address := h.clientKeys(id, c.RealIP())
	wait, err := h.store.ThrottleWait(ctx, []models.ThrottleKey{pair, address}, now)
	if err != nil {
		return nil, h.serverError(c, "client throttle", err)
	}
	if wait > 0 {
		// RFC 6749 §5.2: still invalid_client (401); Retry-After says when
		// to come back.
		c.Response().Header().Set("Retry-After", retryAfter(wait))
		h.metrics.Throttled("client")
		return nil, oauth.Errorf(oauth.InvalidClient, "too many failed client authentication attempts; try again later")
	}
	client, err := h.clients.ByClientID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		h.clientAuthFailed(c, id, nil, address)
		return nil, oauth.Errorf(oauth.InvalidClient, "client authentication failed")
	}
	if err != nil {
		return nil, h.serverError(c, "authenticate client", err)
	}
	if client.IsPublic() {
		if secret != "" {
			return nil, oauth.Errorf(oauth.InvalidClient, "public clients have no secret")
		}
		return client, nil
	}
	if secret == "" {
		if basic {
			h.clientAuthFailed(c, id, &client.ID, pair, address)
			return nil, oauth.Errorf(oauth.InvalidClient, "client authentication failed")
		}
		return nil, oauth.Errorf(oauth.InvalidClient, "client authentication is required")
	}
	if subtle.ConstantTimeCompare([]byte(oauth.HashToken(secret)), []byte(client.SecretHash)) != 1 {
		h.clientAuthFailed(c, id, &client.ID, pair, address)
		return nil, oauth.Errorf(oauth.InvalidClient, "client authentication failed")
	}
	return client, nil
}

// clientAuthFailed counts a failed client authentication and records it
// in the audit log (client_auth_failed) with the client_id as sent, cut
// to a bounded length, and never the secret; clientID is the client's row
// when the client_id names one. The throttle bounds how many are recorded.
// A key that is locked meanwhile has nothing left to count; a failure to
// count is logged, and the request is refused anyway.
func (h *Handler) clientAuthFailed(c echo.Context, sentID string, clientID *uint, keys ...models.ThrottleKey) {
	const maxSentID = 100
	if len(sentID) > maxSentID {
		sentID = sentID[:maxSentID] + "…"
	}
	h.recordEvent(c, &models.Event{Kind: models.EventClientAuthFailed, ClientID: clientID,
		Detail: c.Request().URL.Path + " client_id " + strconv.Quote(sentID)})
	_, err := h.store.ReserveAttempt(c.Request().Context(), keys, h.now())
	if te := (*models.ThrottledError)(nil); err != nil && !errors.As(err, &te) {
		h.log.WarnContext(c.Request().Context(), "count failed client authentication", "err", err)
	}
}

// parseBasic decodes an HTTP Basic header whose user and password are
// form-urlencoded first, as RFC 6749 §2.3.1 requires.
func parseBasic(header string) (id, secret string, ok bool) {
	const prefix = "basic "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", false
	}
	// Refused before any lookup: PostgreSQL cannot even compare text
	// that holds a NUL or is not UTF-8.
	if !cleanValue(id) || !cleanValue(secret) || !utf8.ValidString(id) || !utf8.ValidString(secret) {
		return "", "", false
	}
	return id, secret, id != ""
}
