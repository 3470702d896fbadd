package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/models"
	"oidcd/models/modelstest"
)

// clientWithAlg registers a client signing with alg, its secret kept sealed as
// the admin site and the CLI keep it, and returns it with the secret.
func clientWithAlg(t *testing.T, env *testEnv, clientType, alg, redirect string) (*models.Client, string) {
	t.Helper()
	var secret string
	client, _ := env.createClient(clientType, []string{redirect}, func(c *models.Client) {
		c.JWTAlg = alg
		if clientType == models.ClientConfidential {
			secret = oauth.NewToken()
			c.SecretHash = oauth.HashToken(secret)
			sealed, err := env.store.SealClientSecret(c.ClientID, secret)
			if err != nil {
				t.Fatalf("seal secret: %v", err)
			}
			c.SecretSealed = sealed
		}
	})
	return client, secret
}

// hmacKeySet verifies HS256 ID tokens with a client secret for go-oidc,
// whose remote key set serves asymmetric keys only (OpenID Connect Core
// §10.1: the key is the octets of the secret).
type hmacKeySet struct{ secret string }

func (k hmacKeySet) VerifySignature(_ context.Context, jwt string) ([]byte, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	mac := hmac.New(sha256.New, []byte(k.secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, errors.New("bad HS256 signature")
	}
	return base64.RawURLEncoding.DecodeString(parts[1])
}

// idTokenVerifier is how a relying party verifies the client's ID tokens: the
// provider's JWKS for the asymmetric algorithms, its own secret for HS256.
func idTokenVerifier(env *testEnv, provider *oidc.Provider, client *models.Client, secret string) *oidc.IDTokenVerifier {
	cfg := &oidc.Config{ClientID: client.ClientID, SupportedSigningAlgs: []string{client.JWTAlg}}
	if client.JWTAlg == jose.HS256 {
		return oidc.NewVerifier(env.issuer, hmacKeySet{secret}, cfg)
	}
	return provider.Verifier(cfg)
}

// codeAndRefreshIDTokens runs a PKCE code flow with x/oauth2 and returns the ID token of
// the code exchange and of a refresh.
func codeAndRefreshIDTokens(t *testing.T, env *testEnv, client *models.Client, secret, username, password string) (string, string) {
	t.Helper()
	ctx := context.Background()
	rp := oauth2.Config{
		ClientID: client.ClientID, ClientSecret: secret, RedirectURL: client.RedirectURIs[0],
		Endpoint: oauth2.Endpoint{AuthURL: env.issuer + "/authorize", TokenURL: env.issuer + "/token", AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{oidc.ScopeOpenID, "offline_access"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := rp.AuthCodeURL("st", oidc.Nonce("n-"+client.ClientID), oauth2.S256ChallengeOption(verifier))
	back := env.browser().authorize(authURL, username, password, "allow")
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", back)
	}
	tok, err := rp.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	refreshed, err := rp.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	refreshedID, _ := refreshed.Extra("id_token").(string)
	return idToken, refreshedID
}

// TestIDTokenPerAlgorithm: a client of each algorithm gets ID tokens, from
// the code exchange and from a refresh, that go-oidc verifies: RS256,
// ES256 and EdDSA against /jwks, HS256 with the client's secret.
func TestIDTokenPerAlgorithm(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	const password = "signing password 123"
	provider, err := oidc.NewProvider(context.Background(), env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	for _, alg := range jose.Algorithms {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			user := "user-" + strings.ToLower(alg)
			env.createUser(user, password)
			client, secret := clientWithAlg(t, env, models.ClientConfidential, alg, "http://127.0.0.1/sg/"+alg)
			rpVerifier := idTokenVerifier(env, provider, client, secret)
			fromCode, fromRefresh := codeAndRefreshIDTokens(t, env, client, secret, user, password)
			for i, raw := range []string{fromCode, fromRefresh} {
				hdr := jwsHeader(t, raw)
				if hdr["alg"] != alg {
					t.Errorf("token %d: alg = %v, want %s", i, hdr["alg"], alg)
				}
				idt, err := rpVerifier.Verify(context.Background(), raw)
				if err != nil {
					t.Fatalf("token %d: go-oidc verify: %v", i, err)
				}
				if idt.Audience[0] != client.ClientID {
					t.Errorf("token %d: aud = %v, want %s", i, idt.Audience, client.ClientID)
				}
				kid, _ := hdr["kid"].(string)
				if alg == jose.HS256 {
					if kid != "" {
						t.Errorf("HS256 token carries kid %q, want none", kid)
					}
					// A relying party with another secret rejects it.
					if _, err := idTokenVerifier(env, provider, client, "not-"+secret).Verify(context.Background(), raw); err == nil {
						t.Errorf("HS256 token verified with a wrong secret")
					}
					continue
				}
				active, err := env.store.ActiveSigningKey(context.Background(), alg)
				if err != nil || kid != active.KID {
					t.Errorf("token %d: kid = %q, want the active %s key (%v)", i, kid, alg, err)
				}
			}
		})
	}
}

// TestHS256ClientWithoutKeptSecret: an HS256 client whose secret was made
// before secrets were kept cannot be signed for; the token endpoint
// answers server_error and issues nothing.
func TestHS256ClientWithoutKeptSecret(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("hs", "hs password 12345")
	redirect := "http://127.0.0.1/hs/cb"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect}, func(c *models.Client) { c.JWTAlg = jose.HS256 })
	authURL := "/authorize?" + url.Values{
		"client_id": {client.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"},
	}.Encode()
	code := env.browser().authorize(authURL, "hs", "hs password 12345", "allow").Query().Get("code")
	resp, body := postForm(t, env.issuer+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {client.ClientID}, "client_secret": {secret},
	})
	if resp.StatusCode != http.StatusInternalServerError || body["error"] != "server_error" || body["id_token"] != nil {
		t.Errorf("token: got %d %v, want 500 server_error and no token", resp.StatusCode, body)
	}
	if strings.Contains(env.logs.String(), secret) {
		t.Errorf("the log holds the client secret")
	}
}

