package oauth

import (
	"fmt"
	"slices"
)

// maxScopeName bounds a custom scope's name.
const maxScopeName = 100

// ReservedScopes are names no custom scope may take: the standard scopes,
// offline_access (OpenID Connect Core §11, which oidcd does not serve as
// a scope) and token_introspection, which grants introspection.
func ReservedScopes() []string {
	return append(ScopeNames(), "offline_access", "token_introspection")
}

// ClientScopes are the names a client's allowed scopes may take without
// a lookup: the reserved scopes. offline_access is among them so that a
// client set up for the system oidcd rebuilds can keep listing it; it
// grants nothing (README, "Where the seed system differed").
func ClientScopes() []string { return ReservedScopes() }

// UnknownScopeHint says, after a scope name that is none of those, what
// a client's scope may be.
const UnknownScopeHint = "use a standard scope (" + "openid, profile, email, phone, address" + "), a custom scope, token_introspection or a client_id"

// CheckScopeName returns why name cannot be a custom scope's, or "". A
// scope is a scope-token (RFC 6749 §3.3): printable ASCII but for space,
// '"' and '\'.
func CheckScopeName(name string) string {
	switch {
	case name == "":
		return "enter a name"
	case len(name) > maxScopeName:
		return fmt.Sprintf("use at most %d characters", maxScopeName)
	case slices.Contains(ReservedScopes(), name):
		return fmt.Sprintf("%q is a standard scope; name it otherwise", name)
	}
	for _, r := range name {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return "use printable ASCII without spaces, '\"' or '\\' (RFC 6749 §3.3)"
		}
	}
	return ""
}

// ReservedClaims are claim names no custom scope may release: the
// standard claims and those of the ID token itself (OpenID Connect Core
// §2, §5.1), which a custom value would contradict.
func ReservedClaims() []string {
	return append(ClaimsSupported(), "sub", "acr", "amr", "c_hash", "jti", "nbf", "sid", "typ", "cnf", "scope", "client_id")
}
