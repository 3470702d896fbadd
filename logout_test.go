package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// RP-initiated logout (OpenID RP-Initiated Logout 1.0) at /end-session.

const byeURI = "http://127.0.0.1/bye"

// logoutRig is a rig with a confidential client that registered byeURI
// as a post-logout redirect URI, and a browser signed in as alice through
// it, holding the ID token it got.
type logoutRig struct {
	*rig
	client  *models.Client
	secret  string
	b       *browser
	idToken string
}

func newLogoutRig(t *testing.T, edit ...func(*models.Client)) *logoutRig {
	t.Helper()
	r := newRig(t)
	client, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, append([]func(*models.Client){func(c *models.Client) {
		c.PostLogoutRedirectURIs = []string{byeURI, "http://127.0.0.1/bye2?x=1"}
	}}, edit...)...)
	r.keep(secret)
	b := r.env.browser()
	body := r.tokens(b, client, secret, nil)
	idt, _ := body["id_token"].(string)
	if idt == "" {
		t.Fatalf("no id_token in %v", body)
	}
	return &logoutRig{rig: r, client: client, secret: secret, b: b, idToken: idt}
}

// sessions counts alice's session rows.
func (r *logoutRig) sessions() int64 {
	return countRows(r.t, &models.Session{}, "user_id = ?", r.user.ID)
}

// claimsOf decodes a JWT's payload without verifying it.
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return c
}

// wantPromptNoneLoginRequired checks the OP session is gone: a silent
// authorization answers login_required.
func (r *logoutRig) wantPromptNoneLoginRequired(t *testing.T) {
	t.Helper()
	p := r.b.get(r.authURL(r.client, func(v url.Values) { v.Set("prompt", "none"); v.Set("state", "after") }))
	r.wantRedirectError(t, p, cbURI, "login_required", "after")
}

func TestEndSessionValidHint(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			r := newLogoutRig(t)
			if sid, _ := claimsOf(t, r.idToken)["sid"].(string); sid == "" {
				t.Errorf("the ID token has no sid")
			}
			if r.sessions() != 1 {
				t.Fatalf("alice has %d sessions before logout, want 1", r.sessions())
			}
			v := url.Values{"id_token_hint": {r.idToken}, "post_logout_redirect_uri": {byeURI}, "state": {"s t&1"}, "ui_locales": {"fr-CA de"}}
			var p page
			if method == http.MethodGet {
				p = r.b.get("/end-session?" + v.Encode())
			} else {
				p = r.b.post("/end-session", v)
			}
			loc := wantRedirectTo(t, p, byeURI)
			if got := loc.Query().Get("state"); got != "s t&1" {
				t.Errorf("state = %q, want %q", got, "s t&1")
			}
			if n := r.sessions(); n != 0 {
				t.Errorf("alice has %d sessions after logout, want 0", n)
			}
			if n := countEvents(t, "kind = ? AND user_id = ?", models.EventLogout, r.user.ID); n != 1 {
				t.Errorf("%d logout events, want 1", n)
			}
			r.wantPromptNoneLoginRequired(t)
		})
	}
}

// A registered URI with a query keeps it, and state joins it.
func TestEndSessionKeepsRegisteredQuery(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	p := r.b.get("/end-session?" + url.Values{"id_token_hint": {r.idToken}, "post_logout_redirect_uri": {"http://127.0.0.1/bye2?x=1"}, "state": {"z"}}.Encode())
	loc := wantRedirectTo(t, p, "http://127.0.0.1/bye2?x=1")
	if loc.Query().Get("state") != "z" {
		t.Errorf("state = %q, want z", loc.Query().Get("state"))
	}
}

// An expired hint is still a hint (RP-Initiated Logout 1.0 §2).
func TestEndSessionExpiredHint(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	r.env.clock.Advance(r.env.cfg.IDTokenExpire + time.Hour)
	p := r.b.get("/end-session?" + url.Values{"id_token_hint": {r.idToken}, "post_logout_redirect_uri": {byeURI}, "state": {"late"}}.Encode())
	if got := wantRedirectTo(t, p, byeURI).Query().Get("state"); got != "late" {
		t.Errorf("state = %q, want late", got)
	}
	if n := r.sessions(); n != 0 {
		t.Errorf("alice has %d sessions, want 0", n)
	}
}

