package main

import (
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// TestUserinfo covers how /userinfo finds and judges the access token
// (OpenID Connect Core §5.3, RFC 6750 §2 and §3).
func TestUserinfo(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	good, _ := r.tokens(b, r.conf, r.secret, nil)["access_token"].(string)
	noOpenID, _ := r.tokens(b, r.conf, r.secret, func(v url.Values) { v.Set("scope", "profile") })["access_token"].(string)
	bogus := oauth.NewToken()
	r.keep(bogus)

	type request struct {
		method, path string
		header       string     // Authorization
		query, form  url.Values // access_token in the query, in the body
	}
	tok := func(s string) url.Values { return url.Values{"access_token": {s}} }
	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantError  string // "" with 401: a bare challenge (RFC 6750 §3.1)
	}{
		{"no token", request{method: "GET", path: "/userinfo"}, 401, ""},
		{"no token, POST", request{method: "POST", path: "/userinfo", form: url.Values{}}, 401, ""},
		{"unknown token in the header", request{method: "GET", path: "/userinfo", header: "Bearer " + bogus}, 401, "invalid_token"},
		{"unknown token in the query", request{method: "GET", path: "/userinfo", query: tok(bogus)}, 401, "invalid_token"},
		{"unknown token in the body", request{method: "POST", path: "/userinfo", form: tok(bogus)}, 401, "invalid_token"},
		{"Basic instead of Bearer", request{method: "GET", path: "/userinfo", header: "Basic " + good}, 400, "invalid_request"},
		{"Bearer without a token", request{method: "GET", path: "/userinfo", header: "Bearer"}, 400, "invalid_request"},
		{"token without openid scope", request{method: "GET", path: "/userinfo", header: "Bearer " + noOpenID}, 403, "insufficient_scope"},
		{"token in header and query", request{method: "GET", path: "/userinfo", header: "Bearer " + good, query: tok(good)}, 400, "invalid_request"},
		{"token in header and body", request{method: "POST", path: "/userinfo", header: "Bearer " + good, form: tok(good)}, 400, "invalid_request"},
		{"token in query and body", request{method: "POST", path: "/userinfo", query: tok(good), form: tok(good)}, 400, "invalid_request"},
		{"token twice in the query", request{method: "GET", path: "/userinfo", query: url.Values{"access_token": {good, good}}}, 400, "invalid_request"},
		{"token twice in the body", request{method: "POST", path: "/userinfo", form: url.Values{"access_token": {good, good}}}, 400, "invalid_request"},
		{"Bearer header, GET", request{method: "GET", path: "/userinfo", header: "Bearer " + good}, 200, ""},
		{"Bearer header, POST", request{method: "POST", path: "/userinfo", header: "Bearer " + good}, 200, ""},
		{"bearer scheme in lower case", request{method: "GET", path: "/userinfo", header: "bearer " + good}, 200, ""},
		{"form body, POST", request{method: "POST", path: "/userinfo", form: tok(good)}, 200, ""},
		{"query, GET", request{method: "GET", path: "/userinfo", query: tok(good)}, 200, ""},
		{"trailing slash, header", request{method: "GET", path: "/userinfo/", header: "Bearer " + good}, 200, ""},
		{"trailing slash, query", request{method: "GET", path: "/userinfo/", query: tok(good)}, 200, ""},
		{"trailing slash, form body", request{method: "POST", path: "/userinfo/", form: tok(good)}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := r.env.issuer + tt.req.path
			if tt.req.query != nil {
				target += "?" + tt.req.query.Encode()
			}
			var body io.Reader
			if tt.req.form != nil {
				body = strings.NewReader(tt.req.form.Encode())
			}
			req, err := http.NewRequest(tt.req.method, target, body)
			if err != nil {
				t.Fatalf("new request: %v", err)
			}
			if tt.req.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.req.header != "" {
				req.Header.Set("Authorization", tt.req.header)
			}
			resp, out := doJSON(t, req)
			wantUserinfo(t, resp, out, tt.wantStatus, tt.wantError, r.user.Subject)
		})
	}
}

