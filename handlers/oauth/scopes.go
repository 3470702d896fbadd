package oauth

import (
	"slices"
	"strings"
)

// Scope describes a scope to the user on the consent page and names the
// claims it releases (OpenID Connect Core §5.4).
type Scope struct {
	Name        string
	Title       string
	Description string
	Claims      []string
}

// StandardScopes are the scopes of OpenID Connect Core §5.4, with the
// consent texts of the system oidcd replaces. offline_access (Core §11)
// is not among them: every code grant comes with a refresh token, as in
// the system oidcd replaces, so the scope would mean nothing; it is not
// advertised and a request for it is dropped like any unknown scope.
var StandardScopes = []Scope{
	{Name: "openid", Title: "Sign you in", Description: "Confirm who you are.", Claims: []string{"sub"}},
	{Name: "profile", Title: "Basic profile", Description: "Access to your basic information. Includes names, gender, birthdate and other information.",
		Claims: []string{"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"}},
	{Name: "email", Title: "Email", Description: "Access to your email address.", Claims: []string{"email", "email_verified"}},
	{Name: "phone", Title: "Phone number", Description: "Access to your phone number.", Claims: []string{"phone_number", "phone_number_verified"}},
	{Name: "address", Title: "Address information", Description: "Access to your address. Includes country, locality, street and other information.", Claims: []string{"address"}},
}

// LookupScope finds a standard scope by name.
func LookupScope(name string) (Scope, bool) {
	i := slices.IndexFunc(StandardScopes, func(s Scope) bool { return s.Name == name })
	if i < 0 {
		return Scope{Name: name, Title: name}, false
	}
	return StandardScopes[i], true
}

// ScopeNames lists the standard scope names, for discovery.
func ScopeNames() []string {
	names := make([]string, len(StandardScopes))
	for i, s := range StandardScopes {
		names[i] = s.Name
	}
	return names
}

// ClaimsSupported lists every claim a standard scope can release, plus the
// ID token's own, for discovery.
func ClaimsSupported() []string {
	claims := []string{"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp"}
	for _, s := range StandardScopes {
		claims = append(claims, s.Claims...)
	}
	return claims
}

// ParseScope splits a scope parameter (RFC 6749 §3.3), dropping repeats.
func ParseScope(scope string) []string {
	var out []string
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Subset reports whether every scope in want is in have.
func Subset(want, have []string) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// ClaimsFor picks from all the claims that the granted scopes release,
// leaving out empty values ("" or an empty object), as OpenID Connect Core
// §5.3.2 asks.
func ClaimsFor(all map[string]any, scopes []string) map[string]any {
	out := map[string]any{}
	for _, name := range scopes {
		s, ok := LookupScope(name)
		if !ok {
			continue
		}
		for _, claim := range s.Claims {
			v, ok := all[claim]
			if !ok || isEmpty(v) {
				continue
			}
			out[claim] = v
		}
	}
	return out
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		for _, inner := range x {
			if !isEmpty(inner) {
				return false
			}
		}
		return true
	}
	return false
}