// TestCLICreateClientJWTAlg: createclient --jwt-alg stores the algorithm;
// an HS256 client's secret is kept sealed and opens to the secret printed.
func TestCLICreateClientJWTAlg(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	for _, alg := range jose.Algorithms {
		out := mustRunCLI(t, nil, "createclient", "--db", db, "--name", "RP "+alg, "--type", "confidential",
			"--redirect-uri", "https://rp.example/cb", "--jwt-alg", alg, "--json").stdout
		var got struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("--json output %q: %v", out, err)
		}
		store := openStore(t, db)
		c, err := store.ClientByClientID(context.Background(), got.ClientID)
		if err != nil {
			t.Fatalf("load client: %v", err)
		}
		if c.JWTAlg != alg {
			t.Errorf("client %s: jwt alg = %q, want %q", alg, c.JWTAlg, alg)
		}
		if strings.Contains(c.SecretSealed, got.ClientSecret) {
			t.Errorf("client %s: the stored secret is in plain text", alg)
		}
		if s, err := store.ClientSecret(c); err != nil || s != got.ClientSecret {
			t.Errorf("client %s: kept secret opens to %q (%v), want the secret printed", alg, s, err)
		}
		store.Close()
	}
	// A public client keeps no secret, and cannot use HS256 (cli_test's
	// TestCLICreateClientRefusals shows the refusal).
	out := mustRunCLI(t, nil, "createclient", "--db", db, "--name", "SPA", "--type", "public",
		"--redirect-uri", "https://rp.example/cb", "--jwt-alg", jose.EdDSA, "--json").stdout
	var pub struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(out), &pub); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	store := openStore(t, db)
	if c, err := store.ClientByClientID(context.Background(), pub.ClientID); err != nil || c.SecretSealed != "" || c.JWTAlg != jose.EdDSA {
		t.Errorf("public client: %+v (%v), want EdDSA and no kept secret", c, err)
	}
}

