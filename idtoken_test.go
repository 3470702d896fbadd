package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestIDTokenLifetime: an ID token's iat is the moment it is issued (on
// the server's clock) and it lives OIDC_IDTOKEN_EXPIRE, whatever the
// access token's lifetime (OpenID Connect Core §2, PARITY §4).
func TestIDTokenLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		idTokenSecs, tokenSec int64
	}{
		{"ID token shorter than the access token", 1234, 7200},
		{"ID token longer than the access token", 90000, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each row has its own server and database
			r := newRig(t, "OIDC_IDTOKEN_EXPIRE", fmt.Sprint(tt.idTokenSecs), "OIDC_TOKEN_EXPIRE", fmt.Sprint(tt.tokenSec))
			// Far from the wall clock, so that a server reading time.Now
			// instead of its injected clock is caught.
			r.env.clock.Advance(3 * time.Hour)
			code := r.codeFor(r.env.browser(), r.conf, nil)
			before := r.env.clock.Now().Unix()
			resp, body := r.postToken(r.codeForm(r.conf, r.secret, code))
			after := r.env.clock.Now().Unix()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("exchange: got %d %v, want 200", resp.StatusCode, body)
			}
			claims := idTokenClaims(t, body)
			iat, exp := claimInt(t, claims, "iat"), claimInt(t, claims, "exp")
			if iat < before || iat > after {
				t.Errorf("iat = %d, want the issue time, in [%d, %d]", iat, before, after)
			}
			if got := exp - iat; got != tt.idTokenSecs {
				t.Errorf("exp - iat = %d, want %d (OIDC_IDTOKEN_EXPIRE)", got, tt.idTokenSecs)
			}
			if got := body["expires_in"]; got != float64(tt.tokenSec) {
				t.Errorf("expires_in = %v, want %d (OIDC_TOKEN_EXPIRE)", got, tt.tokenSec)
			}
		})
	}
}

// TestIDTokenRefreshKeepsAuthTime: an ID token from a refresh keeps the
// original login's auth_time, is issued now, and has no nonce (OpenID
// Connect Core §12.2; PARITY §3, seed system issue #378).
func TestIDTokenRefreshKeepsAuthTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		advance time.Duration
	}{
		{"an hour later", time.Hour},
		{"a week later", 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each row has its own server and database
			r := newRig(t)
			first := r.tokens(r.env.browser(), r.conf, r.secret, nil)
			orig := idTokenClaims(t, first)
			if orig["nonce"] != "n-1" {
				t.Fatalf("first id_token nonce = %v, want n-1 (the request's)", orig["nonce"])
			}
			authTime, origIat := claimInt(t, orig, "auth_time"), claimInt(t, orig, "iat")

			r.env.clock.Advance(tt.advance)
			refresh, _ := first["refresh_token"].(string)
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
				"client_id": {r.conf.ClientID}, "client_secret": {r.secret}}
			before := r.env.clock.Now().Unix()
			resp, body := r.postToken(form)
			after := r.env.clock.Now().Unix()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("refresh: got %d %v, want 200", resp.StatusCode, body)
			}
			claims := idTokenClaims(t, body)
			if got := claimInt(t, claims, "auth_time"); got != authTime {
				t.Errorf("refreshed auth_time = %d, want %d (the original login)", got, authTime)
			}
			iat := claimInt(t, claims, "iat")
			if iat < before || iat > after {
				t.Errorf("refreshed iat = %d, want the refresh time, in [%d, %d]", iat, before, after)
			}
			if min := origIat + int64(tt.advance/time.Second); iat < min {
				t.Errorf("refreshed iat = %d, want at least %d (first iat + %s)", iat, min, tt.advance)
			}
			if got, want := claimInt(t, claims, "exp")-iat, int64(r.env.cfg.IDTokenExpire/time.Second); got != want {
				t.Errorf("refreshed exp - iat = %d, want %d", got, want)
			}
			if got, ok := claims["nonce"]; ok {
				t.Errorf("refreshed id_token nonce = %v, want none", got)
			}
			if claims["sub"] != orig["sub"] || claims["aud"] != orig["aud"] {
				t.Errorf("refreshed sub, aud = %v, %v; want %v, %v", claims["sub"], claims["aud"], orig["sub"], orig["aud"])
			}
		})
	}
}

