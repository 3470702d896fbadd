package handlers

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// authorizeParams names every parameter /authorize reads.
var authorizeParams = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "prompt", "max_age",
	"code_challenge", "code_challenge_method", "login_hint", "id_token_hint", "ui_locales",
	"response_mode", "request", "request_uri", "display", "claims", "acr_values",
}

// knownResponseTypes are the response types OpenID Connect defines; only
// "code" is served so far, the others answer unsupported_response_type.
var knownResponseTypes = []string{"code", "id_token", "id_token token", "code token", "code id_token", "code id_token token", "token"}

// authzError is an authorization error that goes back to the client's
// redirect_uri (RFC 6749 §4.1.2.1).
type authzError struct {
	redirectURI string
	state       string
	err         *oauth.Error
}

// Authorize serves GET and POST /authorize (OpenID Connect Core §3.1.2).
func (h *Handler) Authorize(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "Invalid request", "The authorization request is malformed: "+err.Error()+".")
	}
	ctx := c.Request().Context()

	// Steps 1 and 2 of PARITY §2: until client_id and redirect_uri are
	// known good, nothing may be redirected anywhere.
	if name, ok := p.repeated("client_id", "redirect_uri"); ok {
		return h.errorPage(c, http.StatusBadRequest, "Invalid request", "The parameter "+name+" was sent more than once.")
	}
	clientID, _ := p.get("client_id")
	if clientID == "" {
		return h.errorPage(c, http.StatusBadRequest, "Unknown application", "The request does not name an application (client_id is missing).")
	}
	client, err := h.clients.ByClientID(ctx, clientID)
	if errors.Is(err, models.ErrNotFound) {
		return h.errorPage(c, http.StatusBadRequest, "Unknown application", "No application is registered with this client_id.")
	}
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	redirectURI, _ := p.get("redirect_uri")
	if redirectURI == "" || !client.HasRedirectURI(redirectURI) {
		return h.errorPage(c, http.StatusBadRequest, "Invalid redirect URI",
			"The redirect_uri is missing or is not registered for this application. It must match a registered URI exactly.")
	}

	req, aerr := h.validateAuthorize(p, client, redirectURI)
	if aerr != nil {
		return h.redirectError(c, aerr)
	}
	return h.continueAuthorize(c, req, client, false)
}