// An HS256 client's hint verifies with its secret.
func TestEndSessionHS256Hint(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	secret := oauth.NewToken()
	client, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.JWTAlg, c.PostLogoutRedirectURIs = jose.HS256, []string{byeURI}
		c.SecretHash = oauth.HashToken(secret)
		sealed, err := r.env.store.SealClientSecret(c.ClientID, secret)
		if err != nil {
			t.Fatalf("seal secret: %v", err)
		}
		c.SecretSealed = sealed
	})
	r.keep(secret)
	b := r.env.browser()
	idt, _ := r.tokens(b, client, secret, nil)["id_token"].(string)
	if hdr := jwsHeader(t, idt); hdr["alg"] != jose.HS256 {
		t.Fatalf("alg = %v, want HS256", hdr["alg"])
	}
	p := b.get("/end-session?" + url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {byeURI}}.Encode())
	wantRedirectTo(t, p, byeURI)
	// Forged with another secret: refused.
	forged, err := jose.SignHS256("not the secret", claimsOf(t, idt))
	if err != nil {
		t.Fatal(err)
	}
	wantErrorPage(t, b.get("/end-session?"+url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {byeURI}}.Encode()), http.StatusBadRequest)
}

// A hint that does not verify is refused: an error page, no redirect, and
// the session stays.
func TestEndSessionForgedHint(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	ctx := context.Background()
	real, err := r.env.store.ActiveSigningKey(ctx, jose.RS256)
	if err != nil {
		t.Fatal(err)
	}
	serverKey, err := jose.Parse(jose.KeyMaterial{KID: real.KID, Alg: real.Alg, PEM: real.PrivateKeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	// Another key under the real key's kid, and another under its own.
	other, err := jose.NewKey(jose.RS256)
	if err != nil {
		t.Fatal(err)
	}
	ownKid, err := jose.Parse(other)
	if err != nil {
		t.Fatal(err)
	}
	other.KID = real.KID
	stolenKid, err := jose.Parse(other)
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, r.idToken)
	sign := func(k *jose.Key, edit func(map[string]any)) string {
		c := map[string]any{}
		for n, v := range claims {
			c[n] = v
		}
		if edit != nil {
			edit(c)
		}
		s, err := k.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	parts := strings.Split(r.idToken, ".")
	tampered := claimsOf(t, r.idToken)
	tampered["sub"] = "someone-else"
	tb, _ := json.Marshal(tampered)
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	for _, tt := range []struct{ name, hint string }{
		{"wrong key, real kid", sign(stolenKid, nil)},
		{"wrong key, own kid", sign(ownKid, nil)},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString(tb) + "." + parts[2]},
		{"alg none", none},
		{"signature cut", parts[0] + "." + parts[1] + "."},
		{"another issuer", sign(serverKey, func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"unknown audience", sign(serverKey, func(c map[string]any) { c["aud"] = "no-such-client" })},
		{"not a JWT", "garbage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := r.b.get("/end-session?" + url.Values{"id_token_hint": {tt.hint}, "post_logout_redirect_uri": {byeURI}, "state": {"x"}}.Encode())
			wantErrorPage(t, p, http.StatusBadRequest)
			if n := r.sessions(); n != 1 {
				t.Errorf("alice has %d sessions, want 1 (not signed out)", n)
			}
		})
	}
	// The server's own key with the same claims does verify: the rows
	// above fail for their forgery, not for the claims.
	wantRedirectTo(t, r.b.get("/end-session?"+url.Values{"id_token_hint": {sign(serverKey, nil)}, "post_logout_redirect_uri": {byeURI}}.Encode()), byeURI)
}

// post_logout_redirect_uri is redirected to only when registered for the
// client, by exact match.
func TestEndSessionUnregisteredURI(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	otherClient, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.PostLogoutRedirectURIs = []string{"http://127.0.0.1/other-bye"}
	})
	for _, tt := range []struct{ name, uri, clientID string }{
		{"unregistered", "http://127.0.0.1/evil", ""},
		{"trailing slash", byeURI + "/", ""},
		{"extra query", byeURI + "?a=1", ""},
		{"another client's", "http://127.0.0.1/other-bye", ""},
		{"the redirect_uri", cbURI, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := r.b.get("/end-session?" + url.Values{"id_token_hint": {r.idToken}, "post_logout_redirect_uri": {tt.uri}}.Encode())
			wantErrorPage(t, p, http.StatusBadRequest)
			if n := r.sessions(); n != 1 {
				t.Errorf("alice has %d sessions, want 1", n)
			}
		})
	}
	// Without a hint, no client: no redirect at all.
	wantErrorPage(t, r.b.get("/end-session?"+url.Values{"post_logout_redirect_uri": {byeURI}}.Encode()), http.StatusBadRequest)
	// client_id naming another client than the hint's audience.
	wantErrorPage(t, r.b.get("/end-session?"+url.Values{"id_token_hint": {r.idToken}, "client_id": {otherClient.ClientID},
		"post_logout_redirect_uri": {byeURI}}.Encode()), http.StatusBadRequest)
	wantErrorPage(t, r.b.get("/end-session?"+url.Values{"client_id": {"no-such-client"}}.Encode()), http.StatusBadRequest)
	// The confirmation form re-checks what comes back.
	form := url.Values{"client_id": {r.client.ClientID}, "post_logout_redirect_uri": {"http://127.0.0.1/evil"}}
	p := postWithCSRF(t, r.b, "/end-session?client_id="+r.client.ClientID, "/end-session/confirm", form)
	wantErrorPage(t, p, http.StatusBadRequest)
	if n := r.sessions(); n != 1 {
		t.Errorf("alice has %d sessions, want 1", n)
	}
}

