package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"oidcd/models"
)

// The rig's public client is registered for cbURI, so its origin is
// this; the confidential client has the same redirect URI, which gives it
// no CORS (only public clients run in browsers).
const pubOrigin = "http://127.0.0.1"

// preflight sends a CORS preflight for method from origin.
func preflight(t *testing.T, target, origin, method string) *http.Response {
	t.Helper()
	req := mustRequest(t, http.MethodOptions, target, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if method != "" {
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	}
	resp, _ := doJSON(t, req)
	return resp
}

// wantCORS checks the CORS headers of an answer: allowOrigin is the
// Access-Control-Allow-Origin it must carry ("" for none), and credentials
// are never allowed.
func wantCORS(t *testing.T, what string, resp *http.Response, allowOrigin string) {
	t.Helper()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != allowOrigin {
		t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", what, got, allowOrigin)
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("%s: Access-Control-Allow-Credentials = %q, want none", what, got)
	}
	if allowOrigin == "" {
		for _, h := range []string{"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
			if got := resp.Header.Get(h); got != "" {
				t.Errorf("%s: %s = %q, want no CORS headers", what, h, got)
			}
		}
	}
	if resp.StatusCode >= 500 {
		t.Errorf("%s: status %d, want no 5xx", what, resp.StatusCode)
	}
}

func varyHas(resp *http.Response, name string) bool {
	for _, v := range resp.Header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return true
			}
		}
	}
	return false
}

// TestCORSPreflight: a preflight to /token, /revoke or /userinfo from the
// origin of a public client's redirect URI is allowed (204, the methods,
// Authorization and Content-Type, a max age, Vary: Origin); from any
// other origin, a confidential client's included, it gets 204 with no
// CORS headers, so the browser refuses the request.
func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const confOrigin, unknown = "http://127.0.0.1:7001", "http://127.0.0.1:7002"
	r.env.createClient(models.ClientConfidential, []string{confOrigin + "/cb"})
	tests := []struct {
		name, path, origin, method string
		allowed                    bool
	}{
		{"token from a public client's origin", "/token", pubOrigin, "POST", true},
		{"revoke from a public client's origin", "/revoke", pubOrigin, "POST", true},
		{"userinfo GET from a public client's origin", "/userinfo", pubOrigin, "GET", true},
		{"userinfo POST from a public client's origin", "/userinfo", pubOrigin, "POST", true},
		{"userinfo with a trailing slash", "/userinfo/", pubOrigin, "GET", true},
		{"token from a confidential client's origin", "/token", confOrigin, "POST", false},
		{"token from an unknown origin", "/token", unknown, "POST", false},
		{"userinfo from an unknown origin", "/userinfo", unknown, "GET", false},
		{"same host, other scheme", "/token", "https://127.0.0.1", "POST", false},
		{"opaque origin", "/token", "null", "POST", false},
		{"origin with a path", "/token", pubOrigin + "/cb", "POST", false},
		{"plain OPTIONS, no preflight", "/userinfo", pubOrigin, "", false},
		{"no origin", "/userinfo", "", "GET", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := preflight(t, r.env.issuer+tt.path, tt.origin, tt.method)
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status = %d, want 204", resp.StatusCode)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != "" {
				t.Errorf("WWW-Authenticate = %q on a preflight, want none", got)
			}
			if tt.origin != "" && !varyHas(resp, "Origin") {
				t.Errorf("Vary = %q, want Origin", resp.Header.Values("Vary"))
			}
			if !tt.allowed {
				wantCORS(t, "preflight", resp, "")
				return
			}
			wantCORS(t, "preflight", resp, tt.origin)
			if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, tt.method) {
				t.Errorf("Access-Control-Allow-Methods = %q, want it to include %s", got, tt.method)
			}
			got := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
			if !strings.Contains(got, "authorization") || !strings.Contains(got, "content-type") {
				t.Errorf("Access-Control-Allow-Headers = %q, want Authorization and Content-Type", got)
			}
			if n, err := strconv.Atoi(resp.Header.Get("Access-Control-Max-Age")); err != nil || n <= 0 {
				t.Errorf("Access-Control-Max-Age = %q, want a positive number", resp.Header.Get("Access-Control-Max-Age"))
			}
		})
	}
	// /introspect is for servers: no CORS for anyone.
	t.Run("introspect", func(t *testing.T) {
		wantCORS(t, "introspect preflight", preflight(t, r.env.issuer+"/introspect", pubOrigin, "POST"), "")
	})
}

