package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"oidcd/models"
)

// TestAuthorizeErrorPage covers PARITY §2 steps 1 and 2: until client_id
// and redirect_uri are known good, the answer is a 400 error page and never
// a redirect, and nothing is parked.
func TestAuthorizeErrorPage(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tests := []struct {
		name string
		edit func(v url.Values)
	}{
		{"unknown client_id", func(v url.Values) { v.Set("client_id", "no-such-client") }},
		{"missing client_id", func(v url.Values) { v.Del("client_id") }},
		{"empty client_id", func(v url.Values) { v.Set("client_id", "") }},
		{"repeated client_id", func(v url.Values) { v.Add("client_id", r.conf.ClientID) }},
		{"unregistered redirect_uri", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1/other") }},
		{"redirect_uri with an unregistered query", func(v url.Values) { v.Set("redirect_uri", cbURI+"?x=1") }},
		{"redirect_uri with a trailing slash", func(v url.Values) { v.Set("redirect_uri", cbURI+"/") }},
		{"redirect_uri with another host spelling", func(v url.Values) { v.Set("redirect_uri", "http://localhost/cb") }},
		{"redirect_uri with an explicit port", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:80/cb") }},
		{"redirect_uri with a fragment", func(v url.Values) { v.Set("redirect_uri", cbURI+"#f") }},
		{"missing redirect_uri", func(v url.Values) { v.Del("redirect_uri") }},
		{"repeated redirect_uri", func(v url.Values) { v.Add("redirect_uri", cbURI) }},
		{"redirect_uri of another client", func(v url.Values) {
			v.Set("client_id", r.pub.ClientID)
			v.Set("redirect_uri", "http://127.0.0.1/conf-only")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.counts()
			v := r.authParams(r.conf)
			tt.edit(v)
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				var p page
				if method == http.MethodGet {
					p = r.env.browser().get("/authorize?" + v.Encode())
				} else {
					p = r.env.browser().post("/authorize", v)
				}
				wantErrorPage(t, p, http.StatusBadRequest)
			}
			r.wantUnchanged(t, before, "auth_requests", "codes")
		})
	}
}

// TestAuthorizeRedirectErrors covers PARITY §2 step 3 onwards: once the
// client and redirect_uri are good, errors go back to the client as
// error, error_description, state and iss, and nothing is parked or issued.
func TestAuthorizeRedirectErrors(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	noCode, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = []string{} })
	idTokenOnly, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = []string{"id_token"} })
	const state = "st-123"
	tests := []struct {
		name      string
		client    *models.Client
		loggedIn  bool
		edit      func(v url.Values)
		wantError string
		wantState string
	}{
		{"missing response_type", r.conf, false, func(v url.Values) { v.Del("response_type") }, "invalid_request", state},
		{"unknown response_type", r.conf, false, func(v url.Values) { v.Set("response_type", "bogus") }, "unsupported_response_type", state},
		{"plain token not served, query asked for", r.conf, false, func(v url.Values) {
			v.Set("response_type", "token")
			v.Set("response_mode", "query")
		}, "unsupported_response_type", state},
		{"client with no response types", noCode, false, nil, "unauthorized_client", state},
		{"client allowed only id_token", idTokenOnly, false, nil, "unauthorized_client", state},
		{"no scope", r.conf, false, func(v url.Values) { v.Del("scope") }, "invalid_scope", state},
		{"no allowed scope", r.conf, false, func(v url.Values) { v.Set("scope", "admin write:all") }, "invalid_scope", state},
		{"code_challenge_method S512", r.conf, false, func(v url.Values) {
			v.Set("code_challenge", s256(pkceVerifier))
			v.Set("code_challenge_method", "S512")
		}, "invalid_request", state},
		// S256 only (RFC 9700 §2.1.1): plain is refused, also when it
		// comes as the default of a missing method (RFC 7636 §4.3).
		{"code_challenge_method plain", r.pub, false, func(v url.Values) {
			v.Set("code_challenge", pkceVerifier)
			v.Set("code_challenge_method", "plain")
		}, "invalid_request", state},
		{"code_challenge without a method", r.pub, false, func(v url.Values) {
			v.Set("code_challenge", pkceVerifier)
			v.Del("code_challenge_method")
		}, "invalid_request", state},
		{"code_challenge_method without challenge", r.conf, false, func(v url.Values) { v.Set("code_challenge_method", "S256") }, "invalid_request", state},
		{"public client without PKCE", r.pub, false, func(v url.Values) {
			v.Del("code_challenge")
			v.Del("code_challenge_method")
		}, "invalid_request", state},
		{"code_challenge too short", r.pub, false, func(v url.Values) { v.Set("code_challenge", strings.Repeat("a", 42)) }, "invalid_request", state},
		{"code_challenge with a bad character", r.pub, false, func(v url.Values) { v.Set("code_challenge", strings.Repeat("a", 42)+"!") }, "invalid_request", state},
		{"request object", r.conf, false, func(v url.Values) { v.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, "request_not_supported", state},
		{"request_uri", r.conf, false, func(v url.Values) { v.Set("request_uri", "http://127.0.0.1/req.jwt") }, "request_uri_not_supported", state},
		{"prompt=none without a session", r.conf, false, func(v url.Values) { v.Set("prompt", "none") }, "login_required", state},
		{"prompt=none with login, logged out", r.conf, false, func(v url.Values) { v.Set("prompt", "none login") }, "invalid_request", state},
		{"prompt=none with login, logged in", r.conf, true, func(v url.Values) { v.Set("prompt", "none login") }, "invalid_request", state},
		{"unknown prompt", r.conf, false, func(v url.Values) { v.Set("prompt", "bogus") }, "invalid_request", state},
		{"max_age=-1", r.conf, false, func(v url.Values) { v.Set("max_age", "-1") }, "invalid_request", state},
		{"max_age not a number", r.conf, false, func(v url.Values) { v.Set("max_age", "1h") }, "invalid_request", state},
		{"repeated state", r.conf, false, func(v url.Values) { v.Add("state", "other") }, "invalid_request", ""},
		{"repeated scope", r.conf, false, func(v url.Values) { v.Add("scope", "openid") }, "invalid_request", state},
		{"repeated response_type", r.conf, false, func(v url.Values) { v.Add("response_type", "code") }, "invalid_request", state},
		{"response_mode unknown", r.conf, false, func(v url.Values) { v.Set("response_mode", "web_message") }, "invalid_request", state},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := r.env.browser()
			if tt.loggedIn {
				r.login(b)
			}
			before := r.counts()
			v := r.authParams(tt.client)
			v.Set("state", state)
			if tt.edit != nil {
				tt.edit(v)
			}
			p := b.get("/authorize?" + v.Encode())
			r.wantRedirectError(t, p, cbURI, tt.wantError, tt.wantState)
			r.wantUnchanged(t, before, "auth_requests", "codes", "tokens")
		})
	}
}

