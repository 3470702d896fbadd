package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"oidcd/models"
)

// jwksKIDs lists the kids env's /jwks publishes.
func jwksKIDs(t *testing.T, env *testEnv) []string {
	t.Helper()
	return kidsAt(t, env.issuer)
}

// kidsAt lists the kids base/jwks publishes, and fails the test if one of
// them carries a private part.
func kidsAt(t *testing.T, base string) []string {
	t.Helper()
	resp, body := doJSON(t, mustRequest(t, http.MethodGet, base+"/jwks", nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /jwks: got %d, want 200", resp.StatusCode)
	}
	keys, _ := body["keys"].([]any)
	var kids []string
	for _, k := range keys {
		m, _ := k.(map[string]any)
		if _, ok := m["d"]; ok {
			t.Errorf("/jwks publishes a private exponent")
		}
		kid, _ := m["kid"].(string)
		kids = append(kids, kid)
	}
	return kids
}

// activeKID is the kid of the key that signs RS256 ID tokens now.
func activeKID(t *testing.T, env *testEnv) string {
	t.Helper()
	k, err := env.store.ActiveSigningKey(context.Background(), "RS256")
	if err != nil {
		t.Fatalf("active signing key: %v", err)
	}
	return k.KID
}

// kidOf is the kid in an ID token's protected header, read without a JOSE
// library.
func kidOf(t *testing.T, idToken string) string {
	t.Helper()
	hdr := jwsHeader(t, idToken)
	kid, _ := hdr["kid"].(string)
	return kid
}

func TestAdminKeysCreateSigns(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	oldKID := activeKID(t, env)

	p := b.get("/admin/keys")
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="keys-page"`) {
		t.Fatalf("GET /admin/keys: got %d, want 200 and the keys page", p.status)
	}
	// One key per server-key algorithm (RS256, ES256, EdDSA) from the start.
	if got := countTestIDs(p.body, "key-row"); got != 3 {
		t.Errorf("key rows = %d, want 3", got)
	}
	if !strings.Contains(p.body, oldKID) || countTestIDs(p.body, "key-jwk") != 3 || !strings.Contains(p.body, `&#34;kty&#34;: &#34;RSA&#34;`) {
		t.Errorf("keys page lacks the key's kid and public JWK:\n%s", p.body)
	}

	// "Sign at once" (the emergency path): a default key waits out the
	// pre-publication period first (key_rotation_test.go).
	p = postWithCSRF(t, b, "/admin/keys", "/admin/keys", url.Values{"now": {"1"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("create key: got %d at %s, want the keys page with a success flash:\n%s", p.status, p.url, p.body)
	}
	newKID := activeKID(t, env)
	if newKID == oldKID {
		t.Fatalf("active kid = %s after creating a key, want a new one", newKID)
	}
	if got := countTestIDs(p.body, "key-row"); got != 4 {
		t.Errorf("key rows = %d, want 4", got)
	}
	if got := countTestIDs(p.body, "key-signing"); got != 3 || !strings.Contains(p.body, newKID) {
		t.Errorf("signing badges = %d, want 3 (one per algorithm), with the new key %s listed", got, newKID)
	}
	if kids := jwksKIDs(t, env); !slices.Contains(kids, newKID) || !slices.Contains(kids, oldKID) {
		t.Errorf("/jwks kids = %v, want both %s and %s", kids, newKID, oldKID)
	}
	body := codeFlowTokens(t, env, "alice")
	if got := kidOf(t, body["id_token"].(string)); got != newKID {
		t.Errorf("ID token kid = %s, want the new key %s", got, newKID)
	}

	events, _, err := env.store.ListEvents(context.Background(), models.EventFilter{Kind: models.EventAdminChange}, models.Page{Limit: 10})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	if len(events) != 1 || events[0].Detail != "create signing key at once" || events[0].Target != "signing key "+newKID {
		t.Fatalf("admin changes = %+v, want one create signing key at once for %s", events, newKID)
	}
	if want := fmt.Sprintf(`{"KID":%q,"Alg":"RS256",`, newKID); !strings.HasPrefix(events[0].After, want) || events[0].Before != "" {
		t.Errorf("audit before/after = %q/%q, want \"\"/%s...", events[0].Before, events[0].After, want)
	}
}

func TestAdminKeysRetire(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	oldKID := activeKID(t, env)
	old, err := env.store.ActiveSigningKey(context.Background(), "RS256")
	if err != nil {
		t.Fatalf("active key: %v", err)
	}
	// A second key signing beside the old one, as keys made before
	// rotation existed were: the old one stays active until retired.
	k, err := newSigningKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	k.ActivatesAt = env.clock.Now()
	if err := env.store.AddSigningKey(context.Background(), &k); err != nil {
		t.Fatalf("add key: %v", err)
	}
	newKID := activeKID(t, env)
	if newKID != k.KID {
		t.Fatalf("active kid = %s, want the newest %s", newKID, k.KID)
	}

	p := postWithCSRF(t, b, "/admin/keys", fmt.Sprintf("/admin/keys/%d/retire", old.ID), nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("retire: got %d at %s, want the keys page with a success flash:\n%s", p.status, p.url, p.body)
	}
	if got := countTestIDs(p.body, "retire-key"); got != 3 {
		t.Errorf("retire buttons = %d, want 3 (only the active keys, one per algorithm)", got)
	}
	if !strings.Contains(p.body, "in /jwks until") {
		t.Errorf("keys page does not say until when the retired key stays published")
	}
	if got := activeKID(t, env); got != newKID {
		t.Errorf("active kid = %s, want %s", got, newKID)
	}
	if kids := jwksKIDs(t, env); !slices.Contains(kids, oldKID) {
		t.Errorf("/jwks kids = %v right after retirement, want %s still there", kids, oldKID)
	}

	env.clock.Advance(env.cfg.KeyPublishFor() + time.Second)
	kids := jwksKIDs(t, env)
	if slices.Contains(kids, oldKID) || !slices.Contains(kids, newKID) {
		t.Errorf("/jwks kids = %v after the ID token lifetime, want only %s", kids, newKID)
	}
	p = b.get("/admin/keys")
	if !strings.Contains(p.body, "no longer in /jwks") {
		t.Errorf("keys page does not say the retired key left /jwks")
	}

	events, _, err := env.store.ListEvents(context.Background(), models.EventFilter{Kind: models.EventAdminChange}, models.Page{Limit: 10})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	if len(events) != 1 || events[0].Detail != "retire signing key" || events[0].Target != "signing key "+oldKID {
		t.Fatalf("newest admin change = %+v, want retire signing key for %s", events, oldKID)
	}
}

func TestAdminKeysRefuseLastActiveKey(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	only, err := env.store.ActiveSigningKey(context.Background(), "RS256")
	if err != nil {
		t.Fatalf("active key: %v", err)
	}
	p := postWithCSRF(t, b, "/admin/keys", fmt.Sprintf("/admin/keys/%d/retire", only.ID), nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-error"`) {
		t.Fatalf("retire the last key: got %d at %s, want the keys page with an error flash:\n%s", p.status, p.url, p.body)
	}
	if got := activeKID(t, env); got != only.KID {
		t.Errorf("active kid = %s, want %s still active", got, only.KID)
	}
	if got := countTestIDs(b.get("/admin/keys").body, "retire-key"); got != 3 {
		t.Errorf("retire buttons = %d, want 3 (one active key per algorithm)", got)
	}
	codeFlowTokens(t, env, "alice") // still signs

	p = postWithCSRF(t, b, "/admin/keys", "/admin/keys/999/retire", nil)
	if p.status != http.StatusNotFound {
		t.Errorf("retire an unknown key: got %d, want 404", p.status)
	}
	events, _, err := env.store.ListEvents(context.Background(), models.EventFilter{Kind: models.EventAdminChange}, models.Page{Limit: 10})
	if err != nil || len(events) != 0 {
		t.Errorf("admin changes = %d (%v), want 0 after refused retirements", len(events), err)
	}
}

func TestAdminKeysPageHasNoPrivateKey(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	postWithCSRF(t, b, "/admin/keys", "/admin/keys", nil)
	p := b.get("/admin/keys")
	if countTestIDs(p.body, "key-jwk") != 4 {
		t.Fatalf("JWKs shown = %d, want 4", countTestIDs(p.body, "key-jwk"))
	}
	for _, s := range []string{"PRIVATE KEY", "&#34;d&#34;", "&#34;p&#34;", "&#34;q&#34;", "&#34;dp&#34;"} {
		if strings.Contains(p.body, s) {
			t.Errorf("keys page contains %q, want no private key material", s)
		}
	}
	keys, err := env.store.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	for _, k := range keys {
		pemBody := strings.Split(strings.TrimSpace(k.PrivateKeyPEM), "\n")[1]
		if strings.Contains(p.body, pemBody) {
			t.Errorf("keys page contains the PEM of %s", k.KID)
		}
	}
}

// TestAdminKADForbidden: the keys, audit and dashboard pages are for
// superusers only, and their forms need a CSRF token.
func TestAdminKADForbidden(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("bob", "bob's password 123")
	bob := env.browser()
	if p := bob.submitLogin(bob.get("/login"), "bob", "bob's password 123"); p.status != http.StatusOK {
		t.Fatalf("bob login: got %d, want 200", p.status)
	}
	token := hiddenFields(bob.get("/").body).Get("_csrf")
	if token == "" {
		t.Fatalf("no _csrf on the home page")
	}
	key, err := env.store.ActiveSigningKey(context.Background(), "RS256")
	if err != nil {
		t.Fatalf("active key: %v", err)
	}
	retire := fmt.Sprintf("/admin/keys/%d/retire", key.ID)
	for _, path := range []string{"/admin", "/admin/keys", "/admin/audit", "/admin/audit?kind=login_failed"} {
		if p := bob.get(path); p.status != http.StatusForbidden {
			t.Errorf("non-admin GET %s: got %d, want 403", path, p.status)
		}
	}
	for _, path := range []string{"/admin/keys", retire} {
		if p := bob.post(path, url.Values{"_csrf": {token}}); p.status != http.StatusForbidden {
			t.Errorf("non-admin POST %s: got %d, want 403", path, p.status)
		}
	}

	root := env.signInAdmin()
	for _, path := range []string{"/admin/keys", retire} {
		if p := root.post(path, url.Values{}); p.status != http.StatusForbidden {
			t.Errorf("admin POST %s without _csrf: got %d, want 403", path, p.status)
		}
	}
	if p := root.post("/admin/keys", url.Values{"_csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Errorf("admin POST /admin/keys with a wrong _csrf: got %d, want 403", p.status)
	}
	keys, err := env.store.ListSigningKeys(context.Background())
	if err != nil || len(keys) != 3 || keys[0].RetiredAt != nil || keys[1].RetiredAt != nil || keys[2].RetiredAt != nil {
		t.Errorf("keys after refused posts = %d (%v), want the 3 original, active", len(keys), err)
	}
}
