package oauth

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// AuthParams names every parameter an authorization request may carry that
// /authorize reads; each must come at most once (RFC 6749 §3.1).
var AuthParams = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "prompt", "max_age",
	"code_challenge", "code_challenge_method", "login_hint", "id_token_hint", "ui_locales",
	"response_mode", "request", "request_uri", "display", "claims", "acr_values",
}

// ParamLimits bound, tighter than any parameter's general limit, the
// free-form authorization parameters that are parked with the request
// while the user signs in, so that an anonymous request cannot store
// kilobytes. They are checked in this order; real values are far shorter
// (a state or nonce is a random value or a small signed blob, a login hint
// an email address).
var ParamLimits = []struct {
	Name string
	Max  int
}{
	{"state", 1024},
	{"nonce", 512},
	{"login_hint", 512},
}

// AuthClient is what validating an authorization request needs to know of
// the client its client_id names.
type AuthClient struct {
	RedirectURIs  []string // registered, matched by exact string
	ResponseTypes []string // the client may use
	Scopes        []string // the client may ask for
	Public        bool     // cannot keep a secret (RFC 6749 §2.1)
}

// AuthSettings is what validating an authorization request needs to know
// of the server.
type AuthSettings struct {
	ResponseTypes []string // served; see ResponseTypes
}

// DefaultAuthSettings are the settings of this server's build.
func DefaultAuthSettings() AuthSettings {
	return AuthSettings{ResponseTypes: ResponseTypes}
}

// AuthRequest is an authorization request that passed validation
// (OpenID Connect Core §3.1.2.1).
type AuthRequest struct {
	ClientID     string
	RedirectURI  string
	ResponseType string   // in its normal order (NormaliseResponseType)
	ResponseMode string   // the one the response goes back in: asked for, or the response type's default
	Scopes       []string // requested and allowed for the client, without repeats, never empty
	State        string
	Nonce        string
	Prompts      []string // without repeats; "none" only alone
	MaxAge       *int     // nil when not sent
	// CodeChallenge and CodeChallengeMethod are RFC 7636 PKCE; both empty
	// when not used.
	CodeChallenge       string
	CodeChallengeMethod string
	LoginHint           string
	IDTokenHint         string
	UILocales           string
}

// AuthError is a refused authorization request. RFC 6749 §4.1.2.1: when
// the client or the redirect URI is in doubt, the error is Displayed to
// the user and never redirected; any other error goes back to RedirectURI
// with State, in Mode: the query, the fragment (RFC 6749 §4.2.2.1, OAuth
// 2.0 Multiple Response Type Encoding Practices §2.1) or a form_post
// (OAuth 2.0 Form Post Response Mode §2).
type AuthError struct {
	Err       *Error
	Displayed bool
	// Title heads the error page of a Displayed error; Err.Description is
	// its text, written for the user.
	Title       string
	RedirectURI string
	State       string
	Mode        string // ModeQuery, ModeFragment or ModeFormPost
}

func (e *AuthError) Error() string {
	if e.Displayed {
		return "displayed: " + e.Err.Error()
	}
	return "redirected: " + e.Err.Error()
}

func (e *AuthError) Unwrap() error { return e.Err }

// AuthClientID returns the client_id whose client ParseAuthRequest needs,
// or "" when it will refuse the request before looking at the client
// (client_id or redirect_uri sent more than once, client_id missing).
func AuthClientID(v url.Values) string {
	if len(v["client_id"]) != 1 || len(v["redirect_uri"]) > 1 {
		return ""
	}
	return v["client_id"][0]
}