// TestUserinfoRefusedTokens: a token that was good stops working when its
// user is deactivated, when it expires, and when a refresh rotates it out.
func TestUserinfoRefusedTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(r *rig, tok map[string]any)
	}{
		{"user deactivated", func(r *rig, _ map[string]any) { r.setActive(r.user, false) }},
		{"token expired", func(r *rig, _ map[string]any) { r.env.clock.Advance(r.env.cfg.TokenExpire + time.Second) }},
		{"rotated out by a refresh", func(r *rig, tok map[string]any) {
			resp, body := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
				"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
			if resp.StatusCode != http.StatusOK {
				r.t.Fatalf("refresh: got %d %v, want 200", resp.StatusCode, body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each row has its own server and database
			r := newRig(t)
			tok := r.tokens(r.env.browser(), r.conf, r.secret, nil)
			access := tok["access_token"].(string)
			resp, out := r.userinfo(access)
			wantUserinfo(t, resp, out, http.StatusOK, "", r.user.Subject)
			tt.spoil(r, tok)
			resp, out = r.userinfo(access)
			wantUserinfo(t, resp, out, http.StatusUnauthorized, "invalid_token", "")
		})
	}
}

// TestUserinfoQueryTokenSetting: OIDC_USERINFO_QUERY_TOKEN=false refuses
// ?access_token= (RFC 6750 §2.3 discourages it); the header still works.
func TestUserinfoQueryTokenSetting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		setting    string
		wantStatus int
		wantError  string
	}{
		{"", http.StatusOK, ""},
		{"true", http.StatusOK, ""},
		{"false", http.StatusBadRequest, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run("OIDC_USERINFO_QUERY_TOKEN="+tt.setting, func(t *testing.T) {
			r := newRig(t, "OIDC_USERINFO_QUERY_TOKEN", tt.setting)
			access := r.tokens(r.env.browser(), r.conf, r.secret, nil)["access_token"].(string)
			req, _ := http.NewRequest(http.MethodGet, r.env.issuer+"/userinfo?access_token="+url.QueryEscape(access), nil)
			resp, out := doJSON(t, req)
			wantUserinfo(t, resp, out, tt.wantStatus, tt.wantError, r.user.Subject)
			resp, out = r.userinfo(access)
			wantUserinfo(t, resp, out, http.StatusOK, "", r.user.Subject)
		})
	}
}

