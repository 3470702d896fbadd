package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

const passwordEnable = "OIDC_GRANT_TYPE_PASSWORD_ENABLE"

// pwClient registers a confidential client that may use the password and
// refresh_token grants, with scopes openid, email and offline_access.
func pwClient(r *rig) (*models.Client, string) {
	c, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.GrantTypes = []string{oauth.GrantPassword, oauth.GrantRefreshToken}
		c.Scopes = []string{"openid", "email", "offline_access"}
	})
	r.keep(secret)
	return c, secret
}

// pwForm is a password grant request with client_secret_post.
func pwForm(clientID, secret, username, password, scope string) url.Values {
	v := url.Values{"grant_type": {"password"}, "client_id": {clientID}}
	for k, val := range map[string]string{"client_secret": secret, "username": username, "password": password, "scope": scope} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

// grantTypesSupported is discovery's grant_types_supported.
func grantTypesSupported(t *testing.T, r *rig) []string {
	t.Helper()
	_, doc := getJSONDoc(t, r.env.issuer+"/.well-known/openid-configuration")
	var out []string
	for _, g := range doc["grant_types_supported"].([]any) {
		out = append(out, g.(string))
	}
	return out
}

// countEvents counts audit events of kind with detail ("" for any).
func (r *rig) countEvents(kind, detail string) int64 {
	r.t.Helper()
	if detail == "" {
		return countEvents(r.t, "kind = ?", kind)
	}
	return countEvents(r.t, "kind = ? AND detail = ?", kind, detail)
}

// TestPasswordGrant drives the grant with x/oauth2's
// PasswordCredentialsToken as the client (RFC 6749 §4.3): an access
// token, a refresh token that refreshes, and with openid an ID token that
// go-oidc verifies, its auth_time the time of the request. The login and
// the issue are audited, and discovery lists the grant.
func TestPasswordGrant(t *testing.T) {
	t.Parallel()
	r := newRig(t, passwordEnable, "true")
	client, secret := pwClient(r)
	ctx := context.Background()

	if got := grantTypesSupported(t, r); !slices.Contains(got, "password") {
		t.Errorf("grant_types_supported = %v, want password in it", got)
	}
	provider, err := oidc.NewProvider(ctx, r.env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	for _, tt := range []struct {
		name      string
		scopes    []string
		style     oauth2.AuthStyle
		wantScope string
	}{
		{"asked scope, basic", []string{"openid", "email", "offline_access"}, oauth2.AuthStyleInHeader, "openid email"}, // offline_access dropped: no scope here
		{"default scope, post", nil, oauth2.AuthStyleInParams, "openid email"},
		{"no openid", []string{"email"}, oauth2.AuthStyleInParams, "email"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := oauth2.Config{ClientID: client.ClientID, ClientSecret: secret, Scopes: tt.scopes,
				Endpoint: oauth2.Endpoint{TokenURL: r.env.issuer + "/token", AuthStyle: tt.style}}
			before := time.Now().Unix()
			tok, err := cfg.PasswordCredentialsToken(ctx, testUser, testPassword)
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			after := time.Now().Unix()
			r.keep(tok.AccessToken, tok.RefreshToken)
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Errorf("access %q, refresh %q, type %q, expiry %v; want both tokens, Bearer, an expiry",
					tok.AccessToken, tok.RefreshToken, tok.TokenType, tok.Expiry)
			}
			if got := tok.Extra("scope"); got != tt.wantScope {
				t.Errorf("scope = %v, want %q", got, tt.wantScope)
			}
			raw, _ := tok.Extra("id_token").(string)
			openid := strings.Contains(" "+tt.wantScope+" ", " openid ")
			if !openid {
				if raw != "" {
					t.Errorf("an ID token without openid")
				}
			} else {
				idt, err := provider.Verifier(&oidc.Config{ClientID: client.ClientID}).Verify(ctx, raw)
				if err != nil {
					t.Fatalf("id token: %v", err)
				}
				var claims struct {
					AuthTime int64  `json:"auth_time"`
					Email    string `json:"email"`
				}
				if err := idt.Claims(&claims); err != nil {
					t.Fatal(err)
				}
				if idt.Subject != r.user.Subject || claims.AuthTime < before || claims.AuthTime > after {
					t.Errorf("sub %q, auth_time %d; want %q, in [%d, %d]", idt.Subject, claims.AuthTime, r.user.Subject, before, after)
				}
			}
			var row models.Token
			if err := r.db.Where("access_token_hash = ?", oauth.HashToken(tok.AccessToken)).Take(&row).Error; err != nil {
				t.Fatalf("stored token: %v", err)
			}
			if row.UserID == nil || *row.UserID != r.user.ID || row.ClientID != client.ID || row.Scope != tt.wantScope {
				t.Errorf("stored token: user %v, client %d, scope %q; want %d, %d, %q", row.UserID, row.ClientID, row.Scope, r.user.ID, client.ID, tt.wantScope)
			}
			if resp, body := r.userinfo(tok.AccessToken); !openid {
				wantUserinfo(t, resp, body, http.StatusForbidden, "insufficient_scope", "")
			} else if resp.StatusCode != http.StatusOK || body["sub"] != r.user.Subject {
				t.Errorf("userinfo: %d %v, want 200 for %s", resp.StatusCode, body, r.user.Subject)
			}
			resp, body := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
				"client_id": {client.ClientID}, "client_secret": {secret}})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("refresh: %d %v, want 200", resp.StatusCode, body)
			}
			access, _ := body["access_token"].(string)
			refresh, _ := body["refresh_token"].(string)
			r.keep(access, refresh)
		})
	}
	if n := r.countEvents(models.EventTokenIssued, oauth.GrantPassword); n != 3 {
		t.Errorf("%d token_issued events for password, want 3", n)
	}
	if n := r.countEvents(models.EventLoginSucceeded, ""); n != 3 {
		t.Errorf("%d login_succeeded events, want 3", n)
	}
}

