package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"oidcd/models"
)

// TestUnknownScopesDropped: /authorize grants only standard and custom
// scopes the client may ask for (PARITY §5: the seed system granted
// unknown ones silently). offline_access is not advertised and is dropped
// like any unknown scope, yet the code grant still brings a refresh
// token, as in the seed walkthrough.
func TestUnknownScopesDropped(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	if err := r.env.store.CreateCustomScope(ctx, &models.CustomScope{Name: "groups", Title: "Groups"}); err != nil {
		t.Fatal(err)
	}
	// A client that lists a name that is no scope (as one stored before
	// client scopes were checked, or a custom scope since deleted).
	ghostly, ghostSecret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.Scopes = []string{"openid", "email", "ghost", "groups"}
	})
	r.keep(ghostSecret)
	for _, c := range []struct {
		name   string
		client *models.Client
		secret string
		scope  string
		want   string
	}{
		{"custom scope the client may not ask for", r.conf, r.secret, "openid groups", "openid"},
		{"scope that does not exist", r.conf, r.secret, "openid nonexistent email", "openid email"},
		{"offline_access, listed by the client", r.conf, r.secret, "openid offline_access", "openid"},
		{"a name the client lists that is no scope", ghostly, ghostSecret, "openid ghost groups", "openid groups"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := r.env.browser()
			p := b.get(r.authURL(c.client, func(v url.Values) { v.Set("scope", c.scope) }))
			p = b.submitLogin(p, testUser, testPassword)
			// The consent given in an earlier row may cover what is left.
			if strings.Contains(p.body, `data-testid="consent-page"`) {
				for _, dropped := range []string{"offline_access", "Offline access", "nonexistent", "ghost"} {
					if strings.Contains(p.body, dropped) {
						t.Errorf("the consent page shows %q", dropped)
					}
				}
				p = b.decide(p, "allow")
			}
			loc := p.location()
			if loc == nil {
				t.Fatalf("no redirect to the client: %d\n%.1000s", p.status, p.body)
			}
			code := loc.Query().Get("code")
			r.keep(code)
			resp, body := r.postToken(r.codeForm(c.client, c.secret, code))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("exchange: %d %v", resp.StatusCode, body)
			}
			if body["scope"] != c.want {
				t.Errorf("granted %q, want %q", body["scope"], c.want)
			}
			if body["refresh_token"] == nil {
				t.Errorf("no refresh_token: the code grant always brings one")
			}
		})
	}

	// Discovery does not advertise offline_access.
	req, _ := http.NewRequest(http.MethodGet, r.env.issuer+"/.well-known/openid-configuration", nil)
	_, doc := doJSON(t, req)
	var supported []string
	for _, s := range doc["scopes_supported"].([]any) {
		supported = append(supported, s.(string))
	}
	if slices.Contains(supported, "offline_access") {
		t.Errorf("scopes_supported = %v, want no offline_access", supported)
	}
}
