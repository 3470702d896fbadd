package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// frontChannelRP is a relying party of the implicit and hybrid flows
// (OpenID Connect Core §3.2, §3.3): go-oidc for discovery and ID token
// verification, x/oauth2 for the request and the code exchange. Its
// client may use every response type served.
type frontChannelRP struct {
	env      *testEnv
	client   *models.Client
	user     *models.User
	provider *oidc.Provider
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
}

const (
	frontChannelRedirect = "http://127.0.0.1/rp/front"
	frontChannelPassword = "front channel password"
)

func newFrontChannelRP(t *testing.T, env *testEnv, clientType, alg string) *frontChannelRP {
	t.Helper()
	user, err := env.store.UserByUsername(context.Background(), "fiona")
	if err != nil {
		user = env.createUser("fiona", frontChannelPassword, func(u *models.User) {
			u.Email, u.EmailVerified = "fiona@example.org", true
		})
	}
	client, secret := env.createClient(clientType, []string{frontChannelRedirect}, func(c *models.Client) {
		c.ResponseTypes = oauth.ResponseTypes
		c.JWTAlg = alg
	})
	provider, err := oidc.NewProvider(context.Background(), env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &frontChannelRP{
		env: env, client: client, user: user, provider: provider,
		conf: oauth2.Config{
			ClientID: client.ClientID, ClientSecret: secret, RedirectURL: frontChannelRedirect,
			Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: client.ClientID, SupportedSigningAlgs: []string{alg}}),
	}
}

// authorize walks a new browser through login and consent for response
// type rt and returns the response's parameters, read from the fragment:
// nothing may be in the query.
func (rp *frontChannelRP) authorize(t *testing.T, rt, state, nonce string, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	opts = append(opts, oidc.Nonce(nonce), oauth2.SetAuthURLParam("response_type", rt))
	loc := rp.env.browser().authorize(rp.conf.AuthCodeURL(state, opts...), "fiona", frontChannelPassword, "allow")
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != frontChannelRedirect || loc.RawQuery != "" {
		t.Fatalf("redirected to %s, want %s with nothing in the query", loc, frontChannelRedirect)
	}
	v, err := url.ParseQuery(loc.Fragment)
	if err != nil {
		t.Fatalf("fragment %q: %v", loc.Fragment, err)
	}
	if v.Has("error") {
		t.Fatalf("got error %q (%s), want a response", v.Get("error"), v.Get("error_description"))
	}
	return v
}