// Without a hint, or with another user's, the user confirms first.
func TestEndSessionConfirmation(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	// bob's ID token for the same client, from another browser.
	r.env.createUser("bob", userPassword)
	bobB := r.env.browser()
	loc := bobB.authorize(r.authURL(r.client, nil), "bob", userPassword, "allow")
	resp, body := r.postToken(r.codeForm(r.client, r.secret, loc.Query().Get("code")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's tokens: %d %v", resp.StatusCode, body)
	}
	bobHint, _ := body["id_token"].(string)
	for _, tt := range []struct {
		name string
		v    url.Values
	}{
		{"no hint", url.Values{"client_id": {r.client.ClientID}, "post_logout_redirect_uri": {byeURI}, "state": {"c1"}}},
		{"another user's hint", url.Values{"id_token_hint": {bobHint}, "post_logout_redirect_uri": {byeURI}, "state": {"c1"}}},
		{"logout_hint names another user", url.Values{"id_token_hint": {r.idToken}, "logout_hint": {"bob"}, "post_logout_redirect_uri": {byeURI}, "state": {"c1"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := r.b.get("/end-session?" + tt.v.Encode())
			if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="end-session-page"`) {
				t.Fatalf("got %d, want the confirmation page:\n%.600s", p.status, p.body)
			}
			if got := testIDText(p.body, "end-session-user"); got != testUser {
				t.Errorf("confirmation names %q, want %q", got, testUser)
			}
			if n := r.sessions(); n != 1 {
				t.Errorf("alice has %d sessions before confirming, want 1", n)
			}
		})
	}
	// Confirming signs alice out and goes back with state; the form came
	// from a POST /end-session, as a cross-site form would send it.
	p := r.b.post("/end-session", url.Values{"id_token_hint": {bobHint}, "post_logout_redirect_uri": {byeURI}, "state": {"c2"}})
	form := hiddenFields(p.body)
	if form.Get("_csrf") == "" || form.Get("post_logout_redirect_uri") != byeURI {
		t.Fatalf("confirmation form fields = %v", form)
	}
	// Without the CSRF token it is refused.
	noCSRF := url.Values{"client_id": form["client_id"], "post_logout_redirect_uri": {byeURI}, "state": {"c2"}}
	if p := r.b.post("/end-session/confirm", noCSRF); p.status < 400 || p.header.Get("Location") != "" {
		t.Errorf("confirm without CSRF: %d Location %q, want refused", p.status, p.header.Get("Location"))
	}
	loc = wantRedirectTo(t, r.b.post("/end-session/confirm", form), byeURI)
	if loc.Query().Get("state") != "c2" {
		t.Errorf("state = %q, want c2", loc.Query().Get("state"))
	}
	if n := r.sessions(); n != 0 {
		t.Errorf("alice has %d sessions after confirming, want 0", n)
	}
	r.wantPromptNoneLoginRequired(t)
	// bob's session, in another browser, was not touched.
	if n := countRows(t, &models.Session{}, "user_id IS NOT NULL AND user_id <> ?", r.user.ID); n != 1 {
		t.Errorf("%d other sessions, want bob's 1", n)
	}
}

// Signed out already: nothing to confirm, the redirect still happens when
// the request is valid.
func TestEndSessionSignedOut(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	fresh := r.env.browser()
	p := fresh.get("/end-session?" + url.Values{"id_token_hint": {r.idToken}, "post_logout_redirect_uri": {byeURI}, "state": {"o"}}.Encode())
	wantRedirectTo(t, p, byeURI)
	if n := r.sessions(); n != 1 {
		t.Errorf("alice has %d sessions, want 1 (another browser's)", n)
	}
	// No redirect asked: the signed-out page.
	p = fresh.get("/end-session")
	if p.status != http.StatusOK || !strings.Contains(p.url.Path, "/logout") {
		t.Errorf("got %d at %s, want the signed-out page", p.status, p.url)
	}
}

// A hint signed by a key since retired, and gone from the JWK Set, still
// verifies: the store keeps the key.
func TestEndSessionRetiredKeyHint(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	hdr := jwsHeader(t, r.idToken)
	ctx := context.Background()
	keys, err := r.env.store.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next, err := jose.NewKey(jose.RS256)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.env.store.AddSigningKey(ctx, &models.SigningKey{KID: next.KID, Alg: next.Alg, PrivateKeyPEM: next.PEM}); err != nil {
		t.Fatalf("new key: %v", err)
	}
	retired := 0
	for _, k := range keys {
		if k.KID == hdr["kid"] {
			if _, err := r.env.store.RetireSigningKey(ctx, k.ID, r.env.clock.Now()); err != nil {
				t.Fatalf("retire: %v", err)
			}
			retired++
		}
	}
	if retired != 1 {
		t.Fatalf("retired %d keys, want the hint's one", retired)
	}
	// Past the retired key's publication and the key cache's lifetime.
	r.env.clock.Advance(r.env.cfg.KeyPublishFor() + r.env.cfg.KeyCacheTTL + time.Hour)
	jwks := r.b.get("/jwks")
	if strings.Contains(jwks.body, hdr["kid"].(string)) {
		t.Fatalf("the retired key is still in /jwks; the test would prove nothing")
	}
	p := r.b.get("/end-session?" + url.Values{"id_token_hint": {r.idToken}, "post_logout_redirect_uri": {byeURI}}.Encode())
	wantRedirectTo(t, p, byeURI)
}

// sid names the login session: two logins in two browsers get two sids,
// and a refreshed ID token keeps its login's.
func TestIDTokenSID(t *testing.T) {
	t.Parallel()
	r := newLogoutRig(t)
	first, _ := claimsOf(t, r.idToken)["sid"].(string)
	body := r.tokens(r.env.browser(), r.client, r.secret, nil)
	second, _ := claimsOf(t, body["id_token"].(string))["sid"].(string)
	if first == "" || second == "" || first == second {
		t.Fatalf("sids %q and %q, want two different ones", first, second)
	}
	rt, _ := body["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh_token in %v", body)
	}
	resp, refreshed := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {r.client.ClientID}, "client_secret": {r.secret}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %v", resp.StatusCode, refreshed)
	}
	if got, _ := claimsOf(t, refreshed["id_token"].(string))["sid"].(string); got != second {
		t.Errorf("refreshed sid = %q, want the login's %q", got, second)
	}
	// Neither is the session cookie's value.
	for _, c := range r.b.client.Jar.Cookies(mustParse(t, r.env.issuer)) {
		if strings.Contains(c.Value, first) {
			t.Errorf("cookie %s carries the sid", c.Name)
		}
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
