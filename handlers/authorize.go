package handlers

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// Authorize serves GET and POST /authorize (OpenID Connect Core §3.1.2).
// The request is validated by oauth.ParseAuthRequest; this handler reads
// it, looks the client up and answers.
func (h *Handler) Authorize(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "Invalid request", "The authorization request is malformed: "+err.Error()+".")
	}
	ctx := c.Request().Context()

	var client *models.Client
	var info *oauth.AuthClient
	if id := oauth.AuthClientID(p.values); id != "" {
		client, err = h.clients.ByClientID(ctx, id)
		switch {
		case err == nil:
			info = authClient(client)
			if info.Scopes, err = h.grantableScopes(ctx, client); err != nil {
				return h.authorizeServerError(c, err)
			}
		case !errors.Is(err, models.ErrNotFound):
			return h.authorizeServerError(c, err)
		}
	}
	ar, aerr := oauth.ParseAuthRequest(p.values, info, oauth.DefaultAuthSettings())
	if aerr != nil {
		if aerr.Displayed {
			return h.errorPage(c, http.StatusBadRequest, aerr.Title, aerr.Err.Description)
		}
		return h.redirectError(c, aerr)
	}
	now := h.now()
	req := &models.AuthRequest{
		ClientID:            client.ID,
		RedirectURI:         ar.RedirectURI,
		ResponseType:        ar.ResponseType,
		Scope:               strings.Join(ar.Scopes, " "),
		State:               ar.State,
		Nonce:               ar.Nonce,
		Prompt:              strings.Join(ar.Prompts, " "),
		MaxAge:              ar.MaxAge,
		CodeChallenge:       ar.CodeChallenge,
		CodeChallengeMethod: ar.CodeChallengeMethod,
		LoginHint:           ar.LoginHint,
		CreatedAt:           now,
		ExpiresAt:           now.Add(30 * time.Minute),
	}
	return h.continueAuthorize(c, req, client, false)
}

// authClient is what validating an authorization request needs of client.
func authClient(c *models.Client) *oauth.AuthClient {
	return &oauth.AuthClient{RedirectURIs: c.RedirectURIs, ResponseTypes: c.ResponseTypes, Scopes: c.Scopes, Public: c.IsPublic()}
}

// allowedScopes keeps the requested scopes the client may ask for.
func allowedScopes(client *models.Client, requested []string) []string {
	return oauth.AllowedScopes(requested, client.Scopes)
}

// redirectTo is an authorization error for a request already validated,
// sent back to its redirect URI with its state (RFC 6749 §4.1.2.1).
func redirectTo(req *models.AuthRequest, code, desc string) *oauth.AuthError {
	return &oauth.AuthError{Err: oauth.Errorf(code, "%s", desc), RedirectURI: req.RedirectURI, State: req.State}
}

// continueAuthorize decides, for a validated request, between the login
// page, the consent page, an error and the code (PARITY §2 steps 4-8).
// fresh means the user signed in after this request was made, which
// satisfies prompt=login and max_age.
func (h *Handler) continueAuthorize(c echo.Context, req *models.AuthRequest, client *models.Client, fresh bool) error {
	ctx := c.Request().Context()
	user, authTime, err := h.sessions.User(c)
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	prompts := strings.Fields(req.Prompt)
	promptNone := slices.Contains(prompts, "none")
	fail := func(code, desc string) error {
		return h.redirectError(c, redirectTo(req, code, desc))
	}

	if user == nil || h.needsFreshLogin(req, authTime, fresh) {
		if promptNone {
			return fail(oauth.LoginRequired, "the user must sign in")
		}
		return h.park(c, req, "/login")
	}

	// A public client cannot prove who is asking, so its user always
	// sees the consent page, whatever the client's settings say (PARITY
	// §2 step 6, as the seed system does for the code flow).
	needConsent := client.RequireConsent || client.IsPublic()
	if needConsent && client.ReuseConsent && !client.IsPublic() {
		consent, err := h.store.ConsentFor(ctx, user.ID, client.ID)
		switch {
		case err == nil:
			needConsent = !consent.Covers(strings.Fields(req.Scope), h.now())
		case !errors.Is(err, models.ErrNotFound):
			return h.authorizeServerError(c, err)
		}
	}
	if slices.Contains(prompts, "consent") {
		needConsent = true
	}
	if needConsent {
		if promptNone {
			return fail(oauth.ConsentRequired, "the user must consent")
		}
		return h.park(c, req, "/consent")
	}
	return h.issueCode(c, req, user, authTime)
}

// needsFreshLogin reports whether a signed-in user must sign in again for
// this request: prompt=login or select_account, or a max_age older than
// the session's real authentication time (OpenID Connect Core §3.1.2.1).
// fresh means they already did so after the request was made.
func (h *Handler) needsFreshLogin(req *models.AuthRequest, authTime time.Time, fresh bool) bool {
	if fresh {
		return false
	}
	prompts := strings.Fields(req.Prompt)
	if slices.Contains(prompts, "login") || slices.Contains(prompts, "select_account") {
		return true
	}
	if req.MaxAge == nil || int64(*req.MaxAge) > int64(math.MaxInt64/time.Second) {
		return false // no login is older than that
	}
	// Compared at full precision: in whole seconds, max_age=0 would accept
	// a login made earlier in the same second.
	return h.now().Sub(authTime) > time.Duration(*req.MaxAge)*time.Second
}

