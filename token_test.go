package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// TestTokenCodeErrors covers the authorization_code grant's refusals and
// client authentication at /token (PARITY §3): exact status and error,
// no-store headers, and no token written.
func TestTokenCodeErrors(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	other, otherSecret := r.env.createClient(models.ClientConfidential, []string{cbURI})
	r.keep(otherSecret)
	confCode := func() string { return r.codeFor(b, r.conf, nil) }
	pkceCode := func() string {
		return r.codeFor(b, r.conf, func(v url.Values) {
			v.Set("code_challenge", s256(pkceVerifier))
			v.Set("code_challenge_method", "S256")
		})
	}
	withHeader := func(value string) func(*http.Request) {
		return func(req *http.Request) { req.Header.Set("Authorization", value) }
	}
	// form returns a confidential client's valid exchange of a fresh code,
	// edited; client_secret_post unless the row removes it.
	form := func(code string, edit func(v url.Values)) url.Values {
		v := r.codeForm(r.conf, r.secret, code)
		if edit != nil {
			edit(v)
		}
		return v
	}
	tests := []struct {
		name          string
		request       func() (url.Values, []func(*http.Request))
		wantStatus    int
		wantError     string
		wantChallenge bool
	}{
		{"wrong code_verifier", func() (url.Values, []func(*http.Request)) {
			v := r.codeForm(r.pub, "", r.codeFor(b, r.pub, nil))
			v.Set("code_verifier", strings.Repeat("x", 43))
			return v, nil
		}, 400, "invalid_grant", false},
		{"missing code_verifier for a public PKCE code", func() (url.Values, []func(*http.Request)) {
			v := r.codeForm(r.pub, "", r.codeFor(b, r.pub, nil))
			v.Del("code_verifier")
			return v, nil
		}, 400, "invalid_grant", false},
		{"missing code_verifier for a confidential PKCE code", func() (url.Values, []func(*http.Request)) {
			return form(pkceCode(), nil), nil
		}, 400, "invalid_grant", false},
		{"verifier of the wrong method", func() (url.Values, []func(*http.Request)) {
			// The verifier sent is the challenge itself, as if "plain".
			return form(pkceCode(), func(v url.Values) { v.Set("code_verifier", s256(pkceVerifier)) }), nil
		}, 400, "invalid_grant", false},
		{"verifier for a code without challenge", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Set("code_verifier", pkceVerifier) }), nil
		}, 400, "invalid_grant", false},
		{"redirect_uri registered but not the one used", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1/conf-only") }), nil
		}, 400, "invalid_grant", false},
		{"redirect_uri with a trailing slash", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Set("redirect_uri", cbURI+"/") }), nil
		}, 400, "invalid_grant", false},
		{"missing redirect_uri", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Del("redirect_uri") }), nil
		}, 400, "invalid_request", false},
		{"missing code", func() (url.Values, []func(*http.Request)) {
			return form("", func(v url.Values) { v.Del("code") }), nil
		}, 400, "invalid_request", false},
		{"unknown code", func() (url.Values, []func(*http.Request)) {
			return form(oauth.NewToken(), nil), nil
		}, 400, "invalid_grant", false},
		{"code of another client", func() (url.Values, []func(*http.Request)) {
			v := r.codeForm(other, otherSecret, confCode())
			return v, nil
		}, 400, "invalid_grant", false},
		{"expired code", func() (url.Values, []func(*http.Request)) {
			code := confCode()
			r.env.clock.Advance(r.env.cfg.CodeExpire + time.Second)
			return form(code, nil), nil
		}, 400, "invalid_grant", false},
		{"wrong secret with Basic", func() (url.Values, []func(*http.Request)) {
			v := form(confCode(), func(v url.Values) { v.Del("client_secret"); v.Del("client_id") })
			return v, []func(*http.Request){basicAuth(r.conf.ClientID, "wrong-"+r.secret)}
		}, 401, "invalid_client", true},
		{"wrong secret in the body", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Set("client_secret", "wrong-"+r.secret) }), nil
		}, 401, "invalid_client", false},
		{"unknown client in the body", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Set("client_id", "no-such-client") }), nil
		}, 401, "invalid_client", false},
		{"unknown client with Basic", func() (url.Values, []func(*http.Request)) {
			v := form(confCode(), func(v url.Values) { v.Del("client_secret"); v.Del("client_id") })
			return v, []func(*http.Request){basicAuth("no-such-client", r.secret)}
		}, 401, "invalid_client", true},
		{"no client authentication", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Del("client_secret"); v.Del("client_id") }), nil
		}, 401, "invalid_client", false},
		{"confidential client without its secret", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Del("client_secret") }), nil
		}, 401, "invalid_client", false},
		{"confidential client with an empty Basic secret", func() (url.Values, []func(*http.Request)) {
			v := form(confCode(), func(v url.Values) { v.Del("client_secret"); v.Del("client_id") })
			return v, []func(*http.Request){basicAuth(r.conf.ClientID, "")}
		}, 401, "invalid_client", true},
		{"Basic and client_secret in the body", func() (url.Values, []func(*http.Request)) {
			v := form(confCode(), nil)
			return v, []func(*http.Request){basicAuth(r.conf.ClientID, r.secret)}
		}, 400, "invalid_request", false},
		{"Basic for one client, client_id of another", func() (url.Values, []func(*http.Request)) {
			v := form(confCode(), func(v url.Values) { v.Del("client_secret"); v.Set("client_id", other.ClientID) })
			return v, []func(*http.Request){basicAuth(r.conf.ClientID, r.secret)}
		}, 401, "invalid_client", true},
		{"Bearer instead of Basic", func() (url.Values, []func(*http.Request)) {
			v := form(confCode(), func(v url.Values) { v.Del("client_secret") })
			return v, []func(*http.Request){withHeader("Bearer " + r.secret)}
		}, 401, "invalid_client", true},
		{"public client sending a secret in the body", func() (url.Values, []func(*http.Request)) {
			v := r.codeForm(r.pub, "", r.codeFor(b, r.pub, nil))
			v.Set("client_secret", "anything")
			return v, nil
		}, 401, "invalid_client", false},
		{"public client sending a secret with Basic", func() (url.Values, []func(*http.Request)) {
			v := r.codeForm(r.pub, "", r.codeFor(b, r.pub, nil))
			v.Del("client_id")
			return v, []func(*http.Request){basicAuth(r.pub.ClientID, "anything")}
		}, 401, "invalid_client", true},
		{"missing grant_type", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Del("grant_type") }), nil
		}, 400, "invalid_request", false},
		{"grant_type=password", func() (url.Values, []func(*http.Request)) {
			return url.Values{"grant_type": {"password"}, "username": {testUser}, "password": {testPassword},
				"client_id": {r.conf.ClientID}, "client_secret": {r.secret}}, nil
		}, 400, "unsupported_grant_type", false},
		{"unknown grant_type", func() (url.Values, []func(*http.Request)) {
			return form(confCode(), func(v url.Values) { v.Set("grant_type", "urn:example:bogus") }), nil
		}, 400, "unsupported_grant_type", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, edits := tt.request()
			before := r.counts()
			resp, body := r.postToken(form, edits...)
			wantTokenError(t, resp, body, tt.wantStatus, tt.wantError)
			challenge := resp.Header.Get("WWW-Authenticate")
			if tt.wantChallenge && !strings.HasPrefix(challenge, "Basic ") {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge (RFC 6749 §5.2)", challenge)
			}
			r.wantUnchanged(t, before, "tokens")
		})
	}
}