// TestAuthorizeResponseEncoding checks that the response is built with
// proper encoding: a state full of delimiters comes back intact, and a
// registered redirect_uri's own query is kept, on errors and on success.
func TestAuthorizeResponseEncoding(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const withQuery = "http://127.0.0.1/cb?x=1"
	client, secret := r.env.createClient(models.ClientConfidential, []string{withQuery}, func(c *models.Client) { c.RequireConsent = false })
	r.keep(secret)
	tests := []struct {
		name      string
		state     string
		loggedIn  bool
		edit      func(v url.Values)
		wantError string
	}{
		{"error keeps query and state", "a&b=c d", false, func(v url.Values) { v.Set("prompt", "none") }, "login_required"},
		{"error with a state of reserved characters", "?#=&+%20/é", false, func(v url.Values) { v.Set("response_type", "bogus") }, "unsupported_response_type"},
		{"code keeps query and state", "a&b=c d", true, nil, ""},
		{"code with a state that looks like a parameter", "x=2&code=forged", true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := r.env.browser()
			if tt.loggedIn {
				r.login(b)
			}
			v := r.authParams(client)
			v.Set("redirect_uri", withQuery)
			v.Set("state", tt.state)
			if tt.edit != nil {
				tt.edit(v)
			}
			p := b.get("/authorize?" + v.Encode())
			if tt.wantError != "" {
				r.wantRedirectError(t, p, withQuery, tt.wantError, tt.state)
				return
			}
			loc := wantRedirectTo(t, p, withQuery)
			q := loc.Query()
			if got := q["state"]; len(got) != 1 || got[0] != tt.state {
				t.Errorf("state = %q, want exactly [%q]", got, tt.state)
			}
			if got := q["x"]; len(got) != 1 || got[0] != "1" {
				t.Errorf("x = %q, want exactly [1]", got)
			}
			code := q.Get("code")
			if got := q["code"]; len(got) != 1 || code == "" || code == "forged" {
				t.Fatalf("code = %q, want one issued code", got)
			}
			r.keep(code)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {withQuery},
				"client_id": {client.ClientID}, "client_secret": {secret}}
			resp, body := r.postToken(form)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("exchange: got %d %v, want 200", resp.StatusCode, body)
			}
		})
	}
}