// TestCORSRequests: the answer itself carries Access-Control-Allow-Origin
// only when the origin is one of the redirect URIs' of the public client
// the request is for (the client_id at /token and /revoke, the access
// token's client at /userinfo), errors included; never for a confidential
// client, another public client's origin or an unknown one; discovery and
// /jwks are open to all with "*".
func TestCORSRequests(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const otherOrigin = "http://127.0.0.1:7003"
	other, _ := r.env.createClient(models.ClientPublic, []string{otherOrigin + "/cb"})
	from := func(origin string) func(*http.Request) {
		return func(req *http.Request) { req.Header.Set("Origin", origin) }
	}

	// The code exchange from the public client's origin.
	code := r.codeFor(r.env.browser(), r.pub, nil)
	resp, body := r.postToken(r.codeForm(r.pub, "", code), from(pubOrigin))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, body)
	}
	wantCORS(t, "token from the client's origin", resp, pubOrigin)
	if !varyHas(resp, "Origin") {
		t.Errorf("token: Vary = %q, want Origin", resp.Header.Values("Vary"))
	}
	access := body["access_token"].(string)
	refresh, _ := body["refresh_token"].(string)

	bad := func(clientID string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {"no-such-code"}, "redirect_uri": {cbURI},
			"client_id": {clientID}, "code_verifier": {pkceVerifier}}
	}
	userinfo := func(token, origin string) *http.Response {
		req := mustRequest(t, http.MethodGet, r.env.issuer+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Origin", origin)
		resp, _ := doJSON(t, req)
		return resp
	}
	tests := []struct {
		name       string
		do         func() *http.Response
		wantStatus int
		wantOrigin string
	}{
		{"token error from the client's origin", func() *http.Response {
			resp, _ := r.postToken(bad(r.pub.ClientID), from(pubOrigin))
			return resp
		}, http.StatusBadRequest, pubOrigin},
		{"token from another public client's origin", func() *http.Response {
			resp, _ := r.postToken(bad(r.pub.ClientID), from(otherOrigin))
			return resp
		}, http.StatusBadRequest, ""},
		{"token from the other client's own origin", func() *http.Response {
			resp, _ := r.postToken(bad(other.ClientID), from(otherOrigin))
			return resp
		}, http.StatusBadRequest, otherOrigin},
		{"token for a confidential client, its redirect URI's origin", func() *http.Response {
			resp, _ := r.postToken(r.codeForm(r.conf, r.secret, "no-such-code"), from(pubOrigin))
			return resp
		}, http.StatusBadRequest, ""},
		{"token for an unknown client", func() *http.Response {
			resp, _ := r.postToken(bad("no-such-client"), from(pubOrigin))
			return resp
		}, http.StatusUnauthorized, ""},
		{"userinfo from the token's client's origin", func() *http.Response { return userinfo(access, pubOrigin) }, http.StatusOK, pubOrigin},
		{"userinfo from another client's origin", func() *http.Response { return userinfo(access, otherOrigin) }, http.StatusOK, ""},
		{"userinfo with an unknown token", func() *http.Response { return userinfo("no-such-token", pubOrigin) }, http.StatusUnauthorized, ""},
		{"revoke from the client's origin", func() *http.Response {
			resp, _ := postForm(t, r.env.issuer+"/revoke", url.Values{"token": {refresh}, "client_id": {r.pub.ClientID}}, from(pubOrigin))
			return resp
		}, http.StatusOK, pubOrigin},
		{"introspect, never", func() *http.Response {
			resp, _ := postForm(t, r.env.issuer+"/introspect", url.Values{"token": {access}, "client_id": {r.pub.ClientID}}, from(pubOrigin))
			return resp
		}, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.do()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			wantCORS(t, tt.name, resp, tt.wantOrigin)
		})
	}
	// Public documents: any origin, "*", no credentials.
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks"} {
		req := mustRequest(t, http.MethodGet, r.env.issuer+path, nil)
		req.Header.Set("Origin", "https://anywhere.example")
		resp, _ := doJSON(t, req)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", path, resp.StatusCode)
		}
		wantCORS(t, path, resp, "*")
	}
}

// TestCORSOriginsBoundedStaleness: the origins a preflight is allowed
// from are read through the client cache, so another instance honours a
// public client registered or deleted through this one within
// OIDC_CLIENT_CACHE_SECONDS, and this one at once.
func TestCORSOriginsBoundedStaleness(t *testing.T) {
	t.Parallel()
	a := newTestEnv(t)
	b, bClock := secondInstance(t, a)
	const origin = "http://127.0.0.1:7004"
	allowed := func(base string) bool {
		t.Helper()
		resp := preflight(t, base+"/token", origin, "POST")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("preflight at %s: %d, want 204", base, resp.StatusCode)
		}
		return resp.Header.Get("Access-Control-Allow-Origin") == origin
	}
	if allowed(b) {
		t.Fatalf("B before the client exists: allowed, want refused")
	}
	client, _ := a.createClient(models.ClientPublic, []string{origin + "/spa"})
	if !allowed(a.issuer) {
		t.Errorf("A right after registering the client: refused, want allowed")
	}
	bClock.Advance(a.cfg.ClientCacheTTL / 2)
	if allowed(b) {
		t.Errorf("B within the bound: allowed; the cache read before the client existed should still answer (is it cached at all?)")
	}
	bClock.Advance(a.cfg.ClientCacheTTL)
	if !allowed(b) {
		t.Errorf("B past the bound: refused, want allowed")
	}
	if err := a.store.DeleteClient(context.Background(), client.ID); err != nil {
		t.Fatal(err)
	}
	if allowed(a.issuer) {
		t.Errorf("A right after deleting the client: allowed, want refused")
	}
	if !allowed(b) {
		t.Errorf("B within the bound after the delete: refused; want the cached answer")
	}
	bClock.Advance(a.cfg.ClientCacheTTL + 1)
	if allowed(b) {
		t.Errorf("B past the bound after the delete: allowed, want refused")
	}
}
