package oauth

import (
	"fmt"
	"slices"
	"strings"
)

// What this server supports, in one place: discovery, /authorize, the
// command line and the admin client form read these lists rather than
// keeping their own. A value moves from a Known list to its served
// counterpart when the flow behind it is built.

// KnownResponseTypes are the response types OAuth 2.0 and OpenID Connect
// define (RFC 6749 §3.1.1, OAuth 2.0 Multiple Response Type Encoding
// Practices §5), in the order of their values there. A known but unserved
// one answers unsupported_response_type.
var KnownResponseTypes = []string{"code", "id_token", "id_token token", "code token", "code id_token", "code id_token token", "token"}

// ResponseTypes are the response types served, each in its normal order
// (NormaliseResponseType); the first is the default for a new client.
// The code flow (OpenID Connect Core §3.1), the implicit flow (§3.2) and
// the hybrid flow (§3.3). Plain "token" stays known but unserved: RFC 9700
// §2.1.2 says not to use it, and OpenID Connect does not define it.
var ResponseTypes = []string{"code", "id_token", "id_token token", "code id_token", "code token", "code id_token token"}

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices
// §2.1, OAuth 2.0 Form Post Response Mode §2).
const (
	ModeQuery    = "query"
	ModeFragment = "fragment"
	ModeFormPost = "form_post"
)

// ResponseModes are the response modes served. The query carries no
// token: a response type that returns one is refused it (Multiple
// Response Type Encoding Practices §5).
var ResponseModes = []string{ModeQuery, ModeFragment, ModeFormPost}

// Prompts are the prompt values understood (OpenID Connect Core §3.1.2.1).
var Prompts = []string{"none", "login", "consent", "select_account"}

// PKCEMethods are the code_challenge_method values accepted (RFC 7636
// §4.3); see PKCES256 for why plain is not.
var PKCEMethods = []string{PKCES256}

// ClientAuthMethods are the token endpoint client authentication methods
// (OpenID Connect Core §9, RFC 6749 §2.3.1); "none" is a public client.
var ClientAuthMethods = []string{"client_secret_basic", "client_secret_post", "none"}

// SubjectTypes are the subject identifier types (OpenID Connect Core §8):
// one sub per user, the same for every client.
var SubjectTypes = []string{"public"}

// Grant types are listed by GrantTypes in grants.go (the token endpoint's
// registry serves exactly those, less any OIDC_GRANT_TYPES leaves out);
// scopes and claims by StandardScopes, ScopeNames and ClaimsSupported in
// scopes.go.

// CheckResponseTypes checks the response types a client is given and
// returns them in their normal order: at least one, each served (its
// values in any order, RFC 6749 §3.1.1), none twice. The admin form and
// the command line both check with it.
func CheckResponseTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, fmt.Errorf("a client needs at least one response type")
	}
	out := make([]string, 0, len(types))
	for _, rt := range types {
		n := NormaliseResponseType(rt)
		if !slices.Contains(ResponseTypes, n) {
			return nil, fmt.Errorf("response type %q is not served; use %s", rt, strings.Join(ResponseTypes, ", "))
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("response type %q is given twice", n)
		}
		out = append(out, n)
	}
	return out, nil
}