// TestAuthorizeSession covers PARITY §2 steps 4 to 7 with a real browser
// session: prompt, max_age, consent reuse and the consent decision.
func TestAuthorizeSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, r *rig)
	}{
		{"prompt=none with consent needed is consent_required", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.login(b)
			before := r.counts()
			v := r.authParams(r.conf)
			v.Set("prompt", "none")
			v.Set("state", "s-cr")
			r.wantRedirectError(t, b.get("/authorize?"+v.Encode()), cbURI, "consent_required", "s-cr")
			r.wantUnchanged(t, before, "auth_requests", "codes", "user_consents")
		}},
		{"prompt=none with a session and consent issues a code", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.conf, nil) // logs in and consents
			v := r.authParams(r.conf)
			v.Set("prompt", "none")
			r.wantCode(t, b.get("/authorize?"+v.Encode()), cbURI)
		}},
		{"deny is access_denied and stores nothing", func(t *testing.T, r *rig) {
			b := r.env.browser()
			v := r.authParams(r.conf)
			v.Set("state", "s-deny")
			p := b.submitLogin(b.get("/authorize?"+v.Encode()), testUser, testPassword)
			consentPage := p
			before := r.counts()
			r.wantRedirectError(t, b.decide(p, "deny"), cbURI, "access_denied", "s-deny")
			r.wantUnchanged(t, before, "codes", "user_consents")
			if got := r.count("auth_requests"); got != before["auth_requests"]-1 {
				t.Errorf("auth_requests = %d, want %d: the denied request must be gone", got, before["auth_requests"]-1)
			}
			// The parked request is gone: allowing it afterwards is refused.
			wantErrorPage(t, b.decide(consentPage, "allow"), http.StatusBadRequest)
			r.wantUnchanged(t, before, "codes", "user_consents")
			// Nothing was remembered: the next request asks again.
			if p := b.get("/authorize?" + v.Encode()); !isConsentPage(p) {
				t.Errorf("after deny: got %d at %s, want the consent page again", p.status, p.url)
			}
		}},
		{"prompt=login while logged in asks once, then proceeds", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.conf, nil)
			v := r.authParams(r.conf)
			v.Set("prompt", "login")
			p := b.get("/authorize?" + v.Encode())
			if !isLoginPage(p) {
				t.Fatalf("prompt=login: got %d at %s, want the login page", p.status, p.url)
			}
			r.wantCode(t, b.submitLogin(p, testUser, testPassword), cbURI)
		}},
		{"prompt=select_account while logged in shows the account chooser once, then proceeds", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.conf, nil)
			v := r.authParams(r.conf)
			v.Set("prompt", "select_account")
			p := b.get("/authorize?" + v.Encode())
			if !isChooserPage(p) {
				t.Fatalf("prompt=select_account: got %d at %s, want the account chooser", p.status, p.url)
			}
			r.wantCode(t, chooseAccount(t, b, p, r.user.ID), cbURI)
		}},
		{"prompt=select_account with nobody signed in is the login page", func(t *testing.T, r *rig) {
			b := r.env.browser()
			p := b.get(r.authURL(r.conf, func(v url.Values) { v.Set("prompt", "select_account") }))
			if !isLoginPage(p) {
				t.Fatalf("prompt=select_account: got %d at %s, want the login page", p.status, p.url)
			}
			r.wantCode(t, b.decide(b.submitLogin(p, testUser, testPassword), "allow"), cbURI)
		}},
		{"max_age=0 after an earlier login forces a new login", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.conf, nil)
			r.env.clock.Advance(5 * time.Second)
			v := r.authParams(r.conf)
			v.Set("max_age", "0")
			p := b.get("/authorize?" + v.Encode())
			if !isLoginPage(p) {
				t.Fatalf("max_age=0: got %d at %s, want the login page", p.status, p.url)
			}
			relogin := r.env.clock.Now().Unix()
			code := r.wantCode(t, b.submitLogin(p, testUser, testPassword), cbURI)
			resp, body := r.postToken(r.codeForm(r.conf, r.secret, code))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("exchange: got %d %v, want 200", resp.StatusCode, body)
			}
			if got := idTokenClaims(t, body)["auth_time"]; got == nil || int64(got.(float64)) < relogin {
				t.Errorf("auth_time = %v, want the new login (>= %d)", got, relogin)
			}
		}},
		{"max_age=0 with prompt=none is login_required", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.conf, nil)
			r.env.clock.Advance(5 * time.Second)
			v := r.authParams(r.conf)
			v.Set("max_age", "0")
			v.Set("prompt", "none")
			r.wantRedirectError(t, b.get("/authorize?"+v.Encode()), cbURI, "login_required", v.Get("state"))
		}},
		{"max_age longer than the session's age needs no login", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.conf, nil)
			r.env.clock.Advance(5 * time.Second)
			v := r.authParams(r.conf)
			v.Set("max_age", "60")
			r.wantCode(t, b.get("/authorize?"+v.Encode()), cbURI)
		}},
		{"consent is reused for a confidential client", func(t *testing.T, r *rig) {
			b := r.env.browser()
			p := b.submitLogin(b.get(r.authURL(r.conf, nil)), testUser, testPassword)
			if !isConsentPage(p) {
				t.Fatalf("first authorization: got %d at %s, want the consent page", p.status, p.url)
			}
			r.wantCode(t, b.decide(p, "allow"), cbURI)
			r.wantCode(t, b.get(r.authURL(r.conf, nil)), cbURI)
		}},
		{"consent is asked again for a wider scope", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.conf, func(v url.Values) { v.Set("scope", "openid") })
			if p := b.get(r.authURL(r.conf, func(v url.Values) { v.Set("scope", "openid phone") })); !isConsentPage(p) {
				t.Errorf("wider scope: got %d at %s, want the consent page", p.status, p.url)
			}
		}},
		{"prompt=consent shows consent again", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.conf, nil)
			p := b.get(r.authURL(r.conf, func(v url.Values) { v.Set("prompt", "consent") }))
			if !isConsentPage(p) {
				t.Fatalf("prompt=consent: got %d at %s, want the consent page", p.status, p.url)
			}
			r.wantCode(t, b.decide(p, "allow"), cbURI)
		}},
		{"a public client always sees consent", func(t *testing.T, r *rig) {
			b := r.env.browser()
			r.codeFor(b, r.pub, nil)
			p := b.get(r.authURL(r.pub, nil))
			if !isConsentPage(p) {
				t.Fatalf("second authorization of a public client: got %d at %s, want the consent page", p.status, p.url)
			}
			r.wantCode(t, b.decide(p, "allow"), cbURI)
		}},
		{"a public client sees consent even with require_consent=false", func(t *testing.T, r *rig) {
			client, _ := r.env.createClient(models.ClientPublic, []string{cbURI}, func(c *models.Client) { c.RequireConsent = false })
			b := r.env.browser()
			p := b.submitLogin(b.get(r.authURL(client, nil)), testUser, testPassword)
			if !isConsentPage(p) {
				t.Fatalf("public client with require_consent=false: got %d at %s, want the consent page", p.status, p.url)
			}
			r.wantCode(t, b.decide(p, "allow"), cbURI)
		}},
		{"require_consent=false skips consent", func(t *testing.T, r *rig) {
			client, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.RequireConsent = false })
			b := r.env.browser()
			before := r.counts()
			p := b.submitLogin(b.get(r.authURL(client, nil)), testUser, testPassword)
			r.wantCode(t, p, cbURI)
			r.wantUnchanged(t, before, "user_consents")
		}},
		{"POST /authorize works like GET", func(t *testing.T, r *rig) {
			b := r.env.browser()
			v := r.authParams(r.conf)
			v.Set("state", "s-post")
			p := b.post("/authorize", v)
			if !isLoginPage(p) {
				t.Fatalf("POST /authorize: got %d at %s, want the login page", p.status, p.url)
			}
			p = b.decide(b.submitLogin(p, testUser, testPassword), "allow")
			code := r.wantCode(t, p, cbURI)
			if got := p.location().Query().Get("state"); got != "s-post" {
				t.Errorf("state = %q, want s-post", got)
			}
			resp, body := r.postToken(r.codeForm(r.conf, r.secret, code))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("exchange: got %d %v, want 200", resp.StatusCode, body)
			}
			// Logged in and consented: the next POST answers at once.
			r.wantCode(t, b.post("/authorize", v), cbURI)
			v.Set("response_type", "bogus")
			r.wantRedirectError(t, b.post("/authorize", v), cbURI, "unsupported_response_type", "s-post")
		}},
		{"POST /authorize reads the body, not the query", func(t *testing.T, r *rig) {
			b := r.env.browser()
			v := r.authParams(r.conf)
			wantErrorPage(t, b.post("/authorize?"+v.Encode(), url.Values{}), http.StatusBadRequest)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each row has its own server and database
			tt.run(t, newRig(t))
		})
	}
}

