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
	"oidcd/views"
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
			// The person cannot be sent back to the app, and cannot fix the
			// request: say who can, and give a way out.
			return h.render(c, http.StatusBadRequest, views.ErrorPage(views.ErrorView{
				Status: http.StatusBadRequest, Title: aerr.Title, Message: aerr.Err.Description,
				Hint:  "The app that sent you here asked to sign you in in a way this server does not accept, so you cannot continue from here. Tell the app's developer or support what this page says, then return to the app.",
				Links: []views.LinkView{{Href: "/", Label: "Go to the start page"}},
			}))
		}
		return h.redirectError(c, aerr)
	}
	now := h.now()
	req := &models.AuthRequest{
		ClientID:            client.ID,
		RedirectURI:         ar.RedirectURI,
		ResponseType:        ar.ResponseType,
		ResponseMode:        ar.ResponseMode,
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
	if ar.IDTokenHint != "" {
		return h.authorizeWithHint(c, req, client, ar.IDTokenHint)
	}
	return h.continueAuthorize(c, req, client, false)
}

// authorizeWithHint goes on with a request that carries an id_token_hint
// (OpenID Connect Core §3.1.2.1): a hint we did not issue is refused; when
// the user it names is not the one signed in, prompt=none answers
// login_required (§3.1.2.6), and otherwise the login page is shown for
// that user, whoever is signed in now.
func (h *Handler) authorizeWithHint(c echo.Context, req *models.AuthRequest, client *models.Client, hint string) error {
	ctx := c.Request().Context()
	sub, err := h.verifyIDTokenHint(ctx, hint)
	if errors.Is(err, errBadHint) {
		return h.redirectError(c, redirectTo(req, oauth.InvalidRequest, "the id_token_hint was not issued by this server"))
	}
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	user, _, err := h.sessions.User(c)
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	if user != nil && user.Subject == sub {
		return h.continueAuthorize(c, req, client, false)
	}
	if slices.Contains(strings.Fields(req.Prompt), "none") {
		return h.redirectError(c, redirectTo(req, oauth.LoginRequired, "the user the id_token_hint names is not signed in"))
	}
	if req.LoginHint == "" {
		hinted, err := h.store.UserBySubject(ctx, sub)
		switch {
		case err == nil:
			req.LoginHint = hinted.Username
		case !errors.Is(err, models.ErrNotFound):
			return h.authorizeServerError(c, err)
		}
	}
	return h.park(c, req, "/login")
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
// sent back to its redirect URI with its state, in its response mode
// (RFC 6749 §4.1.2.1, §4.2.2.1).
func redirectTo(req *models.AuthRequest, code, desc string) *oauth.AuthError {
	return &oauth.AuthError{Err: oauth.Errorf(code, "%s", desc), RedirectURI: req.RedirectURI, State: req.State, Mode: responseMode(req)}
}

// responseMode is the mode a request's response goes back in. A request
// parked before the mode was kept has none: its response type's default.
func responseMode(req *models.AuthRequest) string {
	if req.ResponseMode != "" {
		return req.ResponseMode
	}
	return oauth.DefaultResponseMode(req.ResponseType)
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

	// prompt=select_account: the account chooser (accounts.go), unless
	// the user has just signed in for this request or no account is
	// signed in on this browser (then the login page below).
	if slices.Contains(prompts, "select_account") && !fresh {
		accounts, err := h.sessions.Accounts(c)
		if err != nil {
			return h.authorizeServerError(c, err)
		}
		if len(accounts) > 0 {
			return h.park(c, req, "/select-account")
		}
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
	return h.respond(c, req, client, user, authTime)
}

// needsFreshLogin reports whether a signed-in user must sign in again for
// this request: prompt=login, or a max_age older than
// the session's real authentication time (OpenID Connect Core §3.1.2.1).
// fresh means they already did so after the request was made.
func (h *Handler) needsFreshLogin(req *models.AuthRequest, authTime time.Time, fresh bool) bool {
	if fresh {
		return false
	}
	prompts := strings.Fields(req.Prompt)
	if slices.Contains(prompts, "login") {
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

// respond finishes a request the user granted: it issues what the
// response type asks for and sends it back to the client in the request's
// response mode. A code (RFC 6749 §4.1.2); an access token (§4.2.2),
// stored hashed as /token's are, with no refresh token; an ID token
// (OpenID Connect Core §3.2.2.5, §3.3.2.5) with the request's nonce,
// at_hash beside an access token and c_hash beside a code (§3.3.2.11).
// The ID token is signed before anything is written, so a client that
// cannot be signed for leaves no code or token behind.
func (h *Handler) respond(c echo.Context, req *models.AuthRequest, client *models.Client, user *models.User, authTime time.Time) error {
	ctx := c.Request().Context()
	rt := req.ResponseType
	now := h.now()
	v := url.Values{}
	var code *models.Code
	var codeValue, access string
	sessionID, sid := h.sessions.Current(c)
	if oauth.ResponseTypeHas(rt, "code") {
		codeValue = oauth.NewToken()
		code = &models.Code{
			CodeHash:            oauth.HashToken(codeValue),
			ClientID:            req.ClientID,
			UserID:              user.ID,
			RedirectURI:         req.RedirectURI,
			Scope:               req.Scope,
			Nonce:               req.Nonce,
			CodeChallenge:       req.CodeChallenge,
			CodeChallengeMethod: req.CodeChallengeMethod,
			AuthTime:            authTime,
			SID:                 sid,
			ExpiresAt:           now.Add(h.cfg.CodeExpire),
		}
		v.Set("code", codeValue)
	}
	var tok *models.Token
	if oauth.ResponseTypeHas(rt, "token") {
		access = oauth.NewToken()
		tok = &models.Token{
			AccessTokenHash: oauth.HashToken(access),
			ClientID:        client.ID,
			UserID:          &user.ID,
			FamilyID:        models.NewID(),
			Scope:           req.Scope,
			AuthTime:        authTime,
			SID:             sid,
			ExpiresAt:       now.Add(h.cfg.TokenExpire),
		}
		v.Set("access_token", access)
		v.Set("token_type", "Bearer")
		v.Set("expires_in", strconv.FormatInt(int64(h.cfg.TokenExpire/time.Second), 10))
		v.Set("scope", req.Scope)
	}
	if oauth.ResponseTypeHas(rt, "id_token") {
		sign, kerr := h.signingKey(c, client)
		if kerr != nil {
			return h.authorizeFailed(c)
		}
		// Core §5.4: with no access token to ask /userinfo with, the
		// scopes' claims come in the ID token.
		claims, err := h.idTokenClaims(c.Request().Context(), client, user, strings.Fields(req.Scope), authTime, req.Nonce, h.cfg.IDTokenIncludeClaims || rt == "id_token")
		if err != nil {
			return h.authorizeServerError(c, err)
		}
		if access != "" {
			claims["at_hash"] = oauth.HalfHash(client.JWTAlg, access)
		}
		if codeValue != "" {
			claims["c_hash"] = oauth.HalfHash(client.JWTAlg, codeValue)
		}
		if sid != "" {
			claims["sid"] = sid // Back-Channel Logout 1.0 §2.1
		}
		idt, err := sign(claims)
		if err != nil {
			return h.authorizeServerError(c, err)
		}
		v.Set("id_token", idt)
	}
	var err error
	switch {
	case tok != nil:
		issued := &models.Event{Kind: models.EventTokenIssued, ClientID: &client.ID, UserID: &user.ID, Detail: "response_type " + rt, RemoteIP: c.RealIP()}
		err = h.store.IssueAuthorization(ctx, code, tok, issued)
	case code != nil:
		err = h.store.CreateCode(ctx, code)
	}
	if err != nil {
		return h.authorizeServerError(c, err)
	}
	if h.cfg.SessionManagement {
		state, err := h.sessionState(c, client.ClientID, req.RedirectURI)
		if err != nil {
			return h.authorizeServerError(c, err)
		}
		v.Set("session_state", state)
	}
	// The session touched a client that wants to hear when it ends: one
	// row, written only for such clients so other authorizations cost
	// no statement more.
	if client.BackchannelLogoutURI != "" && sessionID != "" {
		if err := h.store.TouchSession(ctx, sessionID, client.ID, user.ID, sid, now); err != nil {
			return h.authorizeServerError(c, err)
		}
	}
	if req.ID != "" {
		if err := h.store.DeleteAuthRequest(ctx, req.ID); err != nil {
			h.log.WarnContext(ctx, "delete finished auth request", "err", err)
		}
	}
	return h.sendAuthResponse(c, req.RedirectURI, responseMode(req), req.State, v)
}

// redirectError sends an authorization error back to the client, in the
// error's response mode.
func (h *Handler) redirectError(c echo.Context, e *oauth.AuthError) error {
	v := url.Values{"error": {e.Err.Code}, "error_description": {e.Err.Description}}
	return h.sendAuthResponse(c, e.RedirectURI, e.Mode, e.State, v)
}

// sendAuthResponse sends the response parameters v, with state and iss
// (RFC 9207), back to redirectURI in mode: added to its query, keeping
// any query it already has; in its fragment (registered redirect URIs
// have none, RFC 6749 §3.1.2); or form_posted.
func (h *Handler) sendAuthResponse(c echo.Context, redirectURI, mode, state string, v url.Values) error {
	if state != "" {
		v.Set("state", state)
	}
	v.Set("iss", h.cfg.Issuer)
	// A code or token in a Location header is no more cacheable than in
	// a page (RFC 6749 §5.1 asks it of the token endpoint's answer).
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	switch mode {
	case oauth.ModeFormPost:
		return h.formPost(c, redirectURI, v)
	case oauth.ModeFragment:
		return c.Redirect(http.StatusFound, redirectURI+"#"+v.Encode())
	}
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	return c.Redirect(http.StatusFound, redirectURI+sep+v.Encode())
}

// authorizeServerError shows an error page for a failure of ours: with the
// request in an unknown state, sending the user back is not safe.
func (h *Handler) authorizeServerError(c echo.Context, err error) error {
	h.serverError(c, "authorize", err)
	return h.authorizeFailed(c)
}

// authorizeFailed is authorizeServerError's page, for a failure already
// logged.
func (h *Handler) authorizeFailed(c echo.Context) error {
	return h.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The server could not complete the request. Try again in a moment.")
}
