package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// TestDiscoveryDocument checks the provider metadata against OpenID
// Connect Discovery 1.0 §3 and the lists of what is served (oauth's
// lists, the default grants, the four signing algorithms, PKCE, the three
// client authentication methods).
func TestDiscoveryDocument(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	resp, raw := getBody(t, env.issuer+"/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /.well-known/openid-configuration: got %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("discovery document is not a JSON object: %v\n%s", err, raw)
	}

	// §3: issuer is REQUIRED and identical to the issuer the provider was
	// asked for; the endpoints are absolute URLs under it.
	if doc["issuer"] != env.issuer {
		t.Errorf("issuer = %v, want %s", doc["issuer"], env.issuer)
	}
	iss, _ := url.Parse(env.issuer)
	for _, tt := range []struct{ field, path string }{
		{"authorization_endpoint", "/authorize"},
		{"token_endpoint", "/token"},
		{"userinfo_endpoint", "/userinfo"},
		{"revocation_endpoint", "/revoke"},
		{"introspection_endpoint", "/introspect"},
		{"end_session_endpoint", "/end-session"},
		{"jwks_uri", "/jwks"},
	} {
		s, _ := doc[tt.field].(string)
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || u.Scheme != iss.Scheme || u.Host != iss.Host || u.RawQuery != "" || u.Fragment != "" {
			t.Errorf("%s = %q, want an absolute URL on %s", tt.field, s, env.issuer)
			continue
		}
		if s != env.issuer+tt.path {
			t.Errorf("%s = %q, want %s", tt.field, s, env.issuer+tt.path)
		}
		// And it really is an endpoint: it is routed, not a 404.
		if resp, _ := getBody(t, s); resp.StatusCode == http.StatusNotFound {
			t.Errorf("GET %s (%s) answers 404, want a served endpoint", s, tt.field)
		}
	}

	tests := []struct {
		field string
		// exact: the list must be exactly want (order aside); otherwise
		// it must hold every value in want.
		exact bool
		want  []string
	}{
		// The code, implicit and hybrid flows; plain token is not served
		// (authorize answers it with unsupported_response_type).
		{"response_types_supported", true, []string{"code", "id_token", "id_token token", "code id_token", "code token", "code id_token token"}},
		{"response_modes_supported", true, []string{"query", "fragment", "form_post"}},
		{"prompt_values_supported", true, []string{"none", "login", "consent", "select_account"}},
		{"subject_types_supported", false, []string{"public"}},
		// §3: RS256 MUST be included; each has its key, HS256 the client's secret.
		{"id_token_signing_alg_values_supported", true, []string{"RS256", "ES256", "EdDSA", "HS256"}},
		{"scopes_supported", false, []string{"openid", "profile", "email", "phone", "address"}},
		{"claims_supported", false, []string{
			"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
			"name", "given_name", "family_name", "preferred_username",
			"email", "email_verified", "phone_number", "phone_number_verified", "address",
		}},
		{"grant_types_supported", true, []string{"authorization_code", "refresh_token", "client_credentials", "implicit"}},
		{"code_challenge_methods_supported", false, []string{"S256"}},
		{"token_endpoint_auth_methods_supported", false, []string{"client_secret_basic", "client_secret_post", "none"}},
		{"revocation_endpoint_auth_methods_supported", false, []string{"client_secret_basic", "client_secret_post", "none"}},
		{"introspection_endpoint_auth_methods_supported", false, []string{"client_secret_basic", "client_secret_post", "none"}},
	}
	for _, tt := range tests {
		got, ok := stringList(doc[tt.field])
		if !ok {
			t.Errorf("%s = %v, want a list of strings", tt.field, doc[tt.field])
			continue
		}
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s = %q, want it to include %q", tt.field, got, w)
			}
		}
		if tt.exact {
			g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(g, w) {
				t.Errorf("%s = %q, want exactly %q", tt.field, got, tt.want)
			}
		}
		if dup := firstDuplicate(got); dup != "" {
			t.Errorf("%s = %q lists %q twice", tt.field, got, dup)
		}
	}

	// Request objects are refused (request_not_supported), so the
	// metadata must say so: request_uri_parameter_supported defaults to
	// true when it is left out (§3).
	for _, field := range []string{"request_parameter_supported", "request_uri_parameter_supported", "claims_parameter_supported"} {
		if got, ok := doc[field].(bool); !ok || got {
			t.Errorf("%s = %v, want false", field, doc[field])
		}
	}
	// RFC 9207 §3: every authorization response carries iss.
	if got := doc["authorization_response_iss_parameter_supported"]; got != true {
		t.Errorf("authorization_response_iss_parameter_supported = %v, want true", got)
	}
}