// --- shared helpers for authorize_test.go, token_test.go,
// userinfo_test.go and badinput_test.go ---

const (
	testUser     = "alice"
	testPassword = "alice's correct horse battery"
	cbURI        = "http://127.0.0.1/cb"
	// pkceVerifier is an RFC 7636 §4.1 verifier: 43-128 unreserved characters.
	pkceVerifier = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz_ABC"
)

// rig is a test server with one user, a confidential and a public client
// registered for cbURI, a read-only view of the database to check what was
// written, and a list of every secret the test handled: when the test
// ends, the server log must contain none of them.
type rig struct {
	t      *testing.T
	env    *testEnv
	db     *gorm.DB
	user   *models.User
	conf   *models.Client
	secret string
	pub    *models.Client

	mu      sync.Mutex
	secrets []string
}

func newRig(t *testing.T, vars ...string) *rig {
	t.Helper()
	env := newTestEnv(t, vars...)
	r := &rig{t: t, env: env, db: testDB(t)}
	r.user = env.createUser(testUser, testPassword, func(u *models.User) {
		u.Email, u.EmailVerified = "alice@example.org", true
		u.Name, u.GivenName, u.FamilyName = "Alice Liddell", "Alice", "Liddell"
	})
	r.conf, r.secret = env.createClient(models.ClientConfidential, []string{cbURI, "http://127.0.0.1/conf-only"})
	r.pub, _ = env.createClient(models.ClientPublic, []string{cbURI})
	r.keep(testPassword, r.secret, pkceVerifier)
	t.Cleanup(r.checkLog)
	return r
}