// TestIDTokenIncludeClaims: OIDC_IDTOKEN_INCLUDE_CLAIMS=true puts the
// claims of the granted scopes, and only those, in the ID token; by
// default the ID token carries none of them (PARITY §4).
func TestIDTokenIncludeClaims(t *testing.T) {
	t.Parallel()
	emailClaims := []string{"email", "email_verified"}
	profileClaims := []string{"name", "given_name", "family_name", "preferred_username", "updated_at"}
	tests := []struct {
		name        string
		setting     string // "" leaves the default
		scope       string
		wantPresent []string
		wantAbsent  []string
	}{
		{"default, all scopes", "", "openid profile email", nil, append(emailClaims, profileClaims...)},
		{"false, all scopes", "false", "openid profile email", nil, append(emailClaims, profileClaims...)},
		{"true, email only", "true", "openid email", emailClaims, profileClaims},
		{"true, profile only", "true", "openid profile", profileClaims, emailClaims},
		{"true, profile and email", "true", "openid profile email", append(emailClaims, profileClaims...), []string{"phone_number", "address"}},
		{"true, openid only", "true", "openid", nil, append(emailClaims, profileClaims...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each row has its own server and database
			var vars []string
			if tt.setting != "" {
				vars = []string{"OIDC_IDTOKEN_INCLUDE_CLAIMS", tt.setting}
			}
			r := newRig(t, vars...)
			body := r.tokens(r.env.browser(), r.conf, r.secret, func(v url.Values) { v.Set("scope", tt.scope) })
			if body["scope"] != tt.scope {
				t.Fatalf("granted scope = %v, want %q", body["scope"], tt.scope)
			}
			claims := idTokenClaims(t, body)
			want := map[string]any{
				"email": r.user.Email, "email_verified": true, "name": r.user.Name,
				"given_name": r.user.GivenName, "family_name": r.user.FamilyName, "preferred_username": testUser,
			}
			for _, c := range tt.wantPresent {
				got, ok := claims[c]
				if !ok {
					t.Errorf("id_token has no %s, want it (scope %q)", c, tt.scope)
					continue
				}
				if w, known := want[c]; known && got != w {
					t.Errorf("id_token %s = %v, want %v", c, got, w)
				}
			}
			for _, c := range tt.wantAbsent {
				if got, ok := claims[c]; ok {
					t.Errorf("id_token %s = %v, want absent", c, got)
				}
			}
			if claims["sub"] != r.user.Subject || claims["iss"] != r.env.issuer {
				t.Errorf("id_token sub, iss = %v, %v; want %s, %s", claims["sub"], claims["iss"], r.user.Subject, r.env.issuer)
			}
		})
	}
}

// TestConsentExpiry: a stored consent spares the user the consent page
// until OIDC_SKIP_CONSENT_EXPIRE days have passed, then it is asked again
// (PARITY §2 steps 6 and 7).
func TestConsentExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setting string // days; "" leaves the default
		days    int
	}{
		{"two days", "2", 2},
		{"default 90 days", "", 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each row has its own server and database
			// A year-long session, so that only the consent expires.
			vars := []string{"OIDC_SESSION_EXPIRE", fmt.Sprint(int64(365 * 24 * time.Hour / time.Second))}
			if tt.setting != "" {
				vars = append(vars, "OIDC_SKIP_CONSENT_EXPIRE", tt.setting)
			}
			r := newRig(t, vars...)
			b := r.env.browser()
			p := b.submitLogin(b.get(r.authURL(r.conf, nil)), testUser, testPassword)
			if !isConsentPage(p) {
				t.Fatalf("first authorization: got %d at %s, want the consent page", p.status, p.url)
			}
			r.wantCode(t, b.decide(p, "allow"), cbURI)

			r.wantCode(t, b.get(r.authURL(r.conf, nil)), cbURI)

			lifetime := time.Duration(tt.days) * 24 * time.Hour
			r.env.clock.Advance(lifetime - time.Minute)
			if p := b.get(r.authURL(r.conf, nil)); isConsentPage(p) || isLoginPage(p) {
				t.Fatalf("a minute before the consent expires: got %s, want a code", pageName(p))
			} else {
				r.wantCode(t, p, cbURI)
			}

			r.env.clock.Advance(2 * time.Minute)
			p = b.get(r.authURL(r.conf, nil))
			if !isConsentPage(p) {
				t.Fatalf("a minute after the consent expired: got %d at %s (%s), want the consent page", p.status, p.url.Path, pageName(p))
			}
			r.wantCode(t, b.decide(p, "allow"), cbURI)
			// The renewed consent is skipped again.
			r.wantCode(t, b.get(r.authURL(r.conf, nil)), cbURI)
		})
	}
}

// claimInt reads a numeric claim as whole seconds.
func claimInt(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	f, ok := claims[name].(float64)
	if !ok {
		t.Fatalf("id_token %s = %v, want a number", name, claims[name])
	}
	return int64(f)
}

// pageName says which of oidcd's pages p is, for failure messages.
func pageName(p page) string {
	for _, id := range []string{"login-page", "consent-page", "error-page", "home-page"} {
		if strings.Contains(p.body, `data-testid="`+id+`"`) {
			return id
		}
	}
	if loc := p.location(); loc != nil {
		// Without the query: it may hold a code.
		return fmt.Sprintf("redirect to %s://%s%s (error %q)", loc.Scheme, loc.Host, loc.Path, loc.Query().Get("error"))
	}
	return fmt.Sprintf("status %d", p.status)
}