// TestJWKSDocument checks /jwks (RFC 7517, RFC 7518 §6, RFC 8037): public
// RSA, EC and OKP keys only, each with kid, alg and use, cacheable, and holding the key
// that signs the ID tokens the server issues.
func TestJWKSDocument(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	resp, raw := getBody(t, r.env.issuer+"/jwks")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /jwks: got %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	cc := resp.Header.Get("Cache-Control")
	if m := regexp.MustCompile(`(?:^|[,\s])max-age=(\d+)`).FindStringSubmatch(cc); m == nil {
		t.Errorf("Cache-Control = %q, want a max-age", cc)
	} else if n, _ := strconv.Atoi(m[1]); n <= 0 {
		t.Errorf("Cache-Control = %q, want a positive max-age", cc)
	}
	if strings.Contains(cc, "no-store") || strings.Contains(cc, "private") {
		t.Errorf("Cache-Control = %q, want a cacheable answer", cc)
	}

	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("/jwks is not a JWK Set: %v\n%s", err, raw)
	}
	if len(set.Keys) == 0 {
		t.Fatalf("/jwks has no keys, want the signing key")
	}
	var kids []string
	// One key per server-key algorithm, each with its own public members
	// (RFC 7518 §6.2, §6.3; RFC 8037 §2); HS256 has no key here.
	public := map[string]struct {
		kty, crv string
		members  []string
	}{
		"RS256": {"RSA", "", []string{"n", "e"}},
		"ES256": {"EC", "P-256", []string{"x", "y"}},
		"EdDSA": {"OKP", "Ed25519", []string{"x"}},
	}
	perAlg := map[string]int{}
	for i, k := range set.Keys {
		alg, _ := k["alg"].(string)
		want, ok := public[alg]
		if !ok {
			t.Errorf("key %d: alg = %v, want RS256, ES256 or EdDSA", i, k["alg"])
			continue
		}
		perAlg[alg]++
		for field, w := range map[string]string{"kty": want.kty, "use": "sig"} {
			if got := k[field]; got != w {
				t.Errorf("key %d: %s = %v, want %s", i, field, got, w)
			}
		}
		if want.crv != "" && k["crv"] != want.crv {
			t.Errorf("key %d: crv = %v, want %s", i, k["crv"], want.crv)
		}
		kid, _ := k["kid"].(string)
		if kid == "" {
			t.Errorf("key %d: kid = %v, want one", i, k["kid"])
		}
		if slices.Contains(kids, kid) {
			t.Errorf("key %d: kid %q is not unique", i, kid)
		}
		kids = append(kids, kid)
		for _, member := range want.members {
			s, _ := k[member].(string)
			if b, err := base64.RawURLEncoding.DecodeString(s); s == "" || err != nil || len(b) == 0 {
				t.Errorf("key %d: %s = %v, want base64url", i, member, k[member])
			}
		}
		// RFC 7518 §6.3.2: the private key members.
		for _, member := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[member]; ok {
				t.Errorf("key %d publishes the private member %q", i, member)
			}
		}
	}

	if perAlg["RS256"] != 1 || perAlg["ES256"] != 1 || perAlg["EdDSA"] != 1 {
		t.Errorf("keys per algorithm = %v, want one RS256, one ES256, one EdDSA", perAlg)
	}

	body := r.tokens(r.env.browser(), r.conf, r.secret, nil)
	idToken, _ := body["id_token"].(string)
	hdr := jwsHeader(t, idToken)
	if hdr["alg"] != "RS256" {
		t.Errorf("id_token alg = %v, want RS256", hdr["alg"])
	}
	kid, _ := hdr["kid"].(string)
	if kid == "" || !slices.Contains(kids, kid) {
		t.Errorf("id_token kid = %q, want one of /jwks's %q", kid, kids)
	}
}

// TestTrailingSlash: every path also answers with a trailing slash, with
// the same answer (PARITY §1).
func TestTrailingSlash(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	for _, tt := range []struct{ name, path string }{
		{"discovery", "/.well-known/openid-configuration"},
		{"jwks", "/jwks"},
	} {
		path := tt.path
		t.Run(tt.name, func(t *testing.T) {
			resp, want := getBody(t, env.issuer+path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: got %d, want 200", path, resp.StatusCode)
			}
			resp, got := getBody(t, env.issuer+path+"/")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s/: got %d, want 200", path, resp.StatusCode)
			}
			if string(got) != string(want) {
				t.Errorf("GET %s/ body:\n%s\nwant the body of %s:\n%s", path, got, path, want)
			}
		})
	}
	// The token endpoint's answer to the same bad request is the same with
	// or without the slash (the seed walkthrough posts to /token/).
	t.Run("token", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}
		resp1, want := postForm(t, env.issuer+"/token", form)
		resp2, got := postForm(t, env.issuer+"/token/", form)
		if resp1.StatusCode != http.StatusUnauthorized || want["error"] != "invalid_client" {
			t.Fatalf("POST /token: got %d %v, want 401 invalid_client", resp1.StatusCode, want)
		}
		if resp2.StatusCode != resp1.StatusCode || got["error"] != want["error"] {
			t.Errorf("POST /token/: got %d %v, want %d %v", resp2.StatusCode, got, resp1.StatusCode, want)
		}
	})
}