// keep records values that must never reach the server log.
func (r *rig) keep(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if v != "" {
			r.secrets = append(r.secrets, v)
		}
	}
}

// checkLog fails the test if the server log holds a secret the test used
// (STYLE: never a password, secret, code, token or cookie value).
func (r *rig) checkLog() {
	logs := r.env.logs.String()
	if !strings.Contains(logs, "msg=request") {
		r.t.Errorf("the server log has no request lines; the secret check would prove nothing:\n%s", logs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.secrets {
		if strings.Contains(logs, s) {
			r.t.Errorf("the server log contains a secret value (%.6s…), want none", s)
		}
	}
}

// count returns the number of rows in a table.
func (r *rig) count(table string) int64 {
	r.t.Helper()
	var n int64
	if err := r.db.Table(table).Count(&n).Error; err != nil {
		r.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

var countedTables = []string{"auth_requests", "codes", "tokens", "user_consents", "sessions"}

func (r *rig) counts() map[string]int64 {
	out := map[string]int64{}
	for _, table := range countedTables {
		out[table] = r.count(table)
	}
	return out
}

// wantUnchanged checks that nothing was written to the tables since before.
func (r *rig) wantUnchanged(t *testing.T, before map[string]int64, tables ...string) {
	t.Helper()
	for _, table := range tables {
		if got := r.count(table); got != before[table] {
			t.Errorf("rows in %s = %d, want %d (nothing written)", table, got, before[table])
		}
	}
}

// authParams is a valid code-flow request for client; a public client's
// request carries an S256 challenge of pkceVerifier.
func (r *rig) authParams(client *models.Client) url.Values {
	v := url.Values{
		"client_id": {client.ClientID}, "redirect_uri": {cbURI}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {"st-" + models.NewID()}, "nonce": {"n-1"},
	}
	if client.IsPublic() {
		v.Set("code_challenge", s256(pkceVerifier))
		v.Set("code_challenge_method", "S256")
	}
	return v
}

func (r *rig) authURL(client *models.Client, edit func(url.Values)) string {
	v := r.authParams(client)
	if edit != nil {
		edit(v)
	}
	return "/authorize?" + v.Encode()
}

// login signs b in directly at /login.
func (r *rig) login(b *browser) {
	r.t.Helper()
	signIn(r.t, b, testUser, testPassword)
}

// codeFor walks b through login and consent as needed and returns a code.
func (r *rig) codeFor(b *browser, client *models.Client, edit func(url.Values)) string {
	r.t.Helper()
	loc := b.authorize(r.authURL(client, edit), testUser, testPassword, "allow")
	code := loc.Query().Get("code")
	if code == "" {
		r.t.Fatalf("no code in %s", loc)
	}
	r.keep(code)
	return code
}

// codeForm is a valid authorization_code request for a code issued with
// authParams.
func (r *rig) codeForm(client *models.Client, secret, code string) url.Values {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cbURI}, "client_id": {client.ClientID}}
	if secret != "" {
		v.Set("client_secret", secret)
	}
	if client.IsPublic() {
		v.Set("code_verifier", pkceVerifier)
	}
	return v
}

// postToken posts to /token and remembers any tokens that come back.
func (r *rig) postToken(form url.Values, edit ...func(*http.Request)) (*http.Response, map[string]any) {
	r.t.Helper()
	resp, body := postForm(r.t, r.env.issuer+"/token", form, edit...)
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if s, ok := body[k].(string); ok {
			r.keep(s)
		}
	}
	return resp, body
}

// tokens runs the whole code flow for client and returns the token response.
func (r *rig) tokens(b *browser, client *models.Client, secret string, edit func(url.Values)) map[string]any {
	r.t.Helper()
	code := r.codeFor(b, client, edit)
	resp, body := r.postToken(r.codeForm(client, secret, code))
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("exchange: got %d %v, want 200", resp.StatusCode, body)
	}
	return body
}