// TestTokenCodeExchange covers successful exchanges with each client
// authentication and PKCE method: status, headers, and the response body
// of RFC 6749 §5.1.
func TestTokenCodeExchange(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	withPKCE := func(method, challenge string) func(url.Values) {
		return func(v url.Values) {
			v.Set("code_challenge", challenge)
			v.Set("code_challenge_method", method)
		}
	}
	tests := []struct {
		name   string
		client *models.Client
		authz  func(url.Values) // edits the authorization request
		token  func(url.Values) // edits the token request
		basic  bool
	}{
		{"client_secret_post", r.conf, nil, nil, false},
		{"client_secret_basic", r.conf, nil, nil, true},
		{"confidential with S256", r.conf, withPKCE("S256", s256(pkceVerifier)), func(v url.Values) { v.Set("code_verifier", pkceVerifier) }, true},
		{"public with S256", r.pub, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := r.codeFor(b, tt.client, tt.authz)
			secret := ""
			if !tt.client.IsPublic() {
				secret = r.secret
			}
			form := r.codeForm(tt.client, secret, code)
			if tt.token != nil {
				tt.token(form)
			}
			var edits []func(*http.Request)
			if tt.basic {
				form.Del("client_id")
				form.Del("client_secret")
				edits = append(edits, basicAuth(tt.client.ClientID, secret))
			}
			before := r.count("tokens")
			resp, body := r.postToken(form, edits...)
			wantTokenSuccess(t, resp, body, "openid profile email")
			if got := r.count("tokens"); got != before+1 {
				t.Errorf("rows in tokens = %d, want %d", got, before+1)
			}
			claims := idTokenClaims(t, body)
			if claims["aud"] != tt.client.ClientID || claims["sub"] != r.user.Subject || claims["nonce"] != "n-1" {
				t.Errorf("id_token aud, sub, nonce = %v, %v, %v; want %s, %s, n-1", claims["aud"], claims["sub"], claims["nonce"], tt.client.ClientID, r.user.Subject)
			}
		})
	}
}

