package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/jose"
	"oidcd/models"
	"oidcd/views"
)

// endSessionRequest is an RP-initiated logout request (OpenID
// RP-Initiated Logout 1.0 §2), read from the query on GET and the form
// body on POST. ui_locales is accepted and ignored: the pages have one
// language.
type endSessionRequest struct {
	IDTokenHint           string
	LogoutHint            string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
}

func parseEndSession(c echo.Context) endSessionRequest {
	get := c.QueryParam
	if c.Request().Method == http.MethodPost {
		get = c.FormValue
	}
	return endSessionRequest{
		IDTokenHint:           get("id_token_hint"),
		LogoutHint:            get("logout_hint"),
		ClientID:              get("client_id"),
		PostLogoutRedirectURI: get("post_logout_redirect_uri"),
		State:                 get("state"),
	}
}

// errEndSession is a logout request refused: shown as an error page and
// never redirected, as the request may come from anyone (§2, §3).
var errEndSession = errors.New("invalid logout request")

// EndSession serves GET and POST /end-session, the end_session_endpoint
// (OpenID RP-Initiated Logout 1.0 §2). The seed system decoded the
// id_token_hint without checking it; here it must verify with the
// server's keys (or an HS256 client's secret) and name this issuer, and
// may be expired (§2: the hint is an ID token issued before). A valid
// hint for the signed-in user ends the session at once; otherwise the
// user confirms. The redirect goes to post_logout_redirect_uri only when
// registered for the client, with state (§3).
func (h *Handler) EndSession(c echo.Context) error {
	req := parseEndSession(c)
	ctx := c.Request().Context()
	var hintSub string
	var client *models.Client
	if req.IDTokenHint != "" {
		claims, hc, err := h.verifyHint(ctx, req.IDTokenHint)
		if err != nil {
			h.log.InfoContext(ctx, "end session: id_token_hint refused", "err", err)
			return h.errorPage(c, http.StatusBadRequest, "Sign-out request not valid", "The application sent a sign-out request this server cannot verify.")
		}
		hintSub, _ = claims["sub"].(string)
		client = hc
	}
	if req.ClientID != "" {
		if client != nil && client.ClientID != req.ClientID {
			return h.errorPage(c, http.StatusBadRequest, "Sign-out request not valid", "The client_id does not match the id_token_hint.")
		}
		if client == nil {
			cl, err := h.clients.ByClientID(ctx, req.ClientID)
			if errors.Is(err, models.ErrNotFound) {
				return h.errorPage(c, http.StatusBadRequest, "Sign-out request not valid", "The application is not known here.")
			}
			if err != nil {
				return h.endSessionFailed(c, err)
			}
			client = cl
		}
	}
	if req.PostLogoutRedirectURI != "" && (client == nil || !slices.Contains(client.PostLogoutRedirectURIs, req.PostLogoutRedirectURI)) {
		return h.errorPage(c, http.StatusBadRequest, "Sign-out request not valid", "The post_logout_redirect_uri is not registered for this application.")
	}
	user, _, err := h.sessions.User(c)
	if err != nil {
		return h.endSessionFailed(c, err)
	}
	if user == nil {
		// Nothing to end: signed out already.
		return h.afterLogout(c, req.PostLogoutRedirectURI, req.State)
	}
	sameUser := hintSub != "" && hintSub == user.Subject &&
		(req.LogoutHint == "" || req.LogoutHint == user.Username || req.LogoutHint == user.Subject)
	if sameUser {
		return h.finishEndSession(c, user, client, req.PostLogoutRedirectURI, req.State)
	}
	token, err := h.sessions.FormToken(c)
	if err != nil {
		return h.endSessionFailed(c, err)
	}
	v := views.EndSessionView{CSRF: token, Username: user.Username, PostLogoutRedirectURI: req.PostLogoutRedirectURI, State: req.State}
	if client != nil {
		v.ClientName, v.ClientID = client.Name, client.ClientID
	}
	return h.render(c, http.StatusOK, views.EndSessionPage(v))
}

// ConfirmEndSession serves POST /end-session/confirm, the confirmation
// form (CSRF-protected). The client and redirect URI are checked again.
func (h *Handler) ConfirmEndSession(c echo.Context) error {
	ctx := c.Request().Context()
	uri, state := c.FormValue("post_logout_redirect_uri"), c.FormValue("state")
	var client *models.Client
	if id := c.FormValue("client_id"); id != "" {
		cl, err := h.clients.ByClientID(ctx, id)
		if errors.Is(err, models.ErrNotFound) {
			return h.errorPage(c, http.StatusBadRequest, "Sign-out request not valid", "The application is not known here.")
		}
		if err != nil {
			return h.endSessionFailed(c, err)
		}
		client = cl
	}
	if uri != "" && (client == nil || !slices.Contains(client.PostLogoutRedirectURIs, uri)) {
		return h.errorPage(c, http.StatusBadRequest, "Sign-out request not valid", "The post_logout_redirect_uri is not registered for this application.")
	}
	user, _, err := h.sessions.User(c)
	if err != nil {
		return h.endSessionFailed(c, err)
	}
	if user == nil {
		return h.afterLogout(c, uri, state)
	}
	return h.finishEndSession(c, user, client, uri, state)
}