// wantRedirectTo checks p is a 302 to redirect (with any query it has)
// and returns the target.
func wantRedirectTo(t *testing.T, p page, redirect string) *url.URL {
	t.Helper()
	loc := p.location()
	if p.status != http.StatusFound || loc == nil {
		t.Fatalf("got %d at %s, want a 302 to %s:\n%.500s", p.status, p.url, redirect, p.body)
	}
	want, _ := url.Parse(redirect)
	if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path || loc.Fragment != "" {
		t.Fatalf("redirected to %s, want %s", loc, redirect)
	}
	for k, vals := range want.Query() {
		if got := loc.Query()[k]; len(got) != len(vals) || got[0] != vals[0] {
			t.Errorf("redirect query %s = %q, want %q kept from the registered URI", k, got, vals)
		}
	}
	return loc
}

// wantRedirectError checks an authorization error response (RFC 6749
// §4.1.2.1, RFC 9207): exact error, a description, state and iss, no code.
func (r *rig) wantRedirectError(t *testing.T, p page, redirect, wantError, wantState string) {
	t.Helper()
	q := wantRedirectTo(t, p, redirect).Query()
	if got := q.Get("error"); got != wantError {
		t.Errorf("error = %q (%s), want %q", got, q.Get("error_description"), wantError)
	}
	if q.Get("error_description") == "" {
		t.Errorf("error_description is empty, want a description")
	}
	if got, ok := q["state"]; wantState == "" && ok || wantState != "" && (len(got) != 1 || got[0] != wantState) {
		t.Errorf("state = %q, want %q", got, wantState)
	}
	if got := q.Get("iss"); got != r.env.issuer {
		t.Errorf("iss = %q, want %q", got, r.env.issuer)
	}
	if q.Has("code") {
		t.Errorf("an error response carries a code")
	}
}

// wantCode checks p is a successful code response to redirect and returns
// the code.
func (r *rig) wantCode(t *testing.T, p page, redirect string) string {
	t.Helper()
	q := wantRedirectTo(t, p, redirect).Query()
	if q.Has("error") {
		t.Fatalf("got error %q (%s), want a code", q.Get("error"), q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("no code in the redirect")
	}
	if got := q.Get("iss"); got != r.env.issuer {
		t.Errorf("iss = %q, want %q", got, r.env.issuer)
	}
	r.keep(code)
	return code
}

// wantErrorPage checks p is our error page with status and no redirect.
func wantErrorPage(t *testing.T, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Errorf("status = %d, want %d", p.status, status)
	}
	if !strings.Contains(p.body, `data-testid="error-page"`) {
		t.Errorf("body is not the error page:\n%.500s", p.body)
	}
	if loc := p.header.Get("Location"); loc != "" {
		t.Errorf("Location = %q, want none", loc)
	}
}

