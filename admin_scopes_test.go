package main

import (
	"context"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/models"
)

// scopeCount is how many custom scopes and scope audit events there are.
func scopeCount(t *testing.T, r *rig) (scopes, events int64) {
	t.Helper()
	r.db.Table("custom_scopes").Count(&scopes)
	r.db.Table("events").Where("kind = ? AND target LIKE ?", models.EventAdminChange, "scope %").Count(&events)
	return scopes, events
}

// TestAdminScopes: custom scopes are listed, created, edited and deleted
// (after a confirmation page) in the admin site, each change audited.
func TestAdminScopes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, _ := signInAdmin(r)
	ctx := context.Background()

	p := b.get("/admin/scopes")
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="scopes-page"`) || !strings.Contains(p.body, `data-testid="scopes-empty"`) {
		t.Fatalf("GET /admin/scopes: got %d, want the empty list:\n%.1500s", p.status, p.body)
	}
	if !strings.Contains(p.body, "<code>profile</code>") {
		t.Errorf("the list does not show the standard scopes beside the custom ones")
	}

	form := csrfFrom(t, b, "/admin/scopes/new", "scope-form-page")
	form.Set("name", "groups")
	form.Set("title", "Your groups")
	form.Set("description", "The groups you belong to.")
	form.Set("claims", "groups = attr:groups\nteam_mail = email\n")
	wantLanded(t, b.post("/admin/scopes", form), "/admin/scopes", "success")
	scopes, err := r.env.store.ListCustomScopes(ctx)
	if err != nil || len(scopes) != 1 {
		t.Fatalf("scopes after create: %v, %v; want one", scopes, err)
	}
	cs := scopes[0]
	if want := map[string]string{"groups": "attr:groups", "team_mail": "email"}; cs.Name != "groups" || cs.Title != "Your groups" ||
		cs.Description != "The groups you belong to." || !maps.Equal(cs.Claims, want) {
		t.Errorf("created %+v, want groups with its texts and claims %v", cs, want)
	}
	if p := b.get("/admin/scopes"); !strings.Contains(p.body, `data-testid="scope-row"`) || !strings.Contains(p.body, "groups ← attr:groups") {
		t.Errorf("the list does not show the new scope:\n%.2000s", p.body)
	}

	path := fmt.Sprintf("/admin/scopes/%d", cs.ID)
	form = csrfFrom(t, b, path, "scope-form-page")
	form.Set("name", "groups")
	form.Set("title", "Your teams")
	form.Set("description", "")
	form.Set("claims", "groups = attr:teams")
	wantLanded(t, b.post(path, form), "/admin/scopes", "success")
	got, err := r.env.store.CustomScopeByID(ctx, cs.ID)
	if err != nil || got.Title != "Your teams" || got.Description != "" || !maps.Equal(got.Claims, map[string]string{"groups": "attr:teams"}) {
		t.Errorf("after the edit: %+v, %v; want the new title and claims", got, err)
	}

	// Without the CSRF token nothing is deleted.
	if p := b.post(path+"/delete", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("delete without CSRF: got %d, want 403", p.status)
	}
	form = csrfFrom(t, b, path+"/delete", "confirm-page")
	wantLanded(t, b.post(path+"/delete", form), "/admin/scopes", "success")
	if _, err := r.env.store.CustomScopeByID(ctx, cs.ID); err != models.ErrNotFound {
		t.Errorf("after the delete: %v, want not found", err)
	}
	for _, action := range []string{"create scope", "update scope", "delete scope"} {
		var n int64
		r.db.Table("events").Where("kind = ? AND detail = ? AND target = ?", models.EventAdminChange, action, "scope groups").Count(&n)
		if n != 1 {
			t.Errorf("audit events %q: got %d, want 1", action, n)
		}
	}
	if p := b.get(path); p.status != http.StatusNotFound {
		t.Errorf("GET a deleted scope: got %d, want 404", p.status)
	}
}

// TestAdminScopesBadInput: every bad field is a 422 with a readable error
// next to it, and nothing is written.
func TestAdminScopesBadInput(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, _ := signInAdmin(r)
	form := csrfFrom(t, b, "/admin/scopes/new", "scope-form-page")
	for k, v := range map[string]string{"name": "groups", "title": "Groups", "claims": "groups = attr:groups"} {
		form.Set(k, v)
	}
	wantLanded(t, b.post("/admin/scopes", form), "/admin/scopes", "success")
	for _, c := range []struct {
		name, field, value, want string
	}{
		{"duplicate name", "name", "groups", "A scope with this name exists."},
		{"space in the name", "name", "my groups", "Use printable ASCII without spaces"},
		{"quote in the name", "name", `gro"ups`, "Use printable ASCII without spaces"},
		{"standard name", "name", "email", `"email" is a standard scope; name it otherwise.`},
		{"offline_access", "name", "offline_access", "is a standard scope"},
		{"empty name", "name", "", "Enter a name."},
		{"empty title", "title", "", "Enter the title the consent page shows."},
		{"long title", "title", strings.Repeat("t", 201), "Use at most 200 characters."},
		{"unknown attribute", "claims", "groups = groupz", `"groupz" is no user attribute`},
		{"bad attribute key", "claims", "groups = attr:9", "must start with a letter"},
		{"standard claim", "claims", "email = attr:mail", `Claim "email" is a standard claim; name it otherwise.`},
		{"ID token claim", "claims", "nonce = attr:n", `Claim "nonce" is a standard claim`},
		{"bad claim name", "claims", "my claim = email", `Claim "my claim" must start with a letter`},
		{"claim without attribute", "claims", "groups", "Line 1: write key = value."},
	} {
		t.Run(c.name, func(t *testing.T) {
			scopes, events := scopeCount(t, r)
			form := csrfFrom(t, b, "/admin/scopes/new", "scope-form-page")
			for k, v := range map[string]string{"name": "teams", "title": "Teams", "claims": "teams = attr:teams"} {
				form.Set(k, v)
			}
			form.Set(c.field, c.value)
			p := b.post("/admin/scopes", form)
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-`+c.field+`"`) ||
				!strings.Contains(html.UnescapeString(p.body), c.want) {
				t.Errorf("got %d, want 422 with %q next to %s:\n%.3000s", p.status, c.want, c.field, p.body)
			}
			if s, e := scopeCount(t, r); s != scopes || e != events {
				t.Errorf("scopes, audit events: %d, %d; want %d, %d (nothing written)", s, e, scopes, events)
			}
		})
	}
	// An edit that would take another scope's name.
	cs := &models.CustomScope{Name: "teams", Title: "Teams"}
	if err := r.env.store.CreateCustomScope(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/admin/scopes/%d", cs.ID)
	form = csrfFrom(t, b, path, "scope-form-page")
	form.Set("name", "groups")
	form.Set("title", "Teams")
	if p := b.post(path, form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "A scope with this name exists.") {
		t.Errorf("rename onto another scope: got %d, want 422", p.status)
	}
	if got, _ := r.env.store.CustomScopeByID(context.Background(), cs.ID); got == nil || got.Name != "teams" {
		t.Errorf("after a refused rename: %+v, want teams unchanged", got)
	}
}