// TestPasswordGrantOff: without OIDC_GRANT_TYPE_PASSWORD_ENABLE the grant
// is unsupported_grant_type, even for a client given it, and discovery
// does not list it.
func TestPasswordGrantOff(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	client, secret := pwClient(r)
	if got := grantTypesSupported(t, r); slices.Contains(got, "password") {
		t.Errorf("grant_types_supported = %v, want no password", got)
	}
	before := r.counts()
	before["events"], before["throttles"] = r.count("events"), r.count("throttles")
	resp, body := r.postToken(pwForm(client.ClientID, secret, testUser, testPassword, ""))
	wantTokenError(t, resp, body, http.StatusBadRequest, "unsupported_grant_type")
	r.wantUnchanged(t, before, "tokens", "events", "throttles")
}

// TestPasswordGrantErrors: every refusal is a clear OAuth error and
// stores no token; a wrong password, an unknown user and an inactive one
// get the same answer, and are audited as failed logins.
func TestPasswordGrantErrors(t *testing.T) {
	t.Parallel()
	r := newRig(t, passwordEnable, "true")
	client, secret := pwClient(r)
	r.env.createUser("dormant", "dormant password 1", func(u *models.User) { u.Active = false })
	r.keep("dormant password 1")
	// A public client given the grant behind the forms' backs.
	pub, _ := r.env.createClient(models.ClientPublic, []string{cbURI}, func(c *models.Client) {
		c.GrantTypes = []string{oauth.GrantPassword}
	})
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantError  string
		failed     bool // a counted, audited failed login
	}{
		{"client without the grant", pwForm(r.conf.ClientID, r.secret, testUser, testPassword, ""), 400, "unauthorized_client", false},
		{"public client", pwForm(pub.ClientID, "", testUser, testPassword, ""), 400, "unauthorized_client", false},
		{"wrong client secret", pwForm(client.ClientID, "wrong", testUser, testPassword, ""), 401, "invalid_client", false},
		{"no username", pwForm(client.ClientID, secret, "", testPassword, ""), 400, "invalid_request", false},
		{"no password", pwForm(client.ClientID, secret, testUser, "", ""), 400, "invalid_request", false},
		{"scope not allowed", pwForm(client.ClientID, secret, testUser, testPassword, "openid profile"), 400, "invalid_scope", false},
		{"wrong password", pwForm(client.ClientID, secret, testUser, "wrong", ""), 400, "invalid_grant", true},
		{"unknown user", pwForm(client.ClientID, secret, "nobody", "wrong", ""), 400, "invalid_grant", true},
		{"inactive user", pwForm(client.ClientID, secret, "dormant", "dormant password 1", ""), 400, "invalid_grant", true},
	}
	var descriptions []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.counts()
			failed := r.countEvents(models.EventLoginFailed, "")
			resp, body := r.postToken(tt.form)
			wantTokenError(t, resp, body, tt.wantStatus, tt.wantError)
			r.wantUnchanged(t, before, "tokens")
			want := failed
			if tt.failed {
				want++
				d, _ := body["error_description"].(string)
				descriptions = append(descriptions, d)
			}
			if got := r.countEvents(models.EventLoginFailed, ""); got != want {
				t.Errorf("%d login_failed events, want %d", got, want)
			}
		})
	}
	if len(descriptions) != 3 || len(slices.Compact(slices.Clone(descriptions))) != 1 {
		t.Errorf("descriptions %q, want one for every bad credential", descriptions)
	}
	// x/oauth2 sees the same.
	cfg := oauth2.Config{ClientID: client.ClientID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: r.env.issuer + "/token"}}
	_, err := cfg.PasswordCredentialsToken(context.Background(), testUser, "wrong")
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("PasswordCredentialsToken with a wrong password: %v, want invalid_grant", err)
	}
}

// TestPasswordGrantThrottle: the grant and POST /login share one
// throttle: with a limit of 2, a failed /login and a failed grant lock
// the pair; then even the right password is invalid_grant with
// Retry-After at /token and 429 at /login, and no token is issued.
func TestPasswordGrantThrottle(t *testing.T) {
	t.Parallel()
	r := newRig(t, passwordEnable, "true", "OIDC_LOGIN_MAX_FAILURES", "2")
	client, secret := pwClient(r)
	b := r.env.browser()
	if p := b.submitLogin(b.get("/login"), testUser, "wrong"); p.status != http.StatusOK {
		t.Fatalf("failed /login: %d, want 200 with the form", p.status)
	}
	resp, body := r.postToken(pwForm(client.ClientID, secret, testUser, "wrong", ""))
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if resp.Header.Get("Retry-After") != "" {
		t.Errorf("a wrong password carries Retry-After %q, want none before the limit", resp.Header.Get("Retry-After"))
	}

	before := r.counts()
	resp, body = r.postToken(pwForm(client.ClientID, secret, testUser, testPassword, "openid"))
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 || time.Duration(n)*time.Second > r.env.cfg.LoginThrottleWindow {
		t.Errorf("Retry-After = %q, want whole seconds in [1, %d]", resp.Header.Get("Retry-After"), int(r.env.cfg.LoginThrottleWindow/time.Second))
	}
	r.wantUnchanged(t, before, "tokens")
	if p := b.submitLogin(b.get("/login"), testUser, testPassword); p.status != http.StatusTooManyRequests {
		t.Errorf("/login after the grant's failure: %d, want 429", p.status)
	}
}
