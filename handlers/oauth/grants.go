package oauth

import (
	"fmt"
	"slices"
)

// Grant types (RFC 6749 §4).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
)

// GrantTypes are the grant types a client may be given, in the order
// forms list them: the token endpoint's registry serves exactly these
// (handlers.GrantTypes, TestGrantTypesMatchRegistry).
var GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantPassword}

// CheckGrantTypes checks a client's grant types: at least one, each
// known, none twice; client_credentials and password only for a
// confidential client, which can authenticate (RFC 6749 §4.4; for
// password see handlers.passwordGrant).
func CheckGrantTypes(types []string, public bool) error {
	if len(types) == 0 {
		return fmt.Errorf("a client needs at least one grant type")
	}
	for i, g := range types {
		if !slices.Contains(GrantTypes, g) {
			return fmt.Errorf("%q is not a grant type this server serves (%v)", g, GrantTypes)
		}
		if (g == GrantClientCredentials || g == GrantPassword) && public {
			return fmt.Errorf("a public client cannot use %s", g)
		}
		if slices.Contains(types[:i], g) {
			return fmt.Errorf("grant type %q is given twice", g)
		}
	}
	return nil
}