// ParseAuthRequest validates an authorization request's parameters v (from
// the query on GET, the form body on POST), in the order of PARITY §2:
// client, redirect URI, then everything that can be redirected. client is
// the client registered under AuthClientID(v), nil when there is none.
// The error, when not nil, says whether to display or redirect it.
func ParseAuthRequest(v url.Values, client *AuthClient, s AuthSettings) (*AuthRequest, *AuthError) {
	displayed := func(title, text string) *AuthError {
		return &AuthError{Err: &Error{Code: InvalidRequest, Description: text, Status: 400}, Displayed: true, Title: title}
	}
	// Steps 1 and 2: until client_id and redirect_uri are known good,
	// nothing may be redirected anywhere.
	for _, name := range []string{"client_id", "redirect_uri"} {
		if len(v[name]) > 1 {
			return nil, displayed("Invalid request", "The parameter "+name+" was sent more than once.")
		}
	}
	clientID := v.Get("client_id")
	if clientID == "" {
		return nil, displayed("Unknown application", "The request does not name an application (client_id is missing).")
	}
	if client == nil {
		e := displayed("Unknown application", "No application is registered with this client_id.")
		e.Err.Code = InvalidClient
		return nil, e
	}
	redirectURI := v.Get("redirect_uri")
	if redirectURI == "" || !slices.Contains(client.RedirectURIs, redirectURI) {
		return nil, displayed("Invalid redirect URI",
			"The redirect_uri is missing or is not registered for this application. It must match a registered URI exactly.")
	}

	// Step 3: from here every error goes back to the client.
	state, stateErr := single(v, "state")
	mode := errorMode(v)
	fail := func(code, format string, args ...any) *AuthError {
		return &AuthError{Err: Errorf(code, format, args...), RedirectURI: redirectURI, State: state, Mode: mode}
	}
	if stateErr != nil {
		state = ""
		return nil, fail(InvalidRequest, "%s", stateErr.Error())
	}
	for _, name := range AuthParams {
		if _, err := single(v, name); err != nil {
			return nil, fail(InvalidRequest, "%s", err.Error())
		}
	}
	for _, limit := range ParamLimits {
		if len(v.Get(limit.Name)) > limit.Max {
			if limit.Name == "state" {
				state = "" // not echoed: it is what was refused
			}
			return nil, fail(InvalidRequest, "%s must be at most %d bytes", limit.Name, limit.Max)
		}
	}

	// The values of a response type may come in any order (RFC 6749
	// §3.1.1); it is compared, stored and answered in its normal order.
	responseType := NormaliseResponseType(v.Get("response_type"))
	switch {
	case responseType == "":
		return nil, fail(InvalidRequest, "response_type is required")
	case !slices.Contains(KnownResponseTypes, responseType):
		return nil, fail(UnsupportedResponseType, "response_type %q is not supported", responseType)
	case !slices.Contains(s.ResponseTypes, responseType):
		return nil, fail(UnsupportedResponseType, "response_type %q is not served by this server", responseType)
	case !slices.Contains(client.ResponseTypes, responseType):
		return nil, fail(UnauthorizedClient, "this client may not use response_type %s", responseType)
	}
	responseMode := v.Get("response_mode")
	switch {
	case responseMode == "":
		responseMode = DefaultResponseMode(responseType)
	case !slices.Contains(ResponseModes, responseMode):
		return nil, fail(InvalidRequest, "response_mode %q is not supported", responseMode)
	case !ModeCarries(responseMode, responseType):
		// Multiple Response Type Encoding Practices §5: tokens never
		// travel in the query, where logs and Referer headers keep them.
		return nil, fail(InvalidRequest, "response_mode query cannot carry the tokens of response_type %s", responseType)
	}

	// Only scopes the client may ask for are granted (PARITY §5); others
	// are dropped, as RFC 6749 §3.3 allows.
	scopes := AllowedScopes(ParseScope(v.Get("scope")), client.Scopes)
	if len(scopes) == 0 {
		return nil, fail(InvalidScope, "no requested scope is allowed for this client")
	}
	// The implicit and hybrid flows are OpenID Connect's (Core §3.2.2.1,
	// §3.3.2.1): without openid there is no such request (PARITY §2).
	if responseType != "code" && !slices.Contains(scopes, "openid") {
		return nil, fail(InvalidScope, "response_type %s needs the openid scope", responseType)
	}
	// An ID token from the authorization endpoint can be replayed unless
	// it is bound to the RP's session by a nonce: REQUIRED (Core
	// §3.2.2.1, §3.3.2.11).
	if ResponseTypeHas(responseType, "id_token") && v.Get("nonce") == "" {
		return nil, fail(InvalidRequest, "nonce is required when response_type includes id_token")
	}

	// PKCE protects a code (RFC 7636 §1); a response type that returns
	// none ignores code_challenge, as any unknown parameter (RFC 6749
	// §3.1), and so needs none from a public client.
	challenge, method := v.Get("code_challenge"), v.Get("code_challenge_method")
	if !ResponseTypeHas(responseType, "code") {
		challenge, method = "", ""
	}
	switch {
	case challenge == "" && method != "":
		return nil, fail(InvalidRequest, "code_challenge_method without code_challenge")
	case challenge == "" && client.Public && ResponseTypeHas(responseType, "code"):
		return nil, fail(InvalidRequest, "public clients must use PKCE (code_challenge)")
	case challenge != "":
		// A missing method means plain (RFC 7636 §4.3), which is refused
		// like any other method but S256 (RFC 9700 §2.1.1).
		if !slices.Contains(PKCEMethods, method) {
			return nil, fail(InvalidRequest, "code_challenge_method must be S256")
		}
		if !ValidPKCEValue(challenge) {
			return nil, fail(InvalidRequest, "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]")
		}
	}

	// OpenID Connect Core §6: request objects are not supported yet.
	if v.Has("request") {
		return nil, fail(RequestNotSupported, "request objects are not supported")
	}
	if v.Has("request_uri") {
		return nil, fail(RequestURINotSupported, "request_uri is not supported")
	}

	prompts := ParseScope(v.Get("prompt")) // a set, like scope: repeats dropped
	for _, p := range prompts {
		if !slices.Contains(Prompts, p) {
			return nil, fail(InvalidRequest, "prompt %q is not supported", p)
		}
	}
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		return nil, fail(InvalidRequest, "prompt=none cannot be combined with other values")
	}

	var maxAge *int
	if s := v.Get("max_age"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fail(InvalidRequest, "max_age must be a non-negative integer")
		}
		maxAge = &n
	}

	req := &AuthRequest{
		ClientID:     clientID,
		RedirectURI:  redirectURI,
		ResponseType: responseType,
		ResponseMode: responseMode,
		Scopes:       scopes,
		State:        state,
		Nonce:        v.Get("nonce"),
		Prompts:      prompts,
		MaxAge:       maxAge,
		LoginHint:    v.Get("login_hint"),
		IDTokenHint:  v.Get("id_token_hint"),
		UILocales:    v.Get("ui_locales"),
	}
	if challenge != "" {
		req.CodeChallenge, req.CodeChallengeMethod = challenge, method
	}
	return req, nil
}