// validateAuthorize checks everything after client and redirect URI, in
// the order of PARITY §2 step 3, and builds the request to park or serve.
func (h *Handler) validateAuthorize(p params, client *models.Client, redirectURI string) (*models.AuthRequest, *authzError) {
	state, stateErr := p.get("state")
	fail := func(code, format string, args ...any) *authzError {
		return &authzError{redirectURI: redirectURI, state: state, err: oauth.Errorf(code, format, args...)}
	}
	if stateErr != nil {
		state = ""
		return nil, fail(oauth.InvalidRequest, "%s", stateErr.Error())
	}
	for _, name := range authorizeParams {
		if _, err := p.get(name); err != nil {
			return nil, fail(oauth.InvalidRequest, "%s", err.Error())
		}
	}
	for _, limit := range parkedParamLimits {
		if v, _ := p.get(limit.name); len(v) > limit.max {
			if limit.name == "state" {
				state = "" // not echoed: it is what was refused
			}
			return nil, fail(oauth.InvalidRequest, "%s must be at most %d bytes", limit.name, limit.max)
		}
	}
	get := func(name string) string { v, _ := p.get(name); return v }

	responseType := strings.Join(strings.Fields(get("response_type")), " ")
	switch {
	case responseType == "":
		return nil, fail(oauth.InvalidRequest, "response_type is required")
	case !slices.Contains(knownResponseTypes, normaliseResponseType(responseType)):
		return nil, fail(oauth.UnsupportedResponseType, "response_type %q is not supported", responseType)
	case responseType != "code":
		return nil, fail(oauth.UnsupportedResponseType, "only the code flow is enabled on this server")
	case !client.AllowsResponseType(responseType):
		return nil, fail(oauth.UnauthorizedClient, "this client may not use response_type %s", responseType)
	}
	if mode := get("response_mode"); mode != "" && mode != "query" {
		return nil, fail(oauth.InvalidRequest, "response_mode %q is not supported for the code flow", mode)
	}

	// Only scopes the client may ask for are granted (PARITY §5); others
	// are dropped, as RFC 6749 §3.3 allows.
	scopes := allowedScopes(client, oauth.ParseScope(get("scope")))
	if len(scopes) == 0 {
		return nil, fail(oauth.InvalidScope, "no requested scope is allowed for this client")
	}

	challenge, method := get("code_challenge"), get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return nil, fail(oauth.InvalidRequest, "code_challenge_method without code_challenge")
	case challenge == "" && client.IsPublic():
		return nil, fail(oauth.InvalidRequest, "public clients must use PKCE (code_challenge)")
	case challenge != "":
		// A missing method means plain (RFC 7636 §4.3), which is refused
		// like any other method but S256 (RFC 9700 §2.1.1).
		if method != oauth.PKCES256 {
			return nil, fail(oauth.InvalidRequest, "code_challenge_method must be S256")
		}
		if !oauth.ValidPKCEValue(challenge) {
			return nil, fail(oauth.InvalidRequest, "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]")
		}
	}

	if p.has("request") {
		return nil, fail(oauth.RequestNotSupported, "request objects are not supported")
	}
	if p.has("request_uri") {
		return nil, fail(oauth.RequestURINotSupported, "request_uri is not supported")
	}

	prompts := oauth.ParseScope(get("prompt")) // a set, like scope: repeats dropped
	for _, pr := range prompts {
		if !slices.Contains([]string{"none", "login", "consent", "select_account"}, pr) {
			return nil, fail(oauth.InvalidRequest, "prompt %q is not supported", pr)
		}
	}
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		return nil, fail(oauth.InvalidRequest, "prompt=none cannot be combined with other values")
	}

	var maxAge *int
	if s := get("max_age"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fail(oauth.InvalidRequest, "max_age must be a non-negative integer")
		}
		maxAge = &n
	}

	now := h.now()
	return &models.AuthRequest{
		ClientID:            client.ID,
		RedirectURI:         redirectURI,
		ResponseType:        responseType,
		Scope:               strings.Join(scopes, " "),
		State:               state,
		Nonce:               get("nonce"),
		Prompt:              strings.Join(prompts, " "),
		MaxAge:              maxAge,
		CodeChallenge:       challenge,
		CodeChallengeMethod: methodIf(challenge, method),
		LoginHint:           get("login_hint"),
		CreatedAt:           now,
		ExpiresAt:           now.Add(30 * time.Minute),
	}, nil
}

// allowedScopes keeps the requested scopes the client may ask for.
func allowedScopes(client *models.Client, requested []string) []string {
	var out []string
	for _, s := range requested {
		if slices.Contains(client.Scopes, s) {
			out = append(out, s)
		}
	}
	return out
}

func methodIf(challenge, method string) string {
	if challenge == "" {
		return ""
	}
	return method
}

// normaliseResponseType orders a multi-valued response type the way the
// specs list it, since its values may come in any order.
func normaliseResponseType(rt string) string {
	parts := strings.Fields(rt)
	order := map[string]int{"code": 0, "id_token": 1, "token": 2}
	slices.SortFunc(parts, func(a, b string) int { return order[a] - order[b] })
	return strings.Join(parts, " ")
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
		return h.redirectError(c, &authzError{redirectURI: req.RedirectURI, state: req.State, err: oauth.Errorf(code, "%s", desc)})
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
			return h.redirectError(c, &authzError{redirectURI: req.RedirectURI, state: req.State, err: oauth.Errorf(code, "%s", desc)})
		}
	}
	if !client.AllowsResponseType(req.ResponseType) {
		return nil, nil, redirect(oauth.UnauthorizedClient, "this client may no longer use this response_type")
	}
	scopes := allowedScopes(client, strings.Fields(req.Scope))
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

// redirectError sends an authorization error back to the client.
func (h *Handler) redirectError(c echo.Context, e *authzError) error {
	v := url.Values{"error": {e.err.Code}, "error_description": {e.err.Description}}
	return c.Redirect(http.StatusFound, h.authorizationResponse(e.redirectURI, e.state, v))
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