// TestTokenCodeReuse: a code works once; the second use is invalid_grant
// and revokes what the first use issued (PARITY §3, RFC 6749 §4.1.2).
func TestTokenCodeReuse(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	tests := []struct {
		name   string
		client *models.Client
		secret string
	}{
		{"confidential", r.conf, r.secret},
		{"public", r.pub, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := r.codeForm(tt.client, tt.secret, r.codeFor(b, tt.client, nil))
			resp, first := r.postToken(form)
			wantTokenSuccess(t, resp, first, "openid profile email")
			access, _ := first["access_token"].(string)
			refresh, _ := first["refresh_token"].(string)
			if status := r.userinfoStatus(access); status != http.StatusOK {
				t.Fatalf("userinfo with the first access token: got %d, want 200", status)
			}

			resp, second := r.postToken(form)
			wantTokenError(t, resp, second, http.StatusBadRequest, "invalid_grant")
			if status := r.userinfoStatus(access); status != http.StatusUnauthorized {
				t.Errorf("userinfo with the first access token after code reuse: got %d, want 401", status)
			}
			refreshForm := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {tt.client.ClientID}}
			if tt.secret != "" {
				refreshForm.Set("client_secret", tt.secret)
			}
			resp, body := r.postToken(refreshForm)
			wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
	}
}

// TestTokenCodeOtherClient: a client cannot redeem another client's code,
// and the failed try does not burn it for its rightful client.
func TestTokenCodeOtherClient(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	other, otherSecret := r.env.createClient(models.ClientConfidential, []string{cbURI})
	r.keep(otherSecret)
	tests := []struct {
		name  string
		thief url.Values
	}{
		{"confidential thief", url.Values{"client_id": {other.ClientID}, "client_secret": {otherSecret}}},
		{"public thief", url.Values{"client_id": {r.pub.ClientID}, "code_verifier": {pkceVerifier}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := r.codeFor(b, r.conf, nil)
			stolen := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cbURI}}
			for k, v := range tt.thief {
				stolen[k] = v
			}
			resp, body := r.postToken(stolen)
			wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
			resp, body = r.postToken(r.codeForm(r.conf, r.secret, code))
			wantTokenSuccess(t, resp, body, "openid profile email")
		})
	}
}

// TestTokenClientCredentialEncoding: with client_secret_basic the id and
// secret are form-urlencoded before base64 (RFC 6749 §2.3.1), so ':' and
// '+' in them survive.
func TestTokenClientCredentialEncoding(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	const id, secret = "rp:1+x%y&z=", "se:cr+et/%2B=&? x"
	r.keep(secret)
	client, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.ClientID = id
		c.SecretHash = oauth.HashToken(secret)
		c.RequireConsent = false
	})
	raw := func(user, pass string) func(*http.Request) {
		return func(req *http.Request) {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		}
	}
	tests := []struct {
		name       string
		body       url.Values
		edit       func(*http.Request)
		wantStatus int
	}{
		{"Basic, form-urlencoded", nil, basicAuth(id, secret), http.StatusOK},
		{"Basic with client_id also in the body", url.Values{"client_id": {id}}, basicAuth(id, secret), http.StatusOK},
		{"client_secret_post", url.Values{"client_id": {id}, "client_secret": {secret}}, nil, http.StatusOK},
		{"Basic without form-urlencoding", nil, raw(id, secret), http.StatusUnauthorized},
		{"Basic with the secret's '+' sent raw", nil, raw(url.QueryEscape(id), strings.ReplaceAll(url.QueryEscape(secret), "%2B", "+")), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {r.codeFor(b, client, nil)}, "redirect_uri": {cbURI}}
			for k, v := range tt.body {
				form[k] = v
			}
			var edits []func(*http.Request)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			resp, body := r.postToken(form, edits...)
			if tt.wantStatus == http.StatusOK {
				wantTokenSuccess(t, resp, body, "openid profile email")
				return
			}
			wantTokenError(t, resp, body, tt.wantStatus, "invalid_client")
		})
	}
}