// getBody fetches target as an RP's code would and returns the body.
func getBody(t *testing.T, target string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(mustRequest(t, http.MethodGet, target, nil))
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", target, err)
	}
	return resp, body
}

// stringList converts a decoded JSON array of strings.
func stringList(v any) ([]string, bool) {
	items, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

func firstDuplicate(list []string) string {
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

// jwsHeader decodes the protected header of a compact JWS.
func jwsHeader(t *testing.T, compact string) map[string]any {
	t.Helper()
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token = %q, want a compact JWS", compact)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("id_token header: %v", err)
	}
	var hdr map[string]any
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatalf("id_token header: %v", err)
	}
	return hdr
}

// discover fetches and decodes the discovery document at base.
func discover(t *testing.T, base string) map[string]any {
	t.Helper()
	resp, raw := getBody(t, base+"/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return doc
}

// docList reads a list of strings from the document, failing when it is
// missing or empty: an advertised list that is empty proves nothing.
func docList(t *testing.T, doc map[string]any, field string) []string {
	t.Helper()
	got, ok := stringList(doc[field])
	if !ok || len(got) == 0 {
		t.Fatalf("%s = %v, want a non-empty list of strings", field, doc[field])
	}
	return got
}

// authOutcome is where an authorization request went: on to the login
// page (the request was valid), or back to the client with an error.
type authOutcome struct {
	toLogin bool
	err     string // the error sent back to the client, if any
}

// authorizeOutcome sends an authorization request for client without a
// session and reads the answer without following it: a redirect to the
// login page, or an error back to redirectURI, in the query, the fragment
// or a form_post form.
func authorizeOutcome(t *testing.T, base, redirectURI string, q url.Values) authOutcome {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther {
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("authorize: Location %q: %v", loc, err)
		}
		if strings.HasPrefix(loc, redirectURI) {
			v := u.Query()
			if v.Get("error") == "" && u.Fragment != "" {
				v, _ = url.ParseQuery(u.Fragment)
			}
			return authOutcome{err: v.Get("error")}
		}
		if u.Path == "/login" {
			return authOutcome{toLogin: true}
		}
		t.Fatalf("authorize %v: redirected to %s, want the login page or %s", q, loc, redirectURI)
	}
	if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `action="`+redirectURI) {
		return authOutcome{err: hiddenFields(string(body)).Get("error")}
	}
	t.Fatalf("authorize %v: %d, want a redirect:\n%s", q, resp.StatusCode, body)
	return authOutcome{}
}

// TestDiscoveryTruthful asks every endpoint whether it does what the
// discovery document says, under several configurations: each advertised
// response type, response mode, scope, PKCE method and prompt value is
// accepted at /authorize and each known one left out is refused; each
// advertised grant type is served at /token and each known one left out is
// unsupported_grant_type; each advertised endpoint is routed; each
// advertised client authentication method authenticates at the endpoint it
// is listed for; the signing algorithms are those of /jwks (and HS256),
// each signing an ID token.
func TestDiscoveryTruthful(t *testing.T) {
	t.Parallel()
	configs := []struct {
		name string
		vars []string
	}{
		{"defaults", nil},
		{"password grant enabled", []string{"OIDC_GRANT_TYPE_PASSWORD_ENABLE", "true"}},
		{"code grant only", []string{"OIDC_GRANT_TYPES", "authorization_code"}},
	}
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, cfg.vars...)
			doc := discover(t, r.env.issuer)
			t.Run("endpoints", func(t *testing.T) { truthfulEndpoints(t, r, doc) })
			t.Run("authorize", func(t *testing.T) { truthfulAuthorize(t, r, doc) })
			t.Run("grants", func(t *testing.T) { truthfulGrants(t, r, doc) })
			t.Run("client authentication", func(t *testing.T) { truthfulAuthMethods(t, r, doc) })
			if cfg.vars == nil {
				// The algorithms do not depend on the grant settings.
				t.Run("algorithms", func(t *testing.T) { truthfulAlgorithms(t, r, doc) })
			}
		})
	}
}