// single returns a parameter's one value; one sent more than once is an
// error (RFC 6749 §3.1).
func single(v url.Values, name string) (string, error) {
	switch vals := v[name]; len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", fmt.Errorf("parameter %s was sent more than once", name)
}

// errorMode is where an error about this request goes: the response_mode
// asked for when it is a served one and sent once (an error carries no
// token, so even a query asked for with a token response type is where
// the client looks), else the default of the response type (OAuth 2.0
// Multiple Response Type Encoding Practices §2.1, §5).
func errorMode(v url.Values) string {
	if m := v["response_mode"]; len(m) == 1 && slices.Contains(ResponseModes, m[0]) {
		return m[0]
	}
	rt := v["response_type"]
	if len(rt) != 1 {
		return ModeQuery
	}
	return DefaultResponseMode(rt[0])
}

// ResponseTypeHas reports whether the response type rt includes value
// ("code", "id_token" or "token").
func ResponseTypeHas(rt, value string) bool {
	for v := range strings.FieldsSeq(rt) {
		if v == value {
			return true
		}
	}
	return false
}

// DefaultResponseMode is the response mode of rt when none is asked for
// (Multiple Response Type Encoding Practices §2.1, §5): the query for
// code, and for a response type that cannot be read; the fragment for
// any that returns a token or an ID token.
func DefaultResponseMode(rt string) string {
	if ResponseTypeHas(rt, "token") || ResponseTypeHas(rt, "id_token") {
		return ModeFragment
	}
	return ModeQuery
}

// ModeCarries reports whether a response of rt may be sent in mode:
// every mode may carry a code, only the query may not carry a token or ID
// token (Multiple Response Type Encoding Practices §5).
func ModeCarries(mode, rt string) bool {
	return mode != ModeQuery || DefaultResponseMode(rt) == ModeQuery
}

// NormaliseResponseType orders a multi-valued response type the way the
// specs list it, single-spaced, since its values may come in any order
// (RFC 6749 §3.1.1). A value repeated stays repeated, so that such a
// response type is not a known one.
func NormaliseResponseType(rt string) string {
	if slices.Contains(KnownResponseTypes, rt) {
		return rt // already normal, as nearly every request's is
	}
	parts := strings.Fields(rt)
	order := map[string]int{"code": 0, "id_token": 1, "token": 2}
	slices.SortFunc(parts, func(a, b string) int { return order[a] - order[b] })
	return strings.Join(parts, " ")
}

// AllowedScopes keeps, in order, the requested scopes that are allowed.
func AllowedScopes(requested, allowed []string) []string {
	var out []string
	for _, s := range requested {
		if slices.Contains(allowed, s) {
			out = append(out, s)
		}
	}
	return out
}