// TestTokenRefresh covers the refresh_token grant's scope rules, client
// binding and lifetime (PARITY §3).
func TestTokenRefresh(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	other, otherSecret := r.env.createClient(models.ClientConfidential, []string{cbURI})
	r.keep(otherSecret)
	const granted = "openid profile"
	tests := []struct {
		name       string
		edit       func(v url.Values)
		advance    time.Duration
		wantStatus int
		wantError  string
		wantScope  string
		// stillValid: after the refusal, the refresh token still works
		// for its client (a refused request changes nothing).
		stillValid bool
	}{
		{"same scope when none is asked", nil, 0, 200, "", granted, false},
		{"the same scope asked", func(v url.Values) { v.Set("scope", "profile openid") }, 0, 200, "", "profile openid", false},
		{"narrower scope", func(v url.Values) { v.Set("scope", "openid") }, 0, 200, "", "openid", false},
		{"wider scope", func(v url.Values) { v.Set("scope", "openid profile email") }, 0, 400, "invalid_scope", "", true},
		{"unknown scope", func(v url.Values) { v.Set("scope", "openid admin") }, 0, 400, "invalid_scope", "", true},
		{"another client's refresh token", func(v url.Values) {
			v.Set("client_id", other.ClientID)
			v.Set("client_secret", otherSecret)
		}, 0, 400, "invalid_grant", "", true},
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "wrong") }, 0, 401, "invalid_client", "", true},
		{"missing refresh_token", func(v url.Values) { v.Del("refresh_token") }, 0, 400, "invalid_request", "", true},
		{"unknown refresh_token", func(v url.Values) { v.Set("refresh_token", oauth.NewToken()) }, 0, 400, "invalid_grant", "", true},
		{"repeated refresh_token", func(v url.Values) { v.Add("refresh_token", v.Get("refresh_token")) }, 0, 400, "invalid_request", "", true},
		{"expired refresh token", nil, r.env.cfg.RefreshTokenExpire + time.Second, 400, "invalid_grant", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := r.tokens(b, r.conf, r.secret, func(v url.Values) { v.Set("scope", granted) })
			refresh, _ := tok["refresh_token"].(string)
			valid := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
				"client_id": {r.conf.ClientID}, "client_secret": {r.secret}}
			form := url.Values{}
			for k, v := range valid {
				form[k] = append([]string(nil), v...)
			}
			if tt.edit != nil {
				tt.edit(form)
			}
			r.env.clock.Advance(tt.advance)
			before := r.count("tokens")
			resp, body := r.postToken(form)
			if tt.wantStatus != http.StatusOK {
				wantTokenError(t, resp, body, tt.wantStatus, tt.wantError)
				if got := r.count("tokens"); got != before {
					t.Errorf("rows in tokens = %d, want %d (nothing written)", got, before)
				}
				if tt.stillValid {
					resp, body := r.postToken(valid)
					wantTokenSuccess(t, resp, body, granted)
				}
				return
			}
			wantTokenSuccess(t, resp, body, tt.wantScope)
			if body["refresh_token"] == refresh || body["access_token"] == tok["access_token"] {
				t.Errorf("refresh did not rotate the pair")
			}
			// The new access token carries the new scope to userinfo.
			_, info := r.userinfo(body["access_token"].(string))
			_, hasName := info["name"]
			if wantName := strings.Contains(tt.wantScope, "profile"); hasName != wantName {
				t.Errorf("userinfo after refresh to %q: name present = %v, want %v (%v)", tt.wantScope, hasName, wantName, info)
			}
		})
	}
}

// basicAuth sets client_secret_basic credentials, form-urlencoded first
// as RFC 6749 §2.3.1 requires.
func basicAuth(id, secret string) func(*http.Request) {
	return func(req *http.Request) {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
}

// wantTokenHeaders checks what every /token answer carries (RFC 6749
// §5.1, PARITY §3).
func wantTokenHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
}

// wantTokenError checks an RFC 6749 §5.2 error answer.
func wantTokenError(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		t.Errorf("got %d %v, want %d %s", resp.StatusCode, body, status, code)
	}
	if d, _ := body["error_description"].(string); d == "" {
		t.Errorf("error_description is empty, want a description")
	}
	if _, ok := body["access_token"]; ok {
		t.Errorf("an error answer carries an access token")
	}
	wantTokenHeaders(t, resp)
}

// wantTokenSuccess checks an RFC 6749 §5.1 answer with the granted scope.
func wantTokenSuccess(t *testing.T, resp *http.Response, body map[string]any, scope string) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %v, want 200", resp.StatusCode, body)
	}
	wantTokenHeaders(t, resp)
	if body["token_type"] != "Bearer" {
		t.Errorf("token_type = %v, want Bearer", body["token_type"])
	}
	if body["expires_in"] != float64(3600) {
		t.Errorf("expires_in = %v, want 3600", body["expires_in"])
	}
	if body["scope"] != scope {
		t.Errorf("scope = %v, want %q", body["scope"], scope)
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if s, _ := body[k].(string); s == "" {
			t.Errorf("%s is missing from %v", k, body)
		}
	}
}
