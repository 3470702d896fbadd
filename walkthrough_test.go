package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestSeedWalkthrough is README.md's walkthrough (the seed system's
// "Access Tokens" page) as a test: the server is started with `serve`, the
// user and client are made with the CLI commands the README gives, and the
// token and userinfo calls are the HTTP requests its curl commands send,
// to the same paths (/token/ and /userinfo/, with the trailing slash).
func TestSeedWalkthrough(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	const issuer = "http://localhost:8000" // the default, as in `go run .`
	server := startServe(t, nil, "--db", db)
	ctx := context.Background()

	// 1. A user and a confidential client whose redirect URI is
	// http://example.org/.
	const password = "wonderland-42"
	mustRunCLI(t, nil, "createuser", "--db", db, "--username", "alice", "--password", password,
		"--email", "alice@example.org", "--name", "Alice Liddell")
	created := clientJSON(t, mustRunCLI(t, nil, "createclient", "--db", db, "--name", "Example RP",
		"--type", "confidential", "--redirect-uri", "http://example.org/", "--json").stdout)
	clientID, clientSecret := created["client_id"], created["client_secret"]
	if clientID == "" || clientSecret == "" {
		t.Fatalf("createclient --json printed %v, want client_id and client_secret", created)
	}

	// 2. The browser opens the authorize URL, signs in as alice and allows.
	// It stops at the redirect to example.org, which is never fetched.
	env := &testEnv{t: t, issuer: server.base}
	b := env.browser()
	authURL := "/authorize?client_id=" + clientID +
		"&redirect_uri=http://example.org/&response_type=code&scope=openid%20email%20profile&state=123123"
	p := b.get(authURL)
	p = b.submitLogin(p, "alice", password)
	if !strings.Contains(p.body, `data-testid="client-name">Example RP<`) {
		t.Errorf("consent page does not name the client %q:\n%s", "Example RP", p.body)
	}
	back := b.decide(p, "allow")
	loc := back.location()
	if back.status != http.StatusFound || loc == nil {
		t.Fatalf("after Allow: %d, Location %q; want 302 to the RP", back.status, back.header.Get("Location"))
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != "http://example.org/" {
		t.Fatalf("redirected to %s, want http://example.org/", got)
	}
	q := loc.Query()
	if len(q) != 3 || !q.Has("code") || !q.Has("state") || !q.Has("iss") {
		t.Errorf("redirect query = %v, want exactly code, state and iss", q)
	}
	if q.Get("state") != "123123" || q.Get("iss") != issuer {
		t.Errorf("state, iss = %q, %q; want 123123, %s", q.Get("state"), q.Get("iss"), issuer)
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}

	// 3. Exchange the code, with curl's headers and -d fields joined by &.
	curlPost := func(body string) (*http.Response, map[string]any) {
		req := mustRequest(t, http.MethodPost, server.base+"/token/", strings.NewReader(body))
		req.Header.Set("Cache-Control", "no-cache")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return doJSON(t, req)
	}
	resp, tok := curlPost("client_id=" + clientID + "&client_secret=" + clientSecret + "&code=" + code +
		"&redirect_uri=http://example.org/&grant_type=authorization_code")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /token/ (code): %d %v, want 200", resp.StatusCode, tok)
	}
	checkWalkthroughTokens(t, resp, tok)
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)

	store := openStore(t, db)
	alice, err := store.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatalf("load alice: %v", err)
	}
	verifier := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, server.base+"/jwks"), &oidc.Config{ClientID: clientID})
	idToken, err := verifier.Verify(ctx, tok["id_token"].(string))
	if err != nil {
		t.Fatalf("verify id_token: %v", err)
	}
	if idToken.Subject != alice.Subject {
		t.Errorf("id_token sub = %q, want alice's %q", idToken.Subject, alice.Subject)
	}
	if err := idToken.VerifyAccessToken(access); err != nil {
		t.Errorf("id_token at_hash does not match the access token: %v", err)
	}

	// 4. The user's claims, with the access token in the query.
	userinfo := func(token string) (*http.Response, map[string]any) {
		req := mustRequest(t, http.MethodGet, server.base+"/userinfo/?access_token="+url.QueryEscape(token), nil)
		req.Header.Set("Cache-Control", "no-cache")
		return doJSON(t, req)
	}
	resp, claims := userinfo(access)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /userinfo/: %d %v, want 200", resp.StatusCode, claims)
	}
	want := map[string]any{
		"sub": alice.Subject, "email": "alice@example.org", "email_verified": false,
		"name": "Alice Liddell", "preferred_username": "alice", "updated_at": float64(alice.ProfileUpdatedAt.Unix()), // the profile change, not the login
	}
	if !sameJSON(claims, want) {
		t.Errorf("userinfo = %v, want %v", claims, want)
	}

	// 5. Refresh: a new pair comes back and the old access token stops working.
	resp, next := curlPost("client_id=" + clientID + "&client_secret=" + clientSecret +
		"&grant_type=refresh_token&refresh_token=" + refresh)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /token/ (refresh): %d %v, want 200", resp.StatusCode, next)
	}
	checkWalkthroughTokens(t, resp, next)
	if next["access_token"] == access || next["refresh_token"] == refresh {
		t.Errorf("refresh returned the old access or refresh token: %v", next)
	}
	if resp, body := userinfo(next["access_token"].(string)); resp.StatusCode != http.StatusOK || body["sub"] != alice.Subject {
		t.Errorf("userinfo with the new access token: %d %v, want 200 for alice", resp.StatusCode, body)
	}
	if resp, body := userinfo(access); resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" {
		t.Errorf("userinfo with the old access token: %d %v, want 401 invalid_token", resp.StatusCode, body)
	}
	if resp, body := curlPost("client_id=" + clientID + "&client_secret=" + clientSecret +
		"&grant_type=refresh_token&refresh_token=" + refresh); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("the old refresh token again: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}

	// Nothing secret reached the server's log.
	log := server.logs.String()
	for name, secret := range map[string]string{"password": password, "client secret": clientSecret, "code": code,
		"access token": access, "refresh token": refresh, "new access token": next["access_token"].(string)} {
		if strings.Contains(log, secret) {
			t.Errorf("the server log contains the %s", name)
		}
	}
}

// checkWalkthroughTokens checks a token response has the README's shape.
func checkWalkthroughTokens(t *testing.T, resp *http.Response, tok map[string]any) {
	t.Helper()
	keys := make([]string, 0, len(tok))
	for k := range tok {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"}; !slices.Equal(keys, want) {
		t.Errorf("token response keys = %v, want %v", keys, want)
	}
	if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3600) || tok["scope"] != "openid email profile" {
		t.Errorf("token_type, expires_in, scope = %v, %v, %v; want Bearer, 3600, %q",
			tok["token_type"], tok["expires_in"], tok["scope"], "openid email profile")
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if s, _ := tok[k].(string); s == "" {
			t.Errorf("%s = %v, want a non-empty string", k, tok[k])
		}
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
}

// sameJSON compares two decoded JSON objects.
func sameJSON(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}