// finishEndSession ends the OP session (the row, and a logout token to
// every client it touched) and sends the browser on.
func (h *Handler) finishEndSession(c echo.Context, user *models.User, client *models.Client, uri, state string) error {
	if err := h.sessions.End(c); err != nil {
		return h.endSessionFailed(c, err)
	}
	e := &models.Event{Kind: models.EventLogout, Username: user.Username, UserID: &user.ID, RemoteIP: c.RealIP(), Detail: "rp-initiated"}
	if client != nil {
		e.ClientID = &client.ID
	}
	h.recordEvent(c, e)
	return h.afterLogout(c, uri, state)
}

// afterLogout redirects to a registered post-logout URI with state, or
// shows the signed-out page.
func (h *Handler) afterLogout(c echo.Context, uri, state string) error {
	if uri == "" {
		return c.Redirect(http.StatusSeeOther, "/logout?done=1")
	}
	u, err := url.Parse(uri)
	if err != nil {
		return h.endSessionFailed(c, err)
	}
	if state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	return c.Redirect(http.StatusFound, u.String())
}

func (h *Handler) endSessionFailed(c echo.Context, err error) error {
	h.serverError(c, "end session", err)
	return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not sign you out. Try again in a moment.")
}

// verifyHint verifies an id_token_hint: signed by one of the server's
// keys (a retired one too: the hint may be old, and a key gone from the
// JWKS cache is looked up in the store) or, for an HS256 client, with its
// secret; iss this issuer; aud naming a known client. exp is not checked
// (RP-Initiated Logout 1.0 §2). It returns the claims and the client.
func (h *Handler) verifyHint(ctx context.Context, token string) (map[string]any, *models.Client, error) {
	alg, kid, err := jose.PeekHeader(token)
	if err != nil {
		return nil, nil, err
	}
	var claims map[string]any
	var hs256Client *models.Client
	if alg == jose.HS256 {
		// The key is the client's secret: which client, the unverified
		// aud says, and the signature then proves it.
		unverified, err := jose.UnverifiedClaims(token)
		if err != nil {
			return nil, nil, err
		}
		cl, err := h.clients.ByClientID(ctx, hintAudience(unverified))
		if err != nil {
			return nil, nil, err
		}
		if cl.JWTAlg != jose.HS256 {
			return nil, nil, errors.New("HS256 hint for a client that does not use HS256")
		}
		secret, err := h.store.ClientSecret(cl)
		if err != nil {
			return nil, nil, err
		}
		if claims, err = jose.VerifyHS256(secret, token); err != nil {
			return nil, nil, err
		}
		hs256Client = cl
	} else {
		key, err := h.verificationKey(ctx, kid)
		if err != nil {
			return nil, nil, err
		}
		if key.Alg != alg {
			return nil, nil, errors.New("hint alg is not its key's")
		}
		if claims, err = key.Verify(token); err != nil {
			return nil, nil, err
		}
	}
	if iss, _ := claims["iss"].(string); iss != h.cfg.Issuer {
		return nil, nil, errors.New("hint from another issuer")
	}
	aud := hintAudience(claims)
	if hs256Client != nil {
		if aud != hs256Client.ClientID {
			return nil, nil, errors.New("hint aud changed")
		}
		return claims, hs256Client, nil
	}
	cl, err := h.clients.ByClientID(ctx, aud)
	if err != nil {
		return nil, nil, err
	}
	return claims, cl, nil
}

// hintAudience is the client an ID token was issued to: azp when there
// are several audiences (Core §2), else the one aud.
func hintAudience(claims map[string]any) string {
	switch aud := claims["aud"].(type) {
	case string:
		return aud
	case []any:
		if azp, ok := claims["azp"].(string); ok && azp != "" {
			for _, a := range aud {
				if a == azp {
					return azp
				}
			}
		}
		if len(aud) == 1 {
			s, _ := aud[0].(string)
			return s
		}
	}
	return ""
}

// verificationKey finds the server key with kid: from the key cache, or,
// when the cache never met it (retired long ago, or made by another
// instance since the last load), from the store.
func (h *Handler) verificationKey(ctx context.Context, kid string) (*jose.Key, error) {
	if kid == "" {
		return nil, errors.New("hint has no kid")
	}
	if k, ok, err := h.keys.Known(ctx, kid); err != nil || ok {
		return k, err
	}
	stored, err := h.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range stored {
		if m.KID == kid {
			return h.keys.Parsed(jose.KeyMaterial{KID: m.KID, Alg: m.Alg, PEM: m.PrivateKeyPEM})
		}
	}
	return nil, errors.New("hint signed by an unknown key")
}
