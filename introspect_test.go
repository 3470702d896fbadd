package main

import (
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// introspect posts to /introspect with the given form.
func (r *rig) introspect(form url.Values, edit ...func(*http.Request)) (*http.Response, map[string]any) {
	r.t.Helper()
	return postForm(r.t, r.env.issuer+"/introspect", form, edit...)
}

// wantInactive checks an answer is 200, no-store and exactly
// {"active": false} (RFC 7662 §2.2).
func wantInactive(t *testing.T, resp *http.Response, body map[string]any) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || len(body) != 1 || body["active"] != false {
		t.Errorf("got %d %v, want 200 {\"active\": false}", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}

// wantActive checks an active answer's fields (RFC 7662 §2.2): sub is the
// user's subject, or absent when sub is ""; scope is absent when scope is "".
func (r *rig) wantActive(t *testing.T, resp *http.Response, body map[string]any, clientID, tokenType, sub, scope string, exp time.Duration) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || body["active"] != true {
		t.Fatalf("got %d %v, want 200 active", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	want := map[string]any{"client_id": clientID, "aud": clientID, "iss": r.env.issuer, "token_type": tokenType}
	if sub != "" {
		want["sub"] = sub
	}
	if scope != "" {
		want["scope"] = scope
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	for _, k := range []string{"sub", "scope", "username"} {
		if _, ok := want[k]; !ok && body[k] != nil {
			t.Errorf("%s = %v, want none", k, body[k])
		}
	}
	now := float64(r.env.clock.Now().Unix())
	iat, _ := body["iat"].(float64)
	gotExp, _ := body["exp"].(float64)
	if math.Abs(iat-now) > 60 || math.Abs(gotExp-now-exp.Seconds()) > 60 {
		t.Errorf("iat %v, exp %v; want about %v and %v", iat, gotExp, now, now+exp.Seconds())
	}
}

// TestIntrospect: token introspection (RFC 7662) at POST /introspect, as a
// table. Every row gets fresh tokens: a code-flow pair for the
// confidential client, refreshed once (so the rotated-out refresh token of
// the first pair is at hand); a client_credentials token; and a code-flow
// pair of the public client.
func TestIntrospect(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	other, otherSecret := r.env.createClient(models.ClientConfidential, []string{cbURI})
	spy, spySecret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.Scopes = []string{"openid", introspectionScope}
	})
	cc, ccSecret := ccClient(r)
	r.keep(otherSecret, spySecret)
	creds := func(id, secret string) url.Values {
		return url.Values{"client_id": {id}, "client_secret": {secret}}
	}
	type tokens struct{ first, access, refresh, cc, pubAccess string }
	accessTTL, refreshTTL := r.env.cfg.TokenExpire, r.env.cfg.RefreshTokenExpire
	const active, inactive = true, false
	tests := []struct {
		name string
		// form builds the request from the row's tokens; setup, if set,
		// changes the world first.
		form       func(tk tokens) url.Values
		setup      func(tk tokens)
		edit       func(*http.Request)
		wantStatus int
		wantError  string
		want       bool
		// check an active answer.
		check func(t *testing.T, resp *http.Response, body map[string]any)
	}{
		{"live access token", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", tk.access)
			return v
		}, nil, nil, 200, "", active, func(t *testing.T, resp *http.Response, body map[string]any) {
			r.wantActive(t, resp, body, r.conf.ClientID, "Bearer", r.user.Subject, "", accessTTL)
		}},
		{"live refresh token, client_secret_basic, wrong hint", func(tk tokens) url.Values {
			return url.Values{"token": {tk.refresh}, "token_type_hint": {"access_token"}}
		}, nil, basicAuth(r.conf.ClientID, r.secret), 200, "", active, func(t *testing.T, resp *http.Response, body map[string]any) {
			r.wantActive(t, resp, body, r.conf.ClientID, "refresh_token", r.user.Subject, "", refreshTTL)
		}},
		{"unknown hint value", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", tk.access)
			v.Set("token_type_hint", "id_token")
			return v
		}, nil, nil, 200, "", active, nil},
		{"expired access token", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", tk.access)
			return v
		}, func(tk tokens) {
			r.setTokenTime(t, tk.access, "access_token_hash", "expires_at")
		}, nil, 200, "", inactive, nil},
		{"expired refresh token", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", tk.refresh)
			return v
		}, func(tk tokens) {
			r.setTokenTime(t, tk.refresh, "refresh_token_hash", "refresh_expires_at")
		}, nil, 200, "", inactive, nil},
		{"revoked access token", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", tk.access)
			return v
		}, func(tk tokens) {
			resp, body := postForm(t, r.env.issuer+"/revoke", url.Values{"token": {tk.refresh}}, basicAuth(r.conf.ClientID, r.secret))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d %v", resp.StatusCode, body)
			}
		}, nil, 200, "", inactive, nil},
		{"rotated-out refresh token", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", tk.first)
			return v
		}, nil, nil, 200, "", inactive, nil},
		{"another client's token, no token_introspection", func(tk tokens) url.Values {
			v := creds(other.ClientID, otherSecret)
			v.Set("token", tk.access)
			return v
		}, nil, nil, 200, "", inactive, nil},
		{"another client's token, token_introspection", func(tk tokens) url.Values {
			v := creds(spy.ClientID, spySecret)
			v.Set("token", tk.refresh)
			return v
		}, nil, nil, 200, "", active, func(t *testing.T, resp *http.Response, body map[string]any) {
			r.wantActive(t, resp, body, r.conf.ClientID, "refresh_token", r.user.Subject, "", refreshTTL)
		}},
		{"client_credentials token: no sub", func(tk tokens) url.Values {
			v := creds(cc.ClientID, ccSecret)
			v.Set("token", tk.cc)
			return v
		}, nil, nil, 200, "", active, func(t *testing.T, resp *http.Response, body map[string]any) {
			r.wantActive(t, resp, body, cc.ClientID, "Bearer", "", "", accessTTL)
		}},
		{"public client, its own token", func(tk tokens) url.Values {
			return url.Values{"client_id": {r.pub.ClientID}, "token": {tk.pubAccess}}
		}, nil, nil, 200, "", active, func(t *testing.T, resp *http.Response, body map[string]any) {
			r.wantActive(t, resp, body, r.pub.ClientID, "Bearer", r.user.Subject, "", accessTTL)
		}},
		{"public client, another client's token", func(tk tokens) url.Values {
			return url.Values{"client_id": {r.pub.ClientID}, "token": {tk.access}}
		}, nil, nil, 200, "", inactive, nil},
		{"unknown token", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", oauth.NewToken())
			return v
		}, nil, nil, 200, "", inactive, nil},
		{"missing token", func(tk tokens) url.Values {
			return creds(r.conf.ClientID, r.secret)
		}, nil, nil, 400, "invalid_request", inactive, nil},
		{"token twice", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v["token"] = []string{tk.access, tk.refresh}
			return v
		}, nil, nil, 400, "invalid_request", inactive, nil},
		{"no client authentication", func(tk tokens) url.Values {
			return url.Values{"token": {tk.access}}
		}, nil, nil, 401, "invalid_client", inactive, nil},
		{"wrong secret", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, "wrong")
			v.Set("token", tk.access)
			return v
		}, nil, nil, 401, "invalid_client", inactive, nil},
		{"wrong basic secret", func(tk tokens) url.Values {
			return url.Values{"token": {tk.access}}
		}, nil, basicAuth(r.conf.ClientID, "wrong"), 401, "invalid_client", inactive, nil},
		{"unknown client", func(tk tokens) url.Values {
			v := creds("nobody", "secret")
			v.Set("token", tk.access)
			return v
		}, nil, nil, 401, "invalid_client", inactive, nil},
		// Last: the user stays inactive.
		{"user deactivated", func(tk tokens) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", tk.refresh)
			return v
		}, func(tk tokens) { r.setActive(r.user, false) }, nil, 200, "", inactive, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tk tokens
			first := r.tokens(b, r.conf, r.secret, func(v url.Values) { v.Set("scope", "openid profile") })
			tk.first = first["refresh_token"].(string)
			resp, body := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.first}},
				basicAuth(r.conf.ClientID, r.secret))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("refresh: %d %v", resp.StatusCode, body)
			}
			tk.access, tk.refresh = body["access_token"].(string), body["refresh_token"].(string)
			resp, body = r.postToken(url.Values{"grant_type": {"client_credentials"}}, basicAuth(cc.ClientID, ccSecret))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("client_credentials: %d %v", resp.StatusCode, body)
			}
			tk.cc = body["access_token"].(string)
			tk.pubAccess = r.tokens(b, r.pub, "", nil)["access_token"].(string)
			if tt.setup != nil {
				tt.setup(tk)
			}
			var edits []func(*http.Request)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			resp, body = r.introspect(tt.form(tk), edits...)
			switch {
			case tt.wantStatus != http.StatusOK:
				wantTokenError(t, resp, body, tt.wantStatus, tt.wantError)
			case !tt.want:
				wantInactive(t, resp, body)
			case tt.check != nil:
				tt.check(t, resp, body)
			default:
				if resp.StatusCode != http.StatusOK || body["active"] != true {
					t.Errorf("got %d %v, want 200 active", resp.StatusCode, body)
				}
			}
		})
	}
}