func isLoginPage(p page) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, `data-testid="login-page"`)
}

func isConsentPage(p page) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, `data-testid="consent-page"`)
}

// s256 is the RFC 7636 §4.2 S256 challenge of verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// idTokenClaims reads the payload of the token response's id_token. The
// signature is checked by the end-to-end test; here only claims matter.
func idTokenClaims(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	raw, _ := body["id_token"].(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token = %q, want a compact JWS", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("id_token payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("id_token payload: %v", err)
	}
	return claims
}

// setActive turns a user on or off directly in the store.
func (r *rig) setActive(u *models.User, active bool) {
	r.t.Helper()
	if err := r.env.store.SetUserActive(context.Background(), u.ID, active); err != nil {
		r.t.Fatalf("set user active: %v", err)
	}
}

// TestConsentPageShowsTheClient checks what the consent page tells the
// user (PARITY §2 step 7): the client's name, logo, website and terms,
// and each requested scope's description, with openid itself not listed.
func TestConsentPageShowsTheClient(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	client, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.Name = "Links RP"
		c.Logo = "/logos/links-rp"
		c.WebsiteURL = "https://rp.example/home?a=1&b=2"
		c.TermsURL = "https://rp.example/terms"
		c.Scopes = []string{"openid", "email", "phone", "address"}
	})
	b := r.env.browser()
	p := b.submitLogin(b.get(r.authURL(client, func(v url.Values) { v.Set("scope", "openid email address") })), testUser, testPassword)
	if !isConsentPage(p) {
		t.Fatalf("got %d at %s, want the consent page", p.status, p.url)
	}
	for _, want := range []string{
		`<span data-testid="client-name">Links RP</span>`,
		`<img class="logo" src="/logos/links-rp"`,
		`href="https://rp.example/home?a=1&amp;b=2" rel="noopener noreferrer" target="_blank" data-testid="client-website"`,
		`href="https://rp.example/terms" rel="noopener noreferrer" target="_blank" data-testid="client-terms"`,
		`<li data-scope="email"><strong>Email</strong><br><span class="muted">Access to your email address.</span></li>`,
		`<li data-scope="address"><strong>Address information</strong><br><span class="muted">Access to your address. Includes country, locality, street and other information.</span></li>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("consent page lacks %s:\n%s", want, p.body)
		}
	}
	for _, absent := range []string{`data-scope="openid"`, `data-scope="phone"`, `data-scope="profile"`} {
		if strings.Contains(p.body, absent) {
			t.Errorf("consent page lists %s, which was not asked for or is openid itself", absent)
		}
	}
}

// TestConsentCannotSkipFreshLogin: a request that demands a fresh login
// (prompt=login, max_age) is parked for the login page; going to the
// consent page with its id instead must not issue a code on the old login.
func TestConsentCannotSkipFreshLogin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		edit func(url.Values)
	}{
		{"prompt=login", func(v url.Values) { v.Set("prompt", "login") }},
		{"max_age=0", func(v url.Values) { v.Set("max_age", "0") }},
		{"max_age=10 on a 30-second-old login", func(v url.Values) { v.Set("max_age", "10") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			b := r.env.browser()
			r.login(b)
			r.env.clock.Advance(30 * time.Second)
			p := b.get(r.authURL(r.conf, tt.edit))
			if !isLoginPage(p) {
				t.Fatalf("got %d at %s, want the login page", p.status, p.url)
			}
			form := hiddenFields(p.body) // the parked request's id and the CSRF token
			reqID := form.Get("req")
			if reqID == "" {
				t.Fatalf("the login page carries no parked request:\n%s", p.body)
			}
			before := r.counts()
			if shown := b.get("/consent?req=" + url.QueryEscape(reqID)); !isLoginPage(shown) {
				t.Errorf("GET /consent for a request that needs a fresh login: %d at %s, want the login page", shown.status, shown.url)
			}
			form.Del("username")
			form.Set("allow", "1")
			if got := b.post("/consent", form); !isLoginPage(got) {
				t.Errorf("POST /consent allow for a request that needs a fresh login: %d at %s, want the login page", got.status, got.url)
			}
			r.wantUnchanged(t, before, "codes", "user_consents")

			// Signing in again satisfies it, and the flow goes on.
			r.wantCode(t, b.decide(b.submitLogin(b.get("/login?req="+url.QueryEscape(reqID)), testUser, testPassword), "allow"), cbURI)
		})
	}
}