func truthfulEndpoints(t *testing.T, r *rig, doc map[string]any) {
	n := 0
	for field, v := range doc {
		if !strings.HasSuffix(field, "_endpoint") && field != "jwks_uri" {
			continue
		}
		n++
		s, _ := v.(string)
		if !strings.HasPrefix(s, r.env.issuer+"/") {
			t.Errorf("%s = %q, want a URL under %s", field, s, r.env.issuer)
			continue
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, _ := doJSON(t, mustRequest(t, method, s, nil))
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode >= 500 {
				t.Errorf("%s %s (%s): %d, want a served endpoint", method, s, field, resp.StatusCode)
			}
		}
	}
	if n < 7 {
		t.Errorf("%d endpoints advertised, want at least authorization, token, userinfo, revocation, introspection, end_session, jwks", n)
	}
	// Not served, so not advertised: there is no session iframe or
	// client registration.
	for _, field := range []string{"check_session_iframe", "registration_endpoint", "device_authorization_endpoint", "pushed_authorization_request_endpoint"} {
		if v, ok := doc[field]; ok {
			t.Errorf("%s = %v is advertised, but the server has no such endpoint", field, v)
		}
	}
}

func truthfulAuthorize(t *testing.T, r *rig, doc map[string]any) {
	types := docList(t, doc, "response_types_supported")
	modes := docList(t, doc, "response_modes_supported")
	// A confidential client allowed every advertised response type.
	client, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = types })
	params := func(responseType string) url.Values {
		return url.Values{"client_id": {client.ClientID}, "redirect_uri": {cbURI}, "response_type": {responseType},
			"scope": {"openid"}, "state": {"s"}, "nonce": {"n"}}
	}
	outcome := func(edit func(url.Values), responseType string) authOutcome {
		q := params(responseType)
		if edit != nil {
			edit(q)
		}
		return authorizeOutcome(t, r.env.issuer, cbURI, q)
	}
	for _, rt := range types {
		if o := outcome(nil, rt); !o.toLogin {
			t.Errorf("response_type=%s is advertised but answered %q", rt, o.err)
		}
	}
	for _, rt := range append(slices.Clone(oauth.KnownResponseTypes), "bogus") {
		if slices.Contains(types, rt) {
			continue
		}
		if o := outcome(nil, rt); o.err != oauth.UnsupportedResponseType {
			t.Errorf("response_type=%s is not advertised but answered %+v, want unsupported_response_type", rt, o)
		}
	}
	// Each advertised mode works with some advertised response type (a
	// mode need not suit every type: tokens never go in the query).
	for _, mode := range modes {
		ok := false
		for _, rt := range types {
			if outcome(func(q url.Values) { q.Set("response_mode", mode) }, rt).toLogin {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("response_mode=%s is advertised but no advertised response type accepts it", mode)
		}
	}
	if o := outcome(func(q url.Values) { q.Set("response_mode", "bogus") }, types[0]); o.toLogin || o.err == "" {
		t.Errorf("response_mode=bogus: %+v, want an error", o)
	}
	for _, scope := range docList(t, doc, "scopes_supported") {
		if o := outcome(func(q url.Values) { q.Set("scope", "openid "+scope) }, types[0]); !o.toLogin {
			t.Errorf("scope %s is advertised but answered %q", scope, o.err)
		}
	}
	for _, method := range docList(t, doc, "code_challenge_methods_supported") {
		o := outcome(func(q url.Values) {
			q.Set("code_challenge", s256(pkceVerifier))
			q.Set("code_challenge_method", method)
		}, "code")
		if !o.toLogin {
			t.Errorf("code_challenge_method=%s is advertised but answered %q", method, o.err)
		}
	}
	if o := outcome(func(q url.Values) { q.Set("code_challenge", pkceVerifier); q.Set("code_challenge_method", "plain") }, "code"); o.err != oauth.InvalidRequest {
		t.Errorf("code_challenge_method=plain (not advertised): %+v, want invalid_request", o)
	}
	for _, prompt := range docList(t, doc, "prompt_values_supported") {
		// Without a session prompt=none answers login_required: the
		// value is understood, not refused.
		o := outcome(func(q url.Values) { q.Set("prompt", prompt) }, "code")
		if o.err == oauth.InvalidRequest || (!o.toLogin && prompt != "none") {
			t.Errorf("prompt=%s is advertised but answered %+v", prompt, o)
		}
	}
	// RFC 9207: with authorization_response_iss_parameter_supported, an
	// error response carries iss too.
	if doc["authorization_response_iss_parameter_supported"] == true {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		q := params("code")
		q.Set("prompt", "none")
		resp, err := c.Get(r.env.issuer + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, _ := url.Parse(resp.Header.Get("Location"))
		if u == nil || u.Query().Get("error") != "login_required" || u.Query().Get("iss") != r.env.issuer {
			t.Errorf("prompt=none without a session: Location %q, want login_required with iss=%s", resp.Header.Get("Location"), r.env.issuer)
		}
	}
	// (claims_parameter_supported false: a claims parameter is ignored,
	// as OpenID Connect Core §5.5 lets a provider that does not support it.)
	for _, field := range []string{"request_parameter_supported", "request_uri_parameter_supported"} {
		if doc[field] != false {
			continue
		}
		name := strings.TrimSuffix(field, "_parameter_supported")
		if o := outcome(func(q url.Values) { q.Set(name, "x") }, "code"); o.toLogin {
			t.Errorf("%s is false but a request with %s went on to the login page", field, name)
		}
	}
}

func truthfulGrants(t *testing.T, r *rig, doc map[string]any) {
	grants := docList(t, doc, "grant_types_supported")
	// A confidential client given every grant type there is.
	client, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.GrantTypes = oauth.GrantTypes })
	r.keep(secret)
	try := func(grant string) map[string]any {
		_, body := postForm(t, r.env.issuer+"/token", url.Values{"grant_type": {grant}}, basicAuth(client.ClientID, secret))
		return body
	}
	for _, g := range grants {
		if g == "implicit" {
			// Not a /token grant (Discovery 1.0 §3): served when an
			// implicit response type is, which truthfulResponseTypes
			// asks /authorize about.
			if types := docList(t, doc, "response_types_supported"); !slices.Contains(types, "id_token") {
				t.Errorf("implicit is advertised but response_types_supported %q has no id_token", types)
			}
			continue
		}
		if body := try(g); body["error"] == oauth.UnsupportedGrantType || body["error"] == oauth.UnauthorizedClient {
			t.Errorf("grant_type=%s is advertised but /token answered %v", g, body)
		}
	}
	for _, g := range append(slices.Clone(oauth.GrantTypes), "urn:ietf:params:oauth:grant-type:device_code") {
		if slices.Contains(grants, g) {
			continue
		}
		if body := try(g); body["error"] != oauth.UnsupportedGrantType {
			t.Errorf("grant_type=%s is not advertised but /token answered %v, want unsupported_grant_type", g, body)
		}
	}
}

