package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"oidcd/handlers/oauth"
	"oidcd/models"
	"oidcd/models/modelstest"
)

// secondInstance starts another oidcd over the same database as e (a
// second Store, as a second process or host would have), with a clock of
// its own. It returns its base URL and clock.
func secondInstance(t *testing.T, e *testEnv) (string, *testClock) {
	t.Helper()
	store := modelstest.DatabaseOf(t, e.store).Open(t)
	clock := &testClock{}
	app, err := newApp(context.Background(), store, e.cfg, slog.New(slog.DiscardHandler), clock.Now)
	if err != nil {
		t.Fatalf("second instance: %v", err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv.URL, clock
}

// tokenAuthStatus authenticates as clientID with secret at base's /token,
// with a refresh token that does not exist: 400 (invalid_grant) means the
// client authenticated, 401 (invalid_client) that it did not.
func tokenAuthStatus(t *testing.T, base, clientID, secret string) int {
	t.Helper()
	resp, body := postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}},
		func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret)) })
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	return resp.StatusCode
}

// authorizeStatus is the status of an authorization request at base for
// redirectURI, without following redirects: 302 (on to the login page)
// when the redirect URI is registered, 400 when it is not.
func authorizeStatus(t *testing.T, base, clientID, redirectURI string) int {
	t.Helper()
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"}}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClientCacheBoundedStaleness: instance B holds clients for at most
// OIDC_CLIENT_CACHE_SECONDS (5 s by default). A secret rotated, a redirect
// URI removed or a client deleted through instance A is still honoured by
// B within that bound (the bound is real and documented), and refused
// once it has passed; instance A, whose store made the change, refuses at
// once.
func TestClientCacheBoundedStaleness(t *testing.T) {
	t.Parallel()
	a := newTestEnv(t)
	b, bClock := secondInstance(t, a)
	const keep, drop = "https://rp.example/keep", "https://rp.example/drop"
	client, first := a.createClient(models.ClientConfidential, []string{keep, drop})
	ctx := context.Background()

	// B reads the client once: it is cached from now on.
	if got := tokenAuthStatus(t, b, client.ClientID, first); got != http.StatusBadRequest {
		t.Fatalf("B before any change: %d, want the client to authenticate", got)
	}
	if got := authorizeStatus(t, b, client.ClientID, drop); got != http.StatusFound {
		t.Fatalf("B authorize before any change: %d, want 302", got)
	}

	// A rotates the secret and removes a redirect URI.
	second := oauth.NewToken()
	if err := a.store.SetClientSecret(ctx, client.ID, oauth.HashToken(second), ""); err != nil {
		t.Fatal(err)
	}
	narrowed, err := a.store.ClientByID(ctx, client.ID)
	if err != nil {
		t.Fatal(err)
	}
	narrowed.RedirectURIs = []string{keep}
	if err := a.store.SaveClient(ctx, narrowed, nil); err != nil {
		t.Fatal(err)
	}
	// A honours its own change at once.
	if got := tokenAuthStatus(t, a.issuer, client.ClientID, first); got != http.StatusUnauthorized {
		t.Errorf("A, old secret right after the rotation: %d, want 401", got)
	}
	if got := authorizeStatus(t, a.issuer, client.ClientID, drop); got != http.StatusBadRequest {
		t.Errorf("A, removed redirect URI: %d, want 400", got)
	}
	// B, within the bound, still has the client as it was: this is the
	// staleness the cache allows.
	bClock.Advance(a.cfg.ClientCacheTTL / 2)
	if got := tokenAuthStatus(t, b, client.ClientID, first); got != http.StatusBadRequest {
		t.Errorf("B within the bound, old secret: %d, want still accepted (400 invalid_grant)", got)
	}
	if got := authorizeStatus(t, b, client.ClientID, drop); got != http.StatusFound {
		t.Errorf("B within the bound, removed redirect URI: %d, want still accepted", got)
	}
	// Past the bound, B reads the client again.
	bClock.Advance(a.cfg.ClientCacheTTL)
	if got := tokenAuthStatus(t, b, client.ClientID, first); got != http.StatusUnauthorized {
		t.Errorf("B past the bound, old secret: %d, want 401", got)
	}
	if got := tokenAuthStatus(t, b, client.ClientID, second); got != http.StatusBadRequest {
		t.Errorf("B past the bound, new secret: %d, want accepted", got)
	}
	if got := authorizeStatus(t, b, client.ClientID, drop); got != http.StatusBadRequest {
		t.Errorf("B past the bound, removed redirect URI: %d, want 400", got)
	}
	if got := authorizeStatus(t, b, client.ClientID, keep); got != http.StatusFound {
		t.Errorf("B past the bound, kept redirect URI: %d, want 302", got)
	}

	// A deletes the client: B refuses it once the bound has passed.
	if err := a.store.DeleteClient(ctx, client.ID); err != nil {
		t.Fatal(err)
	}
	if got := tokenAuthStatus(t, a.issuer, client.ClientID, second); got != http.StatusUnauthorized {
		t.Errorf("A right after the delete: %d, want 401", got)
	}
	bClock.Advance(a.cfg.ClientCacheTTL + 1)
	if got := tokenAuthStatus(t, b, client.ClientID, second); got != http.StatusUnauthorized {
		t.Errorf("B past the bound after the delete: %d, want 401", got)
	}
}

// TestClientCacheSettingZero: OIDC_CLIENT_CACHE_SECONDS=0 turns the cache off,
// so another instance's change is honoured at once.
func TestClientCacheSettingZero(t *testing.T) {
	t.Parallel()
	a := newTestEnv(t, "OIDC_CLIENT_CACHE_SECONDS", "0")
	if a.cfg.ClientCacheTTL != 0 {
		t.Fatalf("ClientCacheTTL = %v", a.cfg.ClientCacheTTL)
	}
	b, _ := secondInstance(t, a)
	client, first := a.createClient(models.ClientConfidential, []string{"https://rp.example/cb"})
	if got := tokenAuthStatus(t, b, client.ClientID, first); got != http.StatusBadRequest {
		t.Fatalf("B: %d", got)
	}
	if err := a.store.SetClientSecret(context.Background(), client.ID, oauth.HashToken(oauth.NewToken()), ""); err != nil {
		t.Fatal(err)
	}
	if got := tokenAuthStatus(t, b, client.ClientID, first); got != http.StatusUnauthorized {
		t.Errorf("B right after the rotation with no cache: %d, want 401", got)
	}
	for _, bad := range []string{"-1", "x", "3601"} {
		if _, err := loadHandlerConfig("http://localhost:8000", func(k string) string {
			if k == "OIDC_CLIENT_CACHE_SECONDS" {
				return bad
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), "OIDC_CLIENT_CACHE_SECONDS") {
			t.Errorf("OIDC_CLIENT_CACHE_SECONDS=%s: %v, want refused", bad, err)
		}
	}
}

// TestClientCacheTwoProcesses: two real oidcd processes on one SQLite
// file, each caching clients for OIDC_CLIENT_CACHE_SECONDS=1 s. A secret
// rotated by a third (a CLI-like store on the same file) stops working on
// both once the bound has passed; the test polls a bounded number of
// times and asserts only the outcome, never how long it took.
func TestClientCacheTwoProcesses(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	creds := clientJSON(t, mustRunCLI(t, nil, "createclient", "--db", db, "--name", "Cache RP", "--type", "confidential",
		"--redirect-uri", "http://127.0.0.1/cb", "--json").stdout)
	env := []string{"OIDC_CLIENT_CACHE_SECONDS=1"}
	procs := []*oidcdProcess{
		startProcess(t, env, "serve", "--addr", "127.0.0.1:0", "--db", db),
		startProcess(t, env, "serve", "--addr", "127.0.0.1:0", "--db", db),
	}
	id, secret := creds["client_id"], creds["client_secret"]
	for i, p := range procs {
		if got := tokenAuthStatus(t, p.base, id, secret); got != http.StatusBadRequest {
			t.Fatalf("process %d before the rotation: %d, want the client to authenticate", i, got)
		}
	}
	store := openStore(t, db)
	client, err := store.ClientByClientID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	next := oauth.NewToken()
	if err := store.SetClientSecret(context.Background(), client.ID, oauth.HashToken(next), ""); err != nil {
		t.Fatal(err)
	}
	for i, p := range procs {
		refused := false
		// Up to 10 s for a 1 s bound: generous on a loaded machine.
		for range 200 {
			if tokenAuthStatus(t, p.base, id, secret) == http.StatusUnauthorized {
				refused = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !refused {
			t.Fatalf("process %d still accepts the old secret", i)
		}
		if got := tokenAuthStatus(t, p.base, id, next); got != http.StatusBadRequest {
			t.Errorf("process %d, new secret: %d, want accepted", i, got)
		}
	}
}