// leftHalfHash is at_hash and c_hash as OpenID Connect Core §3.3.2.11
// defines them, written out here apart from the server's: the left half
// of the SHA-2 hash the ID token's alg uses, SHA-512 for EdDSA (Ed25519).
func leftHalfHash(alg, value string) string {
	var sum []byte
	if alg == jose.EdDSA {
		s := sha512.Sum512([]byte(value))
		sum = s[:]
	} else {
		s := sha256.Sum256([]byte(value))
		sum = s[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// hashLen is the length of at_hash and c_hash for alg: 16 bytes of
// SHA-256 or 32 of SHA-512, base64url without padding.
func hashLen(alg string) int {
	if alg == jose.EdDSA {
		return 43
	}
	return 22
}

// TestFrontChannelFlowsWithRealClient runs every implicit and hybrid
// response type end to end, as go-oidc and x/oauth2 see them, signed with
// RS256, ES256 and EdDSA: the fragment holds exactly what the response
// type asks for; every ID token verifies with its nonce, at_hash and
// c_hash; a code exchanges for an ID token of the same iss and sub (Core
// §3.3.3.6); an implicit access token works at /userinfo.
func TestFrontChannelFlowsWithRealClient(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{jose.RS256, jose.ES256, jose.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			conf := newFrontChannelRP(t, env, models.ClientConfidential, alg)
			pub := newFrontChannelRP(t, env, models.ClientPublic, alg)
			tests := []struct {
				rt string
				rp *frontChannelRP
			}{
				{"id_token", conf},
				{"id_token token", conf},
				{"code id_token", conf},
				{"code token", conf},
				{"code id_token token", conf},
				// A public client: no PKCE without a code, S256 with one.
				{"id_token token", pub},
				{"code id_token token", pub},
			}
			for _, tt := range tests {
				t.Run(tt.rt+" "+tt.rp.client.ClientType, func(t *testing.T) {
					runFrontChannelFlow(t, tt.rp, tt.rt, alg)
				})
			}
		})
	}
}

func runFrontChannelFlow(t *testing.T, rp *frontChannelRP, rt, alg string) {
	ctx := context.Background()
	env := rp.env
	state, nonce := "st-"+models.NewID(), "n-"+models.NewID()
	var verifierOpt []oauth2.AuthCodeOption
	var opts []oauth2.AuthCodeOption
	if rp.client.IsPublic() && oauth.ResponseTypeHas(rt, "code") {
		v := oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(v))
		verifierOpt = append(verifierOpt, oauth2.VerifierOption(v))
	}
	v := rp.authorize(t, rt, state, nonce, opts...)

	wantCode, wantToken, wantID := oauth.ResponseTypeHas(rt, "code"), oauth.ResponseTypeHas(rt, "token"), oauth.ResponseTypeHas(rt, "id_token")
	want := []string{"iss", "state"}
	if wantCode {
		want = append(want, "code")
	}
	if wantToken {
		want = append(want, "access_token", "token_type", "expires_in", "scope")
	}
	if wantID {
		want = append(want, "id_token")
	}
	slices.Sort(want)
	var got []string
	for k := range v {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("response parameters = %v, want %v (no refresh token from the authorization endpoint)", got, want)
	}
	if v.Get("state") != state || v.Get("iss") != env.issuer {
		t.Errorf("state, iss = %q, %q; want %q, %q (RFC 9207)", v.Get("state"), v.Get("iss"), state, env.issuer)
	}
	code, access := v.Get("code"), v.Get("access_token")
	if wantToken {
		if v.Get("token_type") != "Bearer" || v.Get("expires_in") != "3600" || v.Get("scope") != "openid email" {
			t.Errorf("token_type, expires_in, scope = %q, %q, %q; want Bearer, 3600, openid email", v.Get("token_type"), v.Get("expires_in"), v.Get("scope"))
		}
		// Stored as /token's are: its hash only, no refresh token.
		var row models.Token
		if err := env.store.DB().Where("access_token_hash = ?", oauth.HashToken(access)).Take(&row).Error; err != nil {
			t.Fatalf("the access token's row: %v", err)
		}
		if row.RefreshTokenHash != nil || row.ClientID != rp.client.ID || row.UserID == nil || *row.UserID != rp.user.ID {
			t.Errorf("token row = %+v, want the user's and client's, without a refresh token", row)
		}
	}

	var front *oidc.IDToken
	if wantID {
		idt, err := rp.verifier.Verify(ctx, v.Get("id_token"))
		if err != nil {
			t.Fatalf("verify id token: %v", err)
		}
		front = idt
		if idt.Nonce != nonce || idt.Subject != rp.user.Subject {
			t.Errorf("nonce, sub = %q, %q; want %q, %q", idt.Nonce, idt.Subject, nonce, rp.user.Subject)
		}
		var claims struct {
			CHash  string `json:"c_hash"`
			AtHash string `json:"at_hash"`
			Email  string `json:"email"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatalf("id token claims: %v", err)
		}
		if wantToken {
			if err := idt.VerifyAccessToken(access); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			if len(claims.AtHash) != hashLen(alg) || claims.AtHash != leftHalfHash(alg, access) {
				t.Errorf("at_hash = %q, want %q (%d characters for %s)", claims.AtHash, leftHalfHash(alg, access), hashLen(alg), alg)
			}
		} else if claims.AtHash != "" {
			t.Errorf("at_hash = %q without an access token, want none", claims.AtHash)
		}
		if wantCode {
			if len(claims.CHash) != hashLen(alg) || claims.CHash != leftHalfHash(alg, code) {
				t.Errorf("c_hash = %q, want %q (%d characters for %s)", claims.CHash, leftHalfHash(alg, code), hashLen(alg), alg)
			}
		} else if claims.CHash != "" {
			t.Errorf("c_hash = %q without a code, want none", claims.CHash)
		}
		// Core §5.4: when no access token is issued at all (id_token
		// alone), the scopes' claims are in the ID token; otherwise
		// /userinfo has them.
		if wantEmail := rt == "id_token"; (claims.Email == "fiona@example.org") != wantEmail {
			t.Errorf("email in the ID token = %q; want it there: %v", claims.Email, wantEmail)
		}
	}

	if wantToken {
		info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"}))
		if err != nil {
			t.Fatalf("userinfo with the access token from the fragment: %v", err)
		}
		if info.Subject != rp.user.Subject || info.Email != "fiona@example.org" {
			t.Errorf("userinfo = %+v, want fiona's sub and email", info)
		}
	}

	if !wantCode {
		return
	}
	tok, err := rp.conf.Exchange(ctx, code, verifierOpt...)
	if err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	back, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify the token endpoint's id token: %v", err)
	}
	if err := back.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("token endpoint at_hash: %v", err)
	}
	if back.Nonce != nonce || back.Subject != rp.user.Subject {
		t.Errorf("token endpoint nonce, sub = %q, %q; want %q, %q", back.Nonce, back.Subject, nonce, rp.user.Subject)
	}
	if front != nil && (back.Issuer != front.Issuer || back.Subject != front.Subject) {
		t.Errorf("iss, sub from /token = %q, %q; want the authorization response's %q, %q (Core §3.3.3.6)", back.Issuer, back.Subject, front.Issuer, front.Subject)
	}
	if !wantToken {
		return
	}
	// The access token came from the code too: when the code is used
	// again, it is revoked with the rest (RFC 6749 §4.1.2).
	if _, err := rp.conf.Exchange(ctx, code, verifierOpt...); err == nil {
		t.Fatalf("the code was exchanged twice")
	}
	if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"})); err == nil {
		t.Errorf("userinfo with the front-channel access token after the code's reuse: want 401")
	}
}

// frontChannelRig is a rig with two more clients that may use every
// response type served, one confidential, one public.
func frontChannelRig(t *testing.T) (r *rig, conf, pub *models.Client) {
	r = newRig(t)
	conf, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = oauth.ResponseTypes })
	pub, _ = r.env.createClient(models.ClientPublic, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = oauth.ResponseTypes })
	r.keep(secret)
	return r, conf, pub
}

// frontChannelParams is a valid request of response type rt for client,
// with a nonce and, for a public client's code, an S256 challenge.
func frontChannelParams(client *models.Client, rt string) url.Values {
	v := url.Values{
		"client_id": {client.ClientID}, "redirect_uri": {cbURI}, "response_type": {rt},
		"scope": {"openid email"}, "state": {"st-front"}, "nonce": {"n-front"},
	}
	if client.IsPublic() && oauth.ResponseTypeHas(rt, "code") {
		v.Set("code_challenge", s256(pkceVerifier))
		v.Set("code_challenge_method", "S256")
	}
	return v
}

// wantAuthError checks the parameters of an authorization error response,
// wherever they came: exact error, a description, state, iss, and
// nothing issued.
func wantAuthError(t *testing.T, v url.Values, issuer, wantError, wantState string) {
	t.Helper()
	if got := v.Get("error"); got != wantError {
		t.Errorf("error = %q (%s), want %q", got, v.Get("error_description"), wantError)
	}
	if v.Get("error_description") == "" {
		t.Errorf("error_description is empty, want a description")
	}
	if got, ok := v["state"]; wantState == "" && ok || wantState != "" && (len(got) != 1 || got[0] != wantState) {
		t.Errorf("state = %q, want %q", got, wantState)
	}
	if got := v.Get("iss"); got != issuer {
		t.Errorf("iss = %q, want %q", got, issuer)
	}
	for _, k := range []string{"code", "access_token", "id_token"} {
		if v.Has(k) {
			t.Errorf("an error response carries %s", k)
		}
	}
}

// wantFragmentError checks p is a redirect to cbURI with an error in the
// fragment and nothing in the query.
func (r *rig) wantFragmentError(t *testing.T, p page, wantError, wantState string) {
	t.Helper()
	loc := p.location()
	if p.status != http.StatusFound || loc == nil {
		t.Fatalf("got %d at %s, want a 302 to %s:\n%.500s", p.status, p.url, cbURI, p.body)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != cbURI || loc.RawQuery != "" {
		t.Fatalf("redirected to %s, want %s with the error in the fragment only", loc, cbURI)
	}
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	v, err := url.ParseQuery(loc.Fragment)
	if err != nil {
		t.Fatalf("fragment %q: %v", loc.Fragment, err)
	}
	wantAuthError(t, v, r.env.issuer, wantError, wantState)
}

// frontChannelErrorRow is a refused implicit or hybrid request: where its
// error must land (oauth.ModeFragment, ModeFormPost or ModeQuery).
type frontChannelErrorRow struct {
	name      string
	client    *models.Client
	rt        string
	loggedIn  bool
	deny      bool // the user signs in and presses Deny
	edit      func(url.Values)
	wantError string
	wantMode  string
}

// runFrontChannelErrors sends each row's request and checks the error,
// its state and mode, and that nothing was parked, issued or consented.
func runFrontChannelErrors(t *testing.T, r *rig, rows []frontChannelErrorRow) {
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			b := r.env.browser()
			if tt.loggedIn {
				r.login(b)
			}
			before := r.counts()
			v := frontChannelParams(tt.client, tt.rt)
			if tt.edit != nil {
				tt.edit(v)
			}
			p := b.get("/authorize?" + v.Encode())
			if tt.deny {
				p = b.decide(b.submitLogin(p, testUser, testPassword), "deny")
			}
			switch tt.wantMode {
			case oauth.ModeFragment:
				r.wantFragmentError(t, p, tt.wantError, "st-front")
			case oauth.ModeFormPost:
				wantAuthError(t, r.wantFormPost(t, p, cbURI), r.env.issuer, tt.wantError, "st-front")
			default:
				r.wantRedirectError(t, p, cbURI, tt.wantError, "st-front")
			}
			r.wantUnchanged(t, before, "auth_requests", "codes", "tokens", "user_consents")
		})
	}
}

// TestHybridErrors: refused hybrid requests (PARITY §2 step 3 onwards),
// their errors in the fragment unless the request asked for another mode.
func TestHybridErrors(t *testing.T) {
	t.Parallel()
	r, conf, pub := frontChannelRig(t)
	set := func(k, val string) func(url.Values) { return func(v url.Values) { v.Set(k, val) } }
	rows := []frontChannelErrorRow{
		{name: "code id_token without nonce", client: conf, rt: "code id_token", edit: func(v url.Values) { v.Del("nonce") },
			wantError: oauth.InvalidRequest, wantMode: oauth.ModeFragment},
		{name: "code id_token token without nonce, form_post", client: conf, rt: "code id_token token",
			edit: func(v url.Values) { v.Del("nonce"); v.Set("response_mode", "form_post") }, wantError: oauth.InvalidRequest, wantMode: oauth.ModeFormPost},
		{name: "not allowed for the client", client: r.conf, rt: "code id_token", wantError: oauth.UnauthorizedClient, wantMode: oauth.ModeFragment},
		{name: "not allowed, values in another order", client: r.conf, rt: "token code", wantError: oauth.UnauthorizedClient, wantMode: oauth.ModeFragment},
		{name: "code token in the query", client: conf, rt: "code token", edit: set("response_mode", "query"),
			wantError: oauth.InvalidRequest, wantMode: oauth.ModeQuery},
		{name: "code id_token in the query", client: conf, rt: "code id_token", edit: set("response_mode", "query"),
			wantError: oauth.InvalidRequest, wantMode: oauth.ModeQuery},
		{name: "without openid", client: conf, rt: "code token", edit: set("scope", "email"), wantError: oauth.InvalidScope, wantMode: oauth.ModeFragment},
		{name: "public client without PKCE", client: pub, rt: "code id_token",
			edit: func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, wantError: oauth.InvalidRequest, wantMode: oauth.ModeFragment},
		{name: "public client with PKCE plain", client: pub, rt: "code token",
			edit: func(v url.Values) { v.Set("code_challenge", pkceVerifier); v.Set("code_challenge_method", "plain") }, wantError: oauth.InvalidRequest, wantMode: oauth.ModeFragment},
		{name: "public client with a short challenge, form_post", client: pub, rt: "code id_token token",
			edit: func(v url.Values) { v.Set("code_challenge", "abc"); v.Set("response_mode", "form_post") }, wantError: oauth.InvalidRequest, wantMode: oauth.ModeFormPost},
		{name: "prompt=none without a session", client: conf, rt: "code id_token", edit: set("prompt", "none"),
			wantError: oauth.LoginRequired, wantMode: oauth.ModeFragment},
		{name: "prompt=none without consent", client: conf, rt: "code id_token token", loggedIn: true, edit: set("prompt", "none"),
			wantError: oauth.ConsentRequired, wantMode: oauth.ModeFragment},
		{name: "prompt=none without a session, form_post", client: conf, rt: "code token",
			edit: func(v url.Values) { v.Set("prompt", "none"); v.Set("response_mode", "form_post") }, wantError: oauth.LoginRequired, wantMode: oauth.ModeFormPost},
		{name: "denied", client: conf, rt: "code id_token", deny: true, wantError: oauth.AccessDenied, wantMode: oauth.ModeFragment},
		{name: "denied, form_post", client: pub, rt: "code id_token token", deny: true, edit: set("response_mode", "form_post"),
			wantError: oauth.AccessDenied, wantMode: oauth.ModeFormPost},
	}
	runFrontChannelErrors(t, r, rows)
}

// TestStatementsFrontChannel bounds the statements of a silent implicit
// or hybrid authorization, as TestStatementsPerFlow does for the code
// flow's (3). All read the session and its user; an ID token alone
// writes nothing (2); an access token is written with its audit row and
// day count in one transaction (5), a code beside it in the same (6).
func TestStatementsFrontChannel(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("stmts", "stmts password 1")
	redirect := "http://127.0.0.1/cb"
	client, _ := env.createClient(models.ClientConfidential, []string{redirect}, func(c *models.Client) {
		c.RequireConsent = false
		c.ResponseTypes = oauth.ResponseTypes
	})
	q := url.Values{"client_id": {client.ClientID}, "redirect_uri": {redirect}, "scope": {"openid email"}, "nonce": {"n"}}
	b := env.browser()
	signIn := url.Values{"client_id": {client.ClientID}, "redirect_uri": {redirect}, "scope": {"openid"}, "response_type": {"code"}}
	b.authorize(env.issuer+"/authorize?"+signIn.Encode(), "stmts", "stmts password 1", "allow")
	sc := countStatements(t, env.store)
	var last int64
	for _, tt := range []struct {
		rt  string
		max int64
	}{{"id_token", 2}, {"id_token token", 5}, {"code id_token token", 6}} {
		q.Set("response_type", tt.rt)
		b.authorize(env.issuer+"/authorize?"+q.Encode(), "", "", "") // warm
		sc.since(&last)
		back := b.authorize(env.issuer+"/authorize?"+q.Encode(), "", "", "")
		got := sc.since(&last)
		t.Logf("statements: %s %d", tt.rt, got)
		if !strings.Contains(back.Fragment, "id_token=") {
			t.Fatalf("%s: redirect %s, want an ID token in the fragment", tt.rt, back)
		}
		if got < 1 || got > tt.max {
			t.Errorf("%s: %d statements, want 1 to %d", tt.rt, got, tt.max)
		}
	}
}