func truthfulAuthMethods(t *testing.T, r *rig, doc map[string]any) {
	endpoints := []struct {
		field, methodsField string
		form                url.Values
	}{
		{"token_endpoint", "token_endpoint_auth_methods_supported", url.Values{"grant_type": {"authorization_code"}, "code": {"no-such-code"}, "redirect_uri": {cbURI}}},
		{"revocation_endpoint", "revocation_endpoint_auth_methods_supported", url.Values{"token": {"no-such-token"}}},
		{"introspection_endpoint", "introspection_endpoint_auth_methods_supported", url.Values{"token": {"no-such-token"}}},
	}
	for _, ep := range endpoints {
		target, _ := doc[ep.field].(string)
		methods := docList(t, doc, ep.methodsField)
		authenticated := func(method string, form url.Values, edit ...func(*http.Request)) {
			t.Helper()
			resp, body := postForm(t, target, form, edit...)
			if resp.StatusCode == http.StatusUnauthorized || body["error"] == oauth.InvalidClient || resp.StatusCode >= 500 {
				t.Errorf("%s with %s: %d %v, want the client authenticated", ep.field, method, resp.StatusCode, body)
			}
		}
		with := func(extra url.Values) url.Values {
			v := url.Values{}
			for k, vs := range ep.form {
				v[k] = vs
			}
			for k, vs := range extra {
				v[k] = vs
			}
			return v
		}
		for _, m := range methods {
			switch m {
			case "client_secret_basic":
				authenticated(m, ep.form, basicAuth(r.conf.ClientID, r.secret))
			case "client_secret_post":
				authenticated(m, with(url.Values{"client_id": {r.conf.ClientID}, "client_secret": {r.secret}}))
			case "none":
				authenticated(m, with(url.Values{"client_id": {r.pub.ClientID}, "code_verifier": {pkceVerifier}}))
			default:
				t.Errorf("%s lists %q, which this test does not know how to use", ep.methodsField, m)
			}
		}
		// private_key_jwt is not advertised, and a client assertion alone
		// authenticates no one.
		resp, body := postForm(t, target, with(url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"a.b.c"}}))
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != oauth.InvalidClient {
			t.Errorf("%s with a client assertion: %d %v, want 401 invalid_client", ep.field, resp.StatusCode, body)
		}
	}
}

