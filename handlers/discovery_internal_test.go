package handlers

import (
	"slices"
	"testing"

	"oidcd/handlers/oauth"
)

// TestBuildMetadataExtraScopes: custom scopes join scopes_supported and
// their claims claims_supported, after the standard ones and each once;
// the standard lists are not changed by it.
func TestBuildMetadataExtraScopes(t *testing.T) {
	h := &Handler{cfg: Config{Issuer: "https://id.example.org"}}
	extra := []oauth.Scope{
		{Name: "groups", Claims: []string{"groups", "email"}},
		{Name: "profile", Claims: []string{"department"}}, // a standard name: listed once
	}
	doc := h.buildMetadata([]string{"RS256"}, extra)
	wantScopes := append(oauth.ScopeNames(), "groups")
	if !slices.Equal(doc.ScopesSupported, wantScopes) {
		t.Errorf("scopes_supported = %q, want %q", doc.ScopesSupported, wantScopes)
	}
	wantClaims := append(oauth.ClaimsSupported(), "groups", "department")
	if !slices.Equal(doc.ClaimsSupported, wantClaims) {
		t.Errorf("claims_supported = %q, want %q", doc.ClaimsSupported, wantClaims)
	}
	if plain := h.buildMetadata([]string{"RS256"}, nil); !slices.Equal(plain.ScopesSupported, oauth.ScopeNames()) || !slices.Equal(plain.ClaimsSupported, oauth.ClaimsSupported()) {
		t.Errorf("without extra scopes: %q, %q; want the standard lists", plain.ScopesSupported, plain.ClaimsSupported)
	}
	if doc.Issuer != "https://id.example.org" || doc.TokenEndpoint != "https://id.example.org/token" || !slices.Equal(doc.IDTokenSigningAlgValuesSupported, []string{"RS256"}) {
		t.Errorf("doc = %+v", doc)
	}
}
