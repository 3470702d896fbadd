package oauth

// What this server supports, in one place: discovery, /authorize, the
// command line and the admin client form read these lists rather than
// keeping their own. A value moves from a Known list to its served
// counterpart when the flow behind it is built.

// KnownResponseTypes are the response types OAuth 2.0 and OpenID Connect
// define (RFC 6749 §3.1.1, OAuth 2.0 Multiple Response Type Encoding
// Practices §5), in the order of their values there. A known but unserved
// one answers unsupported_response_type.
var KnownResponseTypes = []string{"code", "id_token", "id_token token", "code token", "code id_token", "code id_token token", "token"}

// ResponseTypes are the response types served; the first is the default
// for a new client.
var ResponseTypes = []string{"code"}

// ResponseModes are the response modes served (OAuth 2.0 Multiple
// Response Type Encoding Practices §2.1): the code flow answers in the
// query only.
var ResponseModes = []string{"query"}

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