func truthfulAlgorithms(t *testing.T, r *rig, doc map[string]any) {
	algs := docList(t, doc, "id_token_signing_alg_values_supported")
	if !slices.Contains(algs, jose.RS256) {
		t.Errorf("id_token_signing_alg_values_supported = %q, want RS256 (Discovery §3: it MUST be included)", algs)
	}
	_, raw := getBody(t, r.env.issuer+"/jwks")
	var set struct {
		Keys []struct {
			Alg string `json:"alg"`
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("/jwks: %v", err)
	}
	var keyAlgs []string
	for _, k := range set.Keys {
		keyAlgs = appendOnce(keyAlgs, k.Alg)
	}
	withoutHS := slices.DeleteFunc(slices.Clone(algs), func(a string) bool { return a == jose.HS256 })
	if g, w := slices.Sorted(slices.Values(withoutHS)), slices.Sorted(slices.Values(keyAlgs)); !slices.Equal(g, w) {
		t.Errorf("advertised algorithms with a server key %q, want those of /jwks %q", g, w)
	}
	// Each advertised algorithm signs an ID token for a client that
	// chose it (one browser, so one login).
	b := r.env.browser()
	for _, alg := range algs {
		if !slices.Contains(jose.Algorithms, alg) {
			t.Errorf("id_token_signing_alg_values_supported lists %q, which no client can choose", alg)
			continue
		}
		client, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.JWTAlg = alg; c.RequireConsent = false })
		if alg == jose.HS256 {
			// HS256 signs with the client's secret, which must be kept
			// sealed for it (as the admin site and CLI do).
			sealed, err := r.env.store.SealClientSecret(client.ClientID, secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.env.store.SetClientSecret(context.Background(), client.ID, client.SecretHash, sealed); err != nil {
				t.Fatal(err)
			}
		}
		r.keep(secret)
		body := r.tokens(b, client, secret, nil)
		id, _ := body["id_token"].(string)
		if hdr := jwsHeader(t, id); hdr["alg"] != alg {
			t.Errorf("client with %s: id_token alg %v", alg, hdr["alg"])
		}
	}
}

