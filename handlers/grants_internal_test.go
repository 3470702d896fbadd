package handlers

import (
	"slices"
	"testing"

	"oidcd/handlers/oauth"
)

// TestGrantTypesMatchRegistry: the grant types a client may be given
// (oauth.GrantTypes, which the admin site offers) are the registry's.
func TestGrantTypesMatchRegistry(t *testing.T) {
	if got, want := GrantTypes(), oauth.GrantTypes; !slices.Equal(got, want) {
		t.Errorf("GrantTypes() = %v, want oauth.GrantTypes %v", got, want)
	}
}
