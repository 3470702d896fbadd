package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDiscoveryDocument checks the provider metadata against OpenID
// Connect Discovery 1.0 §3 and what this server really does: only the
// code flow in the query, RS256 ID tokens, PKCE, and the three client
// authentication methods of the token endpoint.
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
		{"subject_types_supported", false, []string{"public"}},
		// §3: RS256 MUST be included; it is the only algorithm served.
		{"id_token_signing_alg_values_supported", true, []string{"RS256", "ES256", "EdDSA", "HS256"}},
		{"scopes_supported", false, []string{"openid", "profile", "email", "phone", "address"}},
		{"claims_supported", false, []string{
			"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
			"name", "given_name", "family_name", "preferred_username",
			"email", "email_verified", "phone_number", "phone_number_verified", "address",
		}},
		{"grant_types_supported", true, []string{"authorization_code", "refresh_token", "client_credentials"}},
		{"code_challenge_methods_supported", false, []string{"S256"}},
		{"token_endpoint_auth_methods_supported", false, []string{"client_secret_basic", "client_secret_post", "none"}},
		{"revocation_endpoint_auth_methods_supported", false, []string{"client_secret_basic", "client_secret_post", "none"}},
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
	for _, field := range []string{"request_parameter_supported", "request_uri_parameter_supported"} {
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