func appendOnce(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// discoveryAnswer fetches the discovery document at base, returning its
// Cache-Control and its signing algorithms.
func discoveryAnswer(t *testing.T, base string) (string, []string) {
	t.Helper()
	resp, raw := getBody(t, base+"/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}
	var doc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return resp.Header.Get("Cache-Control"), doc.Algs
}

// maxAge reads max-age from a Cache-Control value (-1 when it has none).
func maxAge(cc string) int {
	m := regexp.MustCompile(`(?:^|[,\s])max-age=(\d+)`).FindStringSubmatch(cc)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestDiscoveryCache: with OIDC_DISCOVERY_CACHE_ENABLE off (the default,
// as in the seed system) the document is built for each request and
// answered no-cache, so a change shows at once; on, it is kept, and may be
// kept by HTTP caches, for OIDC_DISCOVERY_CACHE_EXPIRE seconds counted
// from when it was built (max-age is what is left), and no longer. The
// change here: every EdDSA key gone, which /jwks shows once the key cache
// (OIDC_KEY_CACHE_SECONDS) has expired.
func TestDiscoveryCache(t *testing.T) {
	t.Parallel()
	const expire = 600
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache %v", cached), func(t *testing.T) {
			t.Parallel()
			var env *testEnv
			if cached {
				env = newTestEnv(t, "OIDC_DISCOVERY_CACHE_ENABLE", "true", "OIDC_DISCOVERY_CACHE_EXPIRE", strconv.Itoa(expire))
			} else {
				env = newTestEnv(t)
			}
			cc, algs := discoveryAnswer(t, env.issuer)
			switch {
			case cached && cc != fmt.Sprintf("public, max-age=%d", expire):
				t.Errorf("Cache-Control = %q, want public, max-age=%d", cc, expire)
			case !cached && cc != "no-cache":
				t.Errorf("Cache-Control = %q, want no-cache", cc)
			}
			if !slices.Contains(algs, jose.EdDSA) {
				t.Fatalf("algorithms = %q, want EdDSA among them", algs)
			}

			if err := testDB(t).Exec("DELETE FROM signing_keys WHERE alg = ?", jose.EdDSA).Error; err != nil {
				t.Fatal(err)
			}
			env.clock.Advance(env.cfg.KeyCacheTTL + time.Second)
			if _, raw := getBody(t, env.issuer+"/jwks"); strings.Contains(string(raw), `"EdDSA"`) {
				t.Fatalf("/jwks still has an EdDSA key: %s", raw)
			}
			cc, algs = discoveryAnswer(t, env.issuer)
			if !cached {
				if slices.Contains(algs, jose.EdDSA) || cc != "no-cache" {
					t.Errorf("after the change: %q, %q; want no EdDSA at once, no-cache", algs, cc)
				}
				return
			}
			// Within the bound: the kept document, and only what is left
			// of its life for any cache downstream.
			left := expire - int((env.cfg.KeyCacheTTL + time.Second).Seconds())
			if !slices.Contains(algs, jose.EdDSA) {
				t.Errorf("within the bound: algorithms = %q, want the kept document (with EdDSA); is it kept at all?", algs)
			}
			// (The test clock is real time plus the offset: a second may
			// have passed since the document was built.)
			if n := maxAge(cc); n < left-2 || n > left {
				t.Errorf("within the bound: Cache-Control = %q, want max-age=%d", cc, left)
			}
			env.clock.Advance(time.Duration(left) * time.Second)
			cc, algs = discoveryAnswer(t, env.issuer)
			if slices.Contains(algs, jose.EdDSA) || maxAge(cc) != expire {
				t.Errorf("past the bound: %q, %q; want a new document without EdDSA, max-age=%d", algs, cc, expire)
			}
		})
	}
}

// TestDiscoverySettings: the discovery cache settings, their defaults and
// the values refused at start-up.
func TestDiscoverySettings(t *testing.T) {
	t.Parallel()
	good := []struct {
		name    string
		vars    map[string]string
		enabled bool
		expire  time.Duration
	}{
		{"defaults", nil, false, 7200 * time.Second},
		{"on, with an expiry", map[string]string{"OIDC_DISCOVERY_CACHE_ENABLE": "true", "OIDC_DISCOVERY_CACHE_EXPIRE": "60"}, true, time.Minute},
		{"spaces around", map[string]string{"OIDC_DISCOVERY_CACHE_ENABLE": " 1 ", "OIDC_DISCOVERY_CACHE_EXPIRE": " 3600 "}, true, time.Hour},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadHandlerConfig("http://127.0.0.1:8000", func(k string) string { return tt.vars[k] })
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			if cfg.DiscoveryCache != tt.enabled || cfg.DiscoveryCacheExpire != tt.expire {
				t.Errorf("got %v, %v; want %v, %v", cfg.DiscoveryCache, cfg.DiscoveryCacheExpire, tt.enabled, tt.expire)
			}
		})
	}
	const expireErr = "must be a whole number of seconds from 1 to 31536000 (a year)"
	bad := []struct{ name, variable, value, want string }{
		{"enable not a bool", "OIDC_DISCOVERY_CACHE_ENABLE", "sometimes", "must be true or false"},
		{"expire zero", "OIDC_DISCOVERY_CACHE_EXPIRE", "0", expireErr},
		{"expire negative", "OIDC_DISCOVERY_CACHE_EXPIRE", "-60", expireErr},
		{"expire with a unit", "OIDC_DISCOVERY_CACHE_EXPIRE", "2h", expireErr},
		{"expire a fraction", "OIDC_DISCOVERY_CACHE_EXPIRE", "1.5", expireErr},
		{"expire over a year", "OIDC_DISCOVERY_CACHE_EXPIRE", "31536001", expireErr},
		{"expire overflowing", "OIDC_DISCOVERY_CACHE_EXPIRE", "99999999999999999999", expireErr},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			want := fmt.Sprintf("setting %s=%q: %s", tt.variable, tt.value, tt.want)
			_, err := loadHandlerConfig("http://127.0.0.1:8000", func(k string) string {
				if k == tt.variable {
					return tt.value
				}
				return ""
			})
			if err == nil || err.Error() != want {
				t.Errorf("error = %v, want %q", err, want)
			}
		})
	}
	// The real start-up path refuses it too.
	r := runCLI(t, map[string]string{"OIDC_DISCOVERY_CACHE_EXPIRE": "0"}, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "oidcd.db"))
	if want := `setting OIDC_DISCOVERY_CACHE_EXPIRE="0": ` + expireErr; r.err == nil || r.err.Error() != want || r.code != 1 {
		t.Errorf("serve with a bad expiry: %v (exit %d), want %q, exit 1", r.err, r.code, want)
	}
}

// TestSiteURLIssuer: SITE_URL, the seed system's name for the site's URL,
// is the issuer when OIDC_ISSUER is unset; OIDC_ISSUER wins when both are
// set (and a --issuer flag over both, as over OIDC_ISSUER alone).
func TestSiteURLIssuer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"neither", nil, "http://localhost:8000"},
		{"SITE_URL only", map[string]string{"SITE_URL": "https://site.example.org/"}, "https://site.example.org/"},
		{"OIDC_ISSUER only", map[string]string{"OIDC_ISSUER": "https://id.example.org"}, "https://id.example.org"},
		{"both", map[string]string{"SITE_URL": "https://site.example.org", "OIDC_ISSUER": "https://id.example.org"}, "https://id.example.org"},
	}
	for _, tt := range tests {
		if got := issuerFromEnv(func(k string) string { return tt.vars[k] }); got != tt.want {
			t.Errorf("%s: issuer %q, want %q", tt.name, got, tt.want)
		}
	}
	// Through the real start-up path: serve's discovery names it.
	p := startServe(t, map[string]string{"SITE_URL": "https://site.example.org/"}, "--db", filepath.Join(t.TempDir(), "oidcd.db"))
	if got := discover(t, p.base)["issuer"]; got != "https://site.example.org" {
		t.Errorf("serve with SITE_URL: issuer = %v, want https://site.example.org", got)
	}
	r := runCLI(t, map[string]string{"SITE_URL": "ftp://site.example.org"}, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "oidcd.db"))
	if want := `issuer "ftp://site.example.org" must be an http or https URL without query or fragment`; r.err == nil || r.err.Error() != want {
		t.Errorf("serve with SITE_URL=ftp://...: %v, want %q", r.err, want)
	}
	// createclient prints the discovery URL of the SITE_URL issuer.
	out := mustRunCLI(t, map[string]string{"SITE_URL": "https://site.example.org"}, "createclient", "--db", filepath.Join(t.TempDir(), "oidcd.db"),
		"--name", "RP", "--type", "confidential", "--redirect-uri", "https://rp.example.org/cb")
	if !strings.Contains(out.stdout, "https://site.example.org/.well-known/openid-configuration") {
		t.Errorf("createclient with SITE_URL printed:\n%s\nwant its discovery URL", out.stdout)
	}
}