// signedInSince reports whether the session's login happened after the
// parked request was made, which satisfies prompt=login and max_age. Both
// are compared in microseconds (the session keeps the login time so, and
// PostgreSQL the request's), never in whole seconds: a login earlier in
// the same second as the request is not a fresh one.
func signedInSince(req *models.AuthRequest, authTime time.Time) bool {
	return !authTime.IsZero() && authTime.After(req.CreatedAt.Truncate(time.Microsecond))
}

// park stores the request, if it is not stored yet, and sends the browser
// to the page that deals with it.
func (h *Handler) park(c echo.Context, req *models.AuthRequest, page string) error {
	if req.ID == "" {
		if err := h.store.SaveAuthRequest(c.Request().Context(), req); err != nil {
			return h.authorizeServerError(c, err)
		}
	}
	return c.Redirect(http.StatusFound, page+"?req="+url.QueryEscape(req.ID))
}

// ResumeAuthorize serves GET /authorize/resume: after login, the parked
// request is validated again and carries on.
func (h *Handler) ResumeAuthorize(c echo.Context) error {
	req, client, fail := h.parkedRequest(c, c.QueryParam("req"))
	if fail != nil {
		return fail()
	}
	_, authTime, err := h.sessions.User(c)
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	return h.continueAuthorize(c, req, client, signedInSince(req, authTime))
}

// parkedRequest loads a parked request and checks again that its client
// still exists and still allows what was asked. On failure it returns the
// response to send instead.
func (h *Handler) parkedRequest(c echo.Context, id string) (*models.AuthRequest, *models.Client, func() error) {
	ctx := c.Request().Context()
	expired := func() error {
		return h.errorPage(c, http.StatusBadRequest, "Sign-in request expired",
			"This sign-in request is unknown or has expired. Go back to the application and start again.")
	}
	if id == "" || len(id) > 64 {
		return nil, nil, expired
	}
	req, err := h.store.AuthRequestByID(ctx, id, h.now())
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, expired
	}
	if err != nil {
		return nil, nil, func() error { return h.authorizeServerError(c, err) }
	}
	client, err := h.clients.ByID(ctx, req.ClientID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, expired
	}
	if err != nil {
		return nil, nil, func() error { return h.authorizeServerError(c, err) }
	}
	if !client.HasRedirectURI(req.RedirectURI) {
		return nil, nil, func() error {
			return h.errorPage(c, http.StatusBadRequest, "Invalid redirect URI", "The redirect_uri is no longer registered for this application.")
		}
	}
	redirect := func(code, desc string) func() error {
		return func() error {
			return h.redirectError(c, redirectTo(req, code, desc))
		}
	}
	if !client.AllowsResponseType(req.ResponseType) {
		return nil, nil, redirect(oauth.UnauthorizedClient, "this client may no longer use this response_type")
	}
	grantable, err := h.grantableScopes(ctx, client)
	if err != nil {
		return nil, nil, func() error { return h.authorizeServerError(c, err) }
	}
	scopes := oauth.AllowedScopes(strings.Fields(req.Scope), grantable)
	if len(scopes) == 0 {
		return nil, nil, redirect(oauth.InvalidScope, "no requested scope is allowed for this client")
	}
	req.Scope = strings.Join(scopes, " ")
	return req, client, nil
}

// issueCode stores a new authorization code and sends the browser back to
// the client with it (RFC 6749 §4.1.2).
func (h *Handler) issueCode(c echo.Context, req *models.AuthRequest, user *models.User, authTime time.Time) error {
	ctx := c.Request().Context()
	code := oauth.NewToken()
	now := h.now()
	err := h.store.CreateCode(ctx, &models.Code{
		CodeHash:            oauth.HashToken(code),
		ClientID:            req.ClientID,
		UserID:              user.ID,
		RedirectURI:         req.RedirectURI,
		Scope:               req.Scope,
		Nonce:               req.Nonce,
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod,
		AuthTime:            authTime,
		ExpiresAt:           now.Add(h.cfg.CodeExpire),
	})
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	if req.ID != "" {
		if err := h.store.DeleteAuthRequest(ctx, req.ID); err != nil {
			h.log.WarnContext(ctx, "delete finished auth request", "err", err)
		}
	}
	v := url.Values{"code": {code}}
	return c.Redirect(http.StatusFound, h.authorizationResponse(req.RedirectURI, req.State, v))
}

// redirectError sends an authorization error back to the client, in the
// query: e.Fragment is not used until a flow that answers in the fragment
// is served.
func (h *Handler) redirectError(c echo.Context, e *oauth.AuthError) error {
	v := url.Values{"error": {e.Err.Code}, "error_description": {e.Err.Description}}
	return c.Redirect(http.StatusFound, h.authorizationResponse(e.RedirectURI, e.State, v))
}

// authorizationResponse adds the response parameters, state and iss
// (RFC 9207) to the redirect URI's query, keeping any query it already has.
func (h *Handler) authorizationResponse(redirectURI, state string, v url.Values) string {
	if state != "" {
		v.Set("state", state)
	}
	v.Set("iss", h.cfg.Issuer)
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	return redirectURI + sep + v.Encode()
}

// authorizeServerError shows an error page for a failure of ours: with the
// request in an unknown state, sending the user back is not safe.
func (h *Handler) authorizeServerError(c echo.Context, err error) error {
	h.serverError(c, "authorize", err)
	return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not complete the request. Try again in a moment.")
}