// TestCLICreateKey: createkey --alg adds a key of each server-key
// algorithm, which signs at once as the algorithm had none (and with
// --now); HS256 and unknown names are refused.
func TestCLICreateKey(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	for _, alg := range jose.KeyAlgorithms {
		kid := strings.TrimSpace(mustRunCLI(t, nil, "createkey", "--db", db, "--alg", alg).stdout)
		store := openStore(t, db)
		k, err := store.ActiveSigningKey(context.Background(), alg)
		if err != nil || k.KID != kid || k.Alg != alg {
			t.Errorf("createkey --alg %s printed %q; active key %+v (%v)", alg, kid, k, err)
		}
		store.Close()
	}
	kid := strings.TrimSpace(mustRunCLI(t, nil, "createkey", "--db", db, "--now").stdout)
	store := openStore(t, db)
	if k, err := store.ActiveSigningKey(context.Background(), jose.RS256); err != nil || k.KID != kid {
		t.Errorf("createkey --now without --alg: active RS256 key %v (%v), want %s", k, err, kid)
	}
	store.Close()
	for _, alg := range []string{"HS256", "RS512", ""} {
		r := runCLI(t, nil, "createkey", "--db", db, "--alg", alg)
		if r.err == nil || r.code != 2 || !strings.Contains(r.stderr, "flag --alg must be one of RS256, ES256, EdDSA") {
			t.Errorf("createkey --alg %q: exit %d, stderr %q; want a usage error", alg, r.code, r.stderr)
		}
	}
}

// TestAdminClientFormSigningAlg: the admin form offers every algorithm,
// stores the one chosen, keeps an HS256 client's secret sealed (and a
// rotated one), and refuses an unknown algorithm and HS256 for a public
// client.
func TestAdminClientFormSigningAlg(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	page := b.get("/admin/clients/new")
	for _, alg := range jose.Algorithms {
		if !strings.Contains(page.body, fmt.Sprintf(`<option value="%s"`, alg)) {
			t.Errorf("the client form does not offer %s", alg)
		}
	}
	for _, alg := range jose.Algorithms {
		form := clientFields("RP "+alg, rpRedirect)
		form.Set("_csrf", csrf)
		form.Set("jwt_alg", alg)
		p := b.postMultipart("/admin/clients", form, nil)
		cl, err := env.store.ClientByID(context.Background(), clientPK(t, p))
		if err != nil {
			t.Fatalf("%s: load: %v", alg, err)
		}
		if cl.JWTAlg != alg {
			t.Errorf("%s: stored jwt alg %q", alg, cl.JWTAlg)
		}
		secret := oneTimeSecret(p.body)
		if s, err := env.store.ClientSecret(cl); err != nil || s != secret || secret == "" {
			t.Errorf("%s: kept secret opens to %q (%v), want the one shown", alg, s, err)
		}
		if alg != jose.HS256 {
			continue
		}
		// A rotated secret is kept too, and signs from then on.
		p = b.post(fmt.Sprintf("/admin/clients/%d/secret", cl.ID), url.Values{"_csrf": {csrf}})
		rotated := oneTimeSecret(p.body)
		cl, _ = env.store.ClientByID(context.Background(), cl.ID)
		if s, err := env.store.ClientSecret(cl); err != nil || s != rotated || rotated == secret || rotated == "" {
			t.Errorf("after rotation the kept secret opens to %q (%v), want the new one shown", s, err)
		}
	}
	for _, tt := range []struct{ name, clientType, alg, msg string }{
		{"unknown", models.ClientConfidential, "HS512", "Choose a signing algorithm."},
		{"none", models.ClientConfidential, "none", "Choose a signing algorithm."},
		{"HS256 public", models.ClientPublic, "HS256", "A public client has no secret, so it cannot use HS256"},
	} {
		form := clientFields("Refused "+tt.name, rpRedirect)
		form.Set("_csrf", csrf)
		form.Set("client_type", tt.clientType)
		form.Set("jwt_alg", tt.alg)
		p := b.postMultipart("/admin/clients", form, nil)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, tt.msg) {
			t.Errorf("%s: got %d, want 422 with %q", tt.name, p.status, tt.msg)
		}
	}
	if _, total, err := env.store.ListClients(context.Background(), "Refused", models.Page{Limit: 10}); err != nil || total != 0 {
		t.Errorf("refused clients stored: %d (%v)", total, err)
	}
	// An edit cannot turn a public client to HS256 either.
	pubClient, _ := env.createClient(models.ClientPublic, []string{rpRedirect})
	form := clientFields("SPA", rpRedirect)
	form.Set("_csrf", csrf)
	form.Set("jwt_alg", jose.HS256)
	if p := b.postMultipart(fmt.Sprintf("/admin/clients/%d", pubClient.ID), form, nil); p.status != http.StatusUnprocessableEntity {
		t.Errorf("edit a public client to HS256: got %d, want 422", p.status)
	}
	if c, _ := env.store.ClientByID(context.Background(), pubClient.ID); c.JWTAlg != jose.RS256 {
		t.Errorf("public client alg = %q after a refused edit, want RS256", c.JWTAlg)
	}
	// A confidential client whose secret predates kept secrets switches to
	// HS256 only after a rotation.
	old, _ := env.createClient(models.ClientConfidential, []string{rpRedirect})
	form = clientFields("Old RP", rpRedirect)
	form.Set("_csrf", csrf)
	form.Set("jwt_alg", jose.HS256)
	edit := fmt.Sprintf("/admin/clients/%d", old.ID)
	if p := b.postMultipart(edit, form, nil); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "rotate the secret first") {
		t.Errorf("switch a client without a kept secret to HS256: got %d, want 422 asking for a rotation", p.status)
	}
	b.post(edit+"/secret", url.Values{"_csrf": {csrf}})
	b.postMultipart(edit, form, nil)
	if c, _ := env.store.ClientByID(context.Background(), old.ID); c.JWTAlg != jose.HS256 || c.SecretSealed == "" {
		t.Errorf("after a rotation the switch to HS256: alg %q, kept secret %t; want HS256 and a kept secret", c.JWTAlg, c.SecretSealed != "")
	}
}