// TestDiscoveryIssuerPath: an issuer with a path (https://host/op) is
// served behind a proxy that strips the path. OpenID Connect Discovery
// appends the well-known path to the issuer, which reaches oidcd as
// /.well-known/openid-configuration; RFC 8414 §3 inserts it between host
// and path (/.well-known/oauth-authorization-server/op), which the proxy
// passes on whole. go-oidc finds the provider through the proxy, and both
// RFC 8414 forms give the same document. An issuer without a path serves
// no path form.
func TestDiscoveryIssuerPath(t *testing.T) {
	t.Parallel()
	proxy := httptest.NewUnstartedServer(nil)
	base := "http://" + proxy.Listener.Addr().String()
	env := newTestEnv(t, "OIDC_ISSUER", base+"/op")
	target, _ := url.Parse(env.issuer)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := strings.CutPrefix(r.URL.Path, "/op/"); ok {
			r.URL.Path = "/" + p
		}
		rp.ServeHTTP(w, r)
	})
	proxy.Start()
	t.Cleanup(proxy.Close)

	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, base+"/op")
	if err != nil {
		t.Fatalf("go-oidc discovery through the proxy: %v", err)
	}
	if got := provider.Endpoint().TokenURL; got != base+"/op/token" {
		t.Errorf("token endpoint = %s, want %s", got, base+"/op/token")
	}
	_, want := getBody(t, base+"/op/.well-known/openid-configuration")
	for _, path := range []string{"/.well-known/oauth-authorization-server/op", "/op/.well-known/oauth-authorization-server"} {
		resp, got := getBody(t, base+path)
		if resp.StatusCode != http.StatusOK || string(got) != string(want) {
			t.Errorf("GET %s: %d\n%s\nwant 200 and the discovery document", path, resp.StatusCode, got)
		}
	}
	// The path form is this issuer's only.
	if resp, _ := getBody(t, base+"/.well-known/oauth-authorization-server/other"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("RFC 8414 form for another path: %d, want 404", resp.StatusCode)
	}
	plain := newTestEnv(t)
	if resp, _ := getBody(t, plain.issuer+"/.well-known/oauth-authorization-server/op"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("RFC 8414 path form under an issuer without a path: %d, want 404", resp.StatusCode)
	}
}

// TestDiscoveryRFC8414 checks /.well-known/oauth-authorization-server:
// the same document as OpenID Connect discovery, which RFC 8414 §2 reads
// as authorization server metadata (issuer, the endpoints, the response
// types, the grant types), and go-oidc reads the OpenID one.
func TestDiscoveryRFC8414(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	_, want := getBody(t, env.issuer+"/.well-known/openid-configuration")
	resp, got := getBody(t, env.issuer+"/.well-known/oauth-authorization-server")
	if resp.StatusCode != http.StatusOK || string(got) != string(want) {
		t.Fatalf("RFC 8414 metadata: %d\n%s\nwant the discovery document", resp.StatusCode, got)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	// RFC 8414 §2: issuer and response_types_supported are REQUIRED,
	// and the endpoints a client uses.
	for _, field := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported"} {
		if _, ok := doc[field]; !ok {
			t.Errorf("%s missing", field)
		}
	}
	provider, err := oidc.NewProvider(context.Background(), env.issuer)
	if err != nil {
		t.Fatalf("go-oidc: %v", err)
	}
	var claims struct {
		ScopesSupported []string `json:"scopes_supported"`
		UserinfoURL     string   `json:"userinfo_endpoint"`
		Algs            []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.UserinfoURL != env.issuer+"/userinfo" || provider.UserInfoEndpoint() != env.issuer+"/userinfo" || len(claims.Algs) == 0 {
		t.Errorf("go-oidc reads %+v, userinfo %s", claims, provider.UserInfoEndpoint())
	}
}