// TestUserinfoClaims: each scope releases its claims (PARITY §5) and
// empty claims are left out.
func TestUserinfoClaims(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	client, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.RequireConsent = false })
	r.keep(secret)
	const carolPassword, davePassword = "carol's long password", "dave's long password"
	r.keep(carolPassword, davePassword)
	carol := r.env.createUser("carol", carolPassword, func(u *models.User) {
		u.Name, u.GivenName, u.FamilyName, u.Nickname = "Carol Q. Example", "Carol", "Example", "cq"
		u.PreferredUsername, u.Profile, u.Picture, u.Website = "carolq", "http://127.0.0.1/carol", "http://127.0.0.1/carol.png", "http://127.0.0.1/"
		u.Gender, u.Birthdate, u.Zoneinfo, u.Locale = "female", "1990-01-02", "Europe/London", "en-GB"
		u.Email, u.EmailVerified = "carol@example.org", false
		u.PhoneNumber, u.PhoneNumberVerified = "+44 20 7946 0001", true
		u.AddressFormatted, u.AddressStreet, u.AddressLocality = "1 Road\nTown", "1 Road", "Town"
		u.AddressPostalCode, u.AddressCountry = "AB1 2CD", "GB"
	})
	dave := r.env.createUser("dave", davePassword)
	browsers := map[*models.User]*browser{}
	passwords := map[*models.User]string{carol: carolPassword, dave: davePassword}

	tests := []struct {
		name  string
		user  *models.User
		scope string
		want  map[string]any // every claim, exactly (updated_at: any number)
	}{
		{"openid alone is sub", carol, "openid", map[string]any{"sub": carol.Subject}},
		{"profile", carol, "openid profile", map[string]any{
			"sub": carol.Subject, "name": "Carol Q. Example", "given_name": "Carol", "family_name": "Example",
			"nickname": "cq", "preferred_username": "carolq", "profile": "http://127.0.0.1/carol",
			"picture": "http://127.0.0.1/carol.png", "website": "http://127.0.0.1/", "gender": "female",
			"birthdate": "1990-01-02", "zoneinfo": "Europe/London", "locale": "en-GB", "updated_at": nil,
		}},
		{"email", carol, "openid email", map[string]any{"sub": carol.Subject, "email": "carol@example.org", "email_verified": false}},
		{"phone", carol, "openid phone", map[string]any{"sub": carol.Subject, "phone_number": "+44 20 7946 0001", "phone_number_verified": true}},
		{"address", carol, "openid address", map[string]any{"sub": carol.Subject, "address": map[string]any{
			"formatted": "1 Road\nTown", "street_address": "1 Road", "locality": "Town", "postal_code": "AB1 2CD", "country": "GB",
		}}},
		{"every scope of an empty profile", dave, "openid profile email phone address", map[string]any{
			"sub": dave.Subject, "preferred_username": "dave", "updated_at": nil,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := browsers[tt.user]
			if b == nil {
				b = r.env.browser()
				browsers[tt.user] = b
			}
			loc := b.authorize(r.authURL(client, func(v url.Values) { v.Set("scope", tt.scope) }), tt.user.Username, passwords[tt.user], "allow")
			code := loc.Query().Get("code")
			r.keep(code)
			resp, tok := r.postToken(r.codeForm(client, secret, code))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("exchange: got %d %v, want 200", resp.StatusCode, tok)
			}
			resp, got := r.userinfo(tok["access_token"].(string))
			wantUserinfo(t, resp, got, http.StatusOK, "", tt.user.Subject)
			if gotKeys, wantKeys := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(tt.want)); !slices.Equal(gotKeys, wantKeys) {
				t.Errorf("claims = %v, want exactly %v", gotKeys, wantKeys)
			}
			for k, want := range tt.want {
				if k == "updated_at" {
					if n, ok := got[k].(float64); !ok || n <= 0 {
						t.Errorf("updated_at = %v, want seconds since the epoch", got[k])
					}
					continue
				}
				if !jsonEqual(got[k], want) {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
		})
	}
}

// userinfo calls GET /userinfo with a Bearer header.
func (r *rig) userinfo(access string) (*http.Response, map[string]any) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.env.issuer+"/userinfo", nil)
	if err != nil {
		r.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	return doJSON(r.t, req)
}

func (r *rig) userinfoStatus(access string) int {
	resp, _ := r.userinfo(access)
	return resp.StatusCode
}

// wantUserinfo checks a /userinfo answer: on success the user's sub and
// no-store; on failure the error and its RFC 6750 §3 challenge.
func wantUserinfo(t *testing.T, resp *http.Response, body map[string]any, status int, code, sub string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d (%v), want %d", resp.StatusCode, body, status)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	if status == http.StatusOK {
		if body["sub"] != sub {
			t.Errorf("sub = %v, want %s", body["sub"], sub)
		}
		if challenge != "" {
			t.Errorf("WWW-Authenticate = %q on success, want none", challenge)
		}
		return
	}
	if !strings.HasPrefix(challenge, "Bearer") {
		t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", challenge)
	}
	if code == "" {
		// RFC 6750 §3.1: no credentials, no error code in the challenge.
		if strings.Contains(challenge, "error=") {
			t.Errorf("WWW-Authenticate = %q, want no error for a request without a token", challenge)
		}
		return
	}
	if want := `error="` + code + `"`; !strings.Contains(challenge, want) {
		t.Errorf("WWW-Authenticate = %q, want it to contain %s", challenge, want)
	}
	if body["error"] != code {
		t.Errorf("error = %v, want %s", body["error"], code)
	}
	if _, ok := body["sub"]; ok {
		t.Errorf("an error answer carries claims: %v", body)
	}
}

// jsonEqual compares a decoded JSON value with a wanted one, nested
// objects included.
func jsonEqual(got, want any) bool {
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if gok || wok {
		if !gok || !wok || len(gm) != len(wm) {
			return false
		}
		for k, v := range wm {
			if !jsonEqual(gm[k], v) {
				return false
			}
		}
		return true
	}
	return got == want
}