// TestAdminKeysCreatePerAlgorithm: the keys page creates a key of the
// algorithm chosen, which signs that algorithm's ID tokens at once on this
// instance; an unknown algorithm is refused.
func TestAdminKeysCreatePerAlgorithm(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	env.createUser("ed", "ed password 12345")
	for _, alg := range jose.KeyAlgorithms {
		before, _ := env.store.ActiveSigningKey(context.Background(), alg)
		p := postWithCSRF(t, b, "/admin/keys", "/admin/keys", url.Values{"alg": {alg}, "now": {"1"}})
		if !strings.Contains(p.body, `data-testid="flash-success"`) {
			t.Fatalf("create %s key: got %d, want a success flash", alg, p.status)
		}
		k, err := env.store.ActiveSigningKey(context.Background(), alg)
		if err != nil || k.KID == before.KID || k.Alg != alg {
			t.Fatalf("active %s key %+v (%v), want a new one", alg, k, err)
		}
		if !slices.Contains(jwksKIDs(t, env), k.KID) {
			t.Errorf("/jwks lacks the new %s key", alg)
		}
		client, secret := clientWithAlg(t, env, models.ClientConfidential, alg, "http://127.0.0.1/k/"+alg)
		idToken, _ := codeAndRefreshIDTokens(t, env, client, secret, "ed", "ed password 12345")
		if got := kidOf(t, idToken); got != k.KID {
			t.Errorf("%s ID token kid = %s, want the new key %s", alg, got, k.KID)
		}
	}
	keys, _ := env.store.ListSigningKeys(context.Background())
	p := postWithCSRF(t, b, "/admin/keys", "/admin/keys", url.Values{"alg": {"HS256"}})
	if !strings.Contains(p.body, `data-testid="flash-error"`) {
		t.Errorf("create an HS256 key: got %d, want an error flash", p.status)
	}
	if after, _ := env.store.ListSigningKeys(context.Background()); len(after) != len(keys) {
		t.Errorf("keys = %d after a refused create, want %d", len(after), len(keys))
	}
}

