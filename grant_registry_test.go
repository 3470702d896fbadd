package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"oidcd/handlers"
)

// TestGrantRegistryDisabled: a grant OIDC_GRANT_TYPES leaves out is not
// registered, so /token answers unsupported_grant_type for it (RFC 6749
// §5.2) and discovery does not list it; the grants left in work.
func TestGrantRegistryDisabled(t *testing.T) {
	t.Parallel()
	r := newRig(t, "OIDC_GRANT_TYPES", "authorization_code")
	b := r.env.browser()
	tok := r.tokens(b, r.conf, r.secret, nil)
	refresh, _ := tok["refresh_token"].(string)
	resp, body := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
	wantTokenError(t, resp, body, http.StatusBadRequest, "unsupported_grant_type")

	resp, doc := getJSONDoc(t, r.env.issuer+"/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: status %d", resp.StatusCode)
	}
	// implicit stays: it is the implicit response types, not a /token grant.
	got, _ := doc["grant_types_supported"].([]any)
	if len(got) != 2 || got[0] != "authorization_code" || got[1] != "implicit" {
		t.Errorf("grant_types_supported = %v, want [authorization_code implicit]", got)
	}
}

// TestGrantRegistrySetting: OIDC_GRANT_TYPES takes names of the registry
// only.
func TestGrantRegistrySetting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value    string
		password string // OIDC_GRANT_TYPE_PASSWORD_ENABLE
		want     []string
		bad      bool
	}{
		{"", "", nil, false},
		{"authorization_code, refresh_token", "", []string{"authorization_code", "refresh_token"}, false},
		{"refresh_token", "", []string{"refresh_token"}, false},
		{"refresh_token password", "true", []string{"refresh_token", "password"}, false},
		// password listed but not enabled would serve nothing for it.
		{"refresh_token password", "false", nil, true},
		{"authorization_code,implicit", "", nil, true},
	} {
		cfg, err := loadHandlerConfig("http://op.example", func(k string) string {
			switch k {
			case "OIDC_GRANT_TYPES":
				return tt.value
			case "OIDC_GRANT_TYPE_PASSWORD_ENABLE":
				return tt.password
			}
			return ""
		})
		if tt.bad {
			if err == nil || !strings.Contains(err.Error(), "OIDC_GRANT_TYPES") {
				t.Errorf("OIDC_GRANT_TYPES=%q: %v, want refused", tt.value, err)
			}
			continue
		}
		if err != nil || !slices.Equal(cfg.GrantTypes, tt.want) {
			t.Errorf("OIDC_GRANT_TYPES=%q: got %v, %v, want %v", tt.value, cfg.GrantTypes, err, tt.want)
		}
	}
	if got := handlers.GrantTypes(); !slices.Contains(got, "authorization_code") || !slices.Contains(got, "refresh_token") {
		t.Errorf("GrantTypes() = %v, want authorization_code and refresh_token", got)
	}
}

// getJSONDoc GETs target and decodes its JSON object.
func getJSONDoc(t *testing.T, target string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("GET %s: decode: %v", target, err)
	}
	return resp, doc
}

// TestGrantTypePerClient: a client uses only its own grant types at
// /token; another is unauthorized_client (RFC 6749 §5.2) and changes
// nothing, while a grant type it has works.
func TestGrantTypePerClient(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	tok := r.tokens(b, r.conf, r.secret, nil)
	refresh, _ := tok["refresh_token"].(string)
	// Saved through the store, which tells this instance's client cache.
	r.conf.GrantTypes = []string{"authorization_code"}
	if err := r.env.store.SaveClient(context.Background(), r.conf, nil); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"client_id": {r.conf.ClientID}, "client_secret": {r.secret}}
	before := r.counts()
	resp, body := r.postToken(form)
	wantTokenError(t, resp, body, http.StatusBadRequest, "unauthorized_client")
	r.wantUnchanged(t, before, "tokens")
	// The code grant, which the client still has, works.
	_ = r.tokens(b, r.conf, r.secret, nil)

	r.conf.GrantTypes = []string{"authorization_code", "refresh_token"}
	if err := r.env.store.SaveClient(context.Background(), r.conf, nil); err != nil {
		t.Fatal(err)
	}
	resp, body = r.postToken(form)
	wantTokenSuccess(t, resp, body, body["scope"].(string))
}
