package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
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

// TestCachesTwoProcesses: two real oidcd processes on one database (the
// suite's: a SQLite file, or a PostgreSQL database), each caching clients
// and signing keys for 1 s (OIDC_CLIENT_CACHE_SECONDS,
// OIDC_KEY_CACHE_SECONDS) and publishing a retired key for 1 s
// (OIDC_IDTOKEN_EXPIRE). Changes made beside them (the CLI and a store,
// as another instance's admin would) reach both within the bound: a
// rotated client secret stops working, a new key is published, a retired
// one stops being published. The test polls a bounded number of times and
// asserts only the outcome, never how long it took.
func TestCachesTwoProcesses(t *testing.T) {
	t.Parallel()
	d := modelstest.New(t)
	vars := map[string]string{"OIDC_SECRET_KEY": base64.StdEncoding.EncodeToString(d.Key)}
	creds := clientJSON(t, mustRunCLI(t, vars, "createclient", "--db", d.DSN, "--name", "Cache RP", "--type", "confidential",
		"--redirect-uri", "http://127.0.0.1/cb", "--json").stdout)
	env := []string{"OIDC_CLIENT_CACHE_SECONDS=1", "OIDC_KEY_CACHE_SECONDS=1", "OIDC_IDTOKEN_EXPIRE=1",
		"OIDC_SECRET_KEY=" + vars["OIDC_SECRET_KEY"]}
	procs := []*oidcdProcess{
		startProcess(t, env, "serve", "--addr", "127.0.0.1:0", "--db", d.DSN),
		startProcess(t, env, "serve", "--addr", "127.0.0.1:0", "--db", d.DSN),
	}
	// within polls until ok holds on process i: up to 10 s for a 1 s
	// bound, generous on a loaded machine.
	within := func(i int, what string, ok func() bool) {
		t.Helper()
		for range 200 {
			if ok() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("process %d: %s", i, what)
	}

	id, secret := creds["client_id"], creds["client_secret"]
	for i, p := range procs {
		if got := tokenAuthStatus(t, p.base, id, secret); got != http.StatusBadRequest {
			t.Fatalf("process %d before the rotation: %d, want the client to authenticate", i, got)
		}
	}
	store := d.Open(t)
	ctx := context.Background()
	client, err := store.ClientByClientID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	next := oauth.NewToken()
	if err := store.SetClientSecret(ctx, client.ID, oauth.HashToken(next), ""); err != nil {
		t.Fatal(err)
	}
	for i, p := range procs {
		within(i, "still accepts the old secret", func() bool {
			return tokenAuthStatus(t, p.base, id, secret) == http.StatusUnauthorized
		})
		if got := tokenAuthStatus(t, p.base, id, next); got != http.StatusBadRequest {
			t.Errorf("process %d, new secret: %d, want accepted", i, got)
		}
	}

	// A key created beside them is published by both; retired, it is
	// no longer published once its ID token lifetime and the bound pass.
	mustRunCLI(t, vars, "createkey", "--alg", "ES256", "--db", d.DSN)
	keys, err := store.ListSigningKeys(ctx)
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v (%v)", keys, err)
	}
	fresh := keys[0] // newest first
	if fresh.Alg != "ES256" {
		t.Fatalf("newest key is %s, want the ES256 key just created", fresh.Alg)
	}
	for i, p := range procs {
		within(i, "never publishes the new key", func() bool { return slices.Contains(kidsAt(t, p.base), fresh.KID) })
	}
	if _, err := store.RetireSigningKey(ctx, fresh.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i, p := range procs {
		within(i, "still publishes the retired key", func() bool { return !slices.Contains(kidsAt(t, p.base), fresh.KID) })
	}
}