// introspectionScope is the client scope that opens other clients'
// tokens, spelled out so that a renamed constant fails the test.
const introspectionScope = "token_introspection"

// setTokenTime moves a token's time column an hour into the past.
func (r *rig) setTokenTime(t *testing.T, token, hashColumn, timeColumn string) {
	t.Helper()
	past := r.env.clock.Now().Add(-time.Hour).UTC()
	res := r.db.Model(&models.Token{}).Where(hashColumn+" = ?", oauth.HashToken(token)).Update(timeColumn, past)
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("expire token: %v, %d rows", res.Error, res.RowsAffected)
	}
}

// TestIntrospectSettings: OIDC_INTROSPECTION_VALIDATE_AUDIENCE_SCOPE asks
// for the token's client_id among the introspecting client's scopes too;
// OIDC_INTROSPECTION_RESPONSE_SCOPE_ENABLE adds the token's scope. A
// client's own tokens need neither scope.
func TestIntrospectSettings(t *testing.T) {
	t.Parallel()
	r := newRig(t, "OIDC_INTROSPECTION_VALIDATE_AUDIENCE_SCOPE", "true", "OIDC_INTROSPECTION_RESPONSE_SCOPE_ENABLE", "true")
	b := r.env.browser()
	spy, spySecret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.Scopes = []string{introspectionScope}
	})
	aud, audSecret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.Scopes = []string{introspectionScope, r.conf.ClientID}
	})
	r.keep(spySecret, audSecret)
	access := r.tokens(b, r.conf, r.secret, func(v url.Values) { v.Set("scope", "openid profile") })["access_token"].(string)
	ask := func(id, secret string) (*http.Response, map[string]any) {
		return r.introspect(url.Values{"token": {access}}, basicAuth(id, secret))
	}
	resp, body := ask(spy.ClientID, spySecret)
	wantInactive(t, resp, body)
	resp, body = ask(aud.ClientID, audSecret)
	r.wantActive(t, resp, body, r.conf.ClientID, "Bearer", r.user.Subject, "openid profile", r.env.cfg.TokenExpire)
	resp, body = ask(r.conf.ClientID, r.secret)
	r.wantActive(t, resp, body, r.conf.ClientID, "Bearer", r.user.Subject, "openid profile", r.env.cfg.TokenExpire)
}

// TestIntrospectMethod: /introspect is POST only (RFC 7662 §2.1); GET is
// 405, still no-store. Discovery names the endpoint and its client
// authentication methods (RFC 8414 §2).
func TestIntrospectMethod(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	req, _ := http.NewRequest(http.MethodGet, r.env.issuer+"/introspect?token=x&client_id="+r.pub.ClientID, nil)
	resp, _ := doJSON(t, req)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	req, _ = http.NewRequest(http.MethodGet, r.env.issuer+"/.well-known/openid-configuration", nil)
	_, doc := doJSON(t, req)
	methods, _ := doc["introspection_endpoint_auth_methods_supported"].([]any)
	if doc["introspection_endpoint"] != r.env.issuer+"/introspect" || len(methods) == 0 {
		t.Errorf("discovery: introspection_endpoint %v, auth methods %v", doc["introspection_endpoint"], methods)
	}
}