// TestCustomScopeEndToEnd: a relying party (go-oidc, x/oauth2) asks for a
// custom scope; the consent page shows its title and description, and
// after consent /userinfo (and, with OIDC_IDTOKEN_INCLUDE_CLAIMS, the ID
// token) carry the claims it maps from the user's attributes and fields.
// A custom scope the client may not ask for and a scope that does not
// exist are dropped, never granted.
func TestCustomScopeEndToEnd(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_IDTOKEN_INCLUDE_CLAIMS", "true")
	ctx := context.Background()
	const password = "correct horse battery"
	alice := env.createUser("alice", password, func(u *models.User) {
		u.Email, u.GivenName = "alice@example.org", "Alice"
		u.Attributes = map[string]string{"department": "Research", "floor": ""}
	})
	for _, cs := range []*models.CustomScope{
		{Name: "org", Title: "Your organisation", Description: "Your department and work email.",
			Claims: map[string]string{"department": "attr:department", "work_email": "email", "floor": "attr:floor", "given": "given_name"}},
		{Name: "payroll", Title: "Your salary", Claims: map[string]string{"salary": "attr:salary"}},
	} {
		if err := env.store.CreateCustomScope(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	redirect := "http://127.0.0.1/rp/callback"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect}, func(c *models.Client) {
		c.Scopes = []string{"openid", "org"}
	})
	provider, err := oidc.NewProvider(ctx, env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp := oauth2.Config{
		ClientID: client.ClientID, ClientSecret: secret, RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "org", "payroll", "no-such-scope"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := rp.AuthCodeURL("st", oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier))

	b := env.browser()
	p := b.submitLogin(b.get(authURL), "alice", password)
	if !strings.Contains(p.body, `data-testid="consent-page"`) {
		t.Fatalf("want the consent page, got %d:\n%.1500s", p.status, p.body)
	}
	if !strings.Contains(p.body, `<li data-scope="org"><strong>Your organisation</strong><br><span class="muted">Your department and work email.</span>`) {
		t.Errorf("the consent page does not show the custom scope's title and description:\n%s", p.body)
	}
	for _, dropped := range []string{"payroll", "Your salary", "no-such-scope"} {
		if strings.Contains(p.body, dropped) {
			t.Errorf("the consent page shows %q, which the client may not have", dropped)
		}
	}
	back := b.decide(p, "allow").location()
	if back == nil || back.Query().Get("code") == "" {
		t.Fatalf("no code after consent: %v", back)
	}
	tok, err := rp.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got := tok.Extra("scope"); got != "openid org" {
		t.Errorf("granted scope %q, want \"openid org\" (payroll and no-such-scope dropped)", got)
	}
	want := map[string]any{"department": "Research", "work_email": "alice@example.org", "given": "Alice"}
	idToken, err := provider.Verifier(&oidc.Config{ClientID: client.ClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	var idClaims map[string]any
	if err := idToken.Claims(&idClaims); err != nil {
		t.Fatal(err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	for where, got := range map[string]map[string]any{"userinfo": claims, "id token": idClaims} {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s %s = %v, want %v", where, k, got[k], v)
			}
		}
		for _, absent := range []string{"floor", "salary", "email", "given_name"} {
			if _, ok := got[absent]; ok {
				t.Errorf("%s has %s, want it left out (empty, or not granted)", where, absent)
			}
		}
	}
	if claims["sub"] != alice.Subject {
		t.Errorf("userinfo sub = %v, want %s", claims["sub"], alice.Subject)
	}
}

// TestClientScopesKnown: a client's allowed scopes are checked against the
// scopes the server knows, in the admin client form and in createclient:
// an unknown one is refused with its name, nothing is written; a custom
// scope, token_introspection and a client_id are accepted.
func TestClientScopesKnown(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	if err := r.env.store.CreateCustomScope(ctx, &models.CustomScope{Name: "groups", Title: "Groups"}); err != nil {
		t.Fatal(err)
	}
	b, _ := signInAdmin(r)
	fields := func(scopes string) url.Values {
		form := csrfFrom(t, b, "/admin/clients/new", "client-form-page")
		for k, v := range map[string]string{"name": "Scoped RP", "client_type": models.ClientConfidential, "response_types": "code",
			"redirect_uris": "https://rp.example/cb", "scopes": scopes, "jwt_alg": "RS256"} {
			form.Set(k, v)
		}
		form["grant_types"] = []string{"authorization_code", "refresh_token"}
		return form
	}
	for _, c := range []struct {
		name, scopes, wantErr string
	}{
		{"unknown scope", "openid nonexistent", `&#34;nonexistent&#34; is not a scope this server knows`},
		{"unknown beside a custom one", "openid groups groupz", `&#34;groupz&#34; is not a scope this server knows`},
		{"standard, custom, introspection, a client_id", "openid profile groups token_introspection " + r.pub.ClientID, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := r.count("clients")
			p := b.post("/admin/clients", fields(c.scopes))
			if c.wantErr == "" {
				if p.status != http.StatusOK || r.count("clients") != before+1 {
					t.Errorf("got %d, %d clients; want the client created:\n%.2000s", p.status, r.count("clients"), p.body)
				}
				return
			}
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-scopes"`) || !strings.Contains(p.body, c.wantErr) {
				t.Errorf("got %d, want 422 with %s next to scopes:\n%.3000s", p.status, c.wantErr, p.body)
			}
			if got := r.count("clients"); got != before {
				t.Errorf("clients: %d, want %d (nothing written)", got, before)
			}
		})
	}
}

func TestCLICreateClientScopesKnown(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	store := openStore(t, db)
	if err := store.CreateCustomScope(context.Background(), &models.CustomScope{Name: "groups", Title: "Groups"}); err != nil {
		t.Fatal(err)
	}
	args := []string{"createclient", "--db", db, "--name", "RP", "--type", "confidential", "--redirect-uri", "https://rp.example/cb"}
	res := runCLI(t, nil, append(args, "--scope", "openid nonexistent")...)
	if res.err == nil || !strings.Contains(res.err.Error(), `unknown scope "nonexistent"`) {
		t.Errorf("unknown scope: %v, want an error naming it", res.err)
	}
	mustRunCLI(t, nil, append(args, "--scope", "openid groups offline_access")...)
}