// TestKeyCacheBoundedStaleness: two instances over one database. A key
// created, then retired, through instance A is used and published by
// instance B only once B's key cache bound (OIDC_KEY_CACHE_SECONDS) has
// passed on B's clock; A, whose admin made the change, honours it at
// once. The bound is an hour here so that the real time the test takes
// (the test clock is real time plus the advances) stays far inside the
// margins; the default is 30 s.
func TestKeyCacheBoundedStaleness(t *testing.T) {
	t.Parallel()
	a := newTestEnv(t, "OIDC_KEY_CACHE_SECONDS", "3600")
	ctx := context.Background()

	// Instance B: its own store on the same database, its own clock.
	storeB := modelstest.DatabaseOf(t, a.store).Open(t)
	clockB := &testClock{}
	appB, err := newApp(ctx, storeB, a.cfg, slog.New(slog.DiscardHandler), clockB.Now)
	if err != nil {
		t.Fatalf("app B: %v", err)
	}
	srvB := httptest.NewServer(appB)
	t.Cleanup(srvB.Close)
	b := &testEnv{t: t, store: storeB, srv: srvB, issuer: srvB.URL, clock: clockB, cfg: a.cfg, logs: &syncBuffer{}}
	bound := a.cfg.KeyCacheTTL
	if bound != time.Hour {
		t.Fatalf("KeyCacheTTL = %v, want the hour set", bound)
	}
	const margin = 5 * time.Minute

	const password = "stale password 123"
	b.createUser("bo", password)
	client, secret := clientWithAlg(t, b, models.ClientConfidential, jose.ES256, "http://127.0.0.1/b/cb")
	signerOnB := func() string {
		t.Helper()
		idToken, _ := codeAndRefreshIDTokens(t, b, client, secret, "bo", password)
		return kidOf(t, idToken)
	}
	first, err := a.store.ActiveSigningKey(ctx, jose.ES256)
	if err != nil {
		t.Fatalf("active ES256 key: %v", err)
	}
	if got := signerOnB(); got != first.KID {
		t.Fatalf("B signs with %s, want %s", got, first.KID)
	}

	admin := a.signInAdmin()
	postWithCSRF(t, admin, "/admin/keys", "/admin/keys", url.Values{"alg": {jose.ES256}, "now": {"1"}})
	second, err := a.store.ActiveSigningKey(ctx, jose.ES256)
	if err != nil || second.KID == first.KID {
		t.Fatalf("new ES256 key: %v (%v)", second, err)
	}
	if !slices.Contains(jwksKIDs(t, a), second.KID) {
		t.Errorf("A's /jwks lacks the key A's admin just created")
	}
	// Within the bound B still signs with, and publishes, what it loaded.
	clockB.Advance(bound - margin)
	if got := signerOnB(); got != first.KID {
		t.Errorf("B signs with %s before the bound passed, want the cached %s", got, first.KID)
	}
	if slices.Contains(jwksKIDs(t, b), second.KID) {
		t.Errorf("B publishes the new key before the bound passed")
	}
	// Once the bound has passed since B loaded, B uses the new key.
	clockB.Advance(margin)
	if got := signerOnB(); got != second.KID {
		t.Errorf("B signs with %s after the bound, want the new %s", got, second.KID)
	}
	if !slices.Contains(jwksKIDs(t, b), second.KID) {
		t.Errorf("B's /jwks lacks the new key after the bound")
	}

	// Retiring the new key through A: B keeps signing with it until the
	// bound passes, then goes back to the first key.
	postWithCSRF(t, admin, "/admin/keys", fmt.Sprintf("/admin/keys/%d/retire", second.ID), nil)
	if got, err := a.store.ActiveSigningKey(ctx, jose.ES256); err != nil || got.KID != first.KID {
		t.Fatalf("active ES256 key after retirement: %v (%v), want %s", got, err, first.KID)
	}
	if got := signerOnB(); got != second.KID {
		t.Errorf("B signs with %s right after the retirement, want the cached %s", got, second.KID)
	}
	clockB.Advance(bound)
	if got := signerOnB(); got != first.KID {
		t.Errorf("B signs with %s after the bound, want %s (the retired key no longer signs)", got, first.KID)
	}
	// B's clock is now past the retired key's ID token lifetime too.
	if kids := jwksKIDs(t, b); slices.Contains(kids, second.KID) || !slices.Contains(kids, first.KID) {
		t.Errorf("B's /jwks = %v, want %s and no longer the retired %s", kids, first.KID, second.KID)
	}
}
