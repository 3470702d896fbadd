package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
)

// metadata is the provider's metadata: OpenID Connect Discovery 1.0 §3,
// which RFC 8414 §2 shares for an OAuth 2.0 authorization server. It
// lists only what this server really does, read from the one source of
// what is supported (oauth's lists, the grant registry, the key cache);
// TestDiscoveryTruthful asks each endpoint whether it agrees.
//
// Left out on purpose: registration_endpoint; check_session_iframe unless
// OIDC_SESSION_MANAGEMENT_ENABLE.
type metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	// RP-Initiated Logout 1.0 §2.1 (handlers/endsession.go).
	EndSessionEndpoint string `json:"end_session_endpoint"`
	// Back-Channel Logout 1.0 §2.1: logout tokens carry sid too
	// (handlers/backchannel.go).
	BackchannelLogoutSupported                bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported         bool     `json:"backchannel_logout_session_supported"`
	ScopesSupported                           []string `json:"scopes_supported"`
	ResponseTypesSupported                    []string `json:"response_types_supported"`
	ResponseModesSupported                    []string `json:"response_modes_supported"`
	GrantTypesSupported                       []string `json:"grant_types_supported"`
	SubjectTypesSupported                     []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported          []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	ClaimsSupported                           []string `json:"claims_supported"`
	ClaimTypesSupported                       []string `json:"claim_types_supported"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported"`
	PromptValuesSupported                     []string `json:"prompt_values_supported"`
	// RFC 9207 §3: every authorization response, error or not, carries
	// iss (authorizationResponse).
	AuthorizationResponseISSParameter bool `json:"authorization_response_iss_parameter_supported"`
	// The claims parameter and request objects are not served; Discovery
	// §3 makes request_uri_parameter_supported true when it is left out,
	// so each is said false.
	ClaimsParameterSupported      bool `json:"claims_parameter_supported"`
	RequestParameterSupported     bool `json:"request_parameter_supported"`
	RequestURIParameterSupported  bool `json:"request_uri_parameter_supported"`
	RequireRequestURIRegistration bool `json:"require_request_uri_registration"`
	// OpenID Session Management 1.0 §3.3, only when it is on.
	CheckSessionIframe string `json:"check_session_iframe,omitempty"`
}

// buildMetadata assembles the document. algs are the ID token signing
// algorithms usable now (jose.Cache.Algorithms); extra are scopes beyond
// the standard ones (custom scopes), whose names and claims are added
// after the standard ones, each once.
func (h *Handler) buildMetadata(algs []string, extra []oauth.Scope) metadata {
	iss := h.cfg.Issuer
	scopes, claims := oauth.ScopeNames(), oauth.ClaimsSupported()
	for _, s := range extra {
		scopes = appendNew(scopes, s.Name)
		claims = appendNew(claims, s.Claims...)
	}
	m := metadata{
		Issuer:                                 iss,
		AuthorizationEndpoint:                  iss + "/authorize",
		TokenEndpoint:                          iss + "/token",
		UserinfoEndpoint:                       iss + "/userinfo",
		JWKSURI:                                iss + "/jwks",
		RevocationEndpoint:                     iss + "/revoke",
		IntrospectionEndpoint:                  iss + "/introspect",
		EndSessionEndpoint:                     iss + "/end-session",
		BackchannelLogoutSupported:             true,
		BackchannelLogoutSessionSupported:      true,
		ScopesSupported:                        scopes,
		ResponseTypesSupported:                 oauth.ResponseTypes,
		ResponseModesSupported:                 oauth.ResponseModes,
		GrantTypesSupported:                    h.advertisedGrantTypes(),
		SubjectTypesSupported:                  oauth.SubjectTypes,
		IDTokenSigningAlgValuesSupported:       algs,
		TokenEndpointAuthMethodsSupported:      oauth.ClientAuthMethods,
		RevocationEndpointAuthMethodsSupported: oauth.ClientAuthMethods,
		// clientPost authenticates /token, /revoke and /introspect alike.
		IntrospectionEndpointAuthMethodsSupported: oauth.ClientAuthMethods,
		ClaimsSupported:                   claims,
		ClaimTypesSupported:               []string{"normal"},
		CodeChallengeMethodsSupported:     oauth.PKCEMethods,
		PromptValuesSupported:             oauth.Prompts,
		AuthorizationResponseISSParameter: true,
	}
	if h.cfg.SessionManagement {
		m.CheckSessionIframe = iss + CheckSessionPath
	}
	return m
}

// appendNew appends the values of add that list does not hold yet,
// leaving list's own backing array alone.
func appendNew(list []string, add ...string) []string {
	for _, v := range add {
		if !slices.Contains(list, v) {
			list = append(slices.Clip(list), v)
		}
	}
	return list
}

// advertisedGrantTypes are the grant types /token serves, and "implicit"
// when a response type without a code is served: Discovery 1.0 §3 names
// the implicit flow a grant type, though it never reaches /token.
func (h *Handler) advertisedGrantTypes() []string {
	grants := h.grantTypes()
	if slices.ContainsFunc(oauth.ResponseTypes, func(rt string) bool { return !oauth.ResponseTypeHas(rt, "code") }) {
		grants = append(grants, "implicit")
	}
	return grants
}

// customScopes are the scopes defined in the admin site beyond the
// standard ones, by name, each with the claims it releases by name: read
// through the scope cache, so discovery is as stale as the scopes /authorize
// grants (Config.ClientCacheTTL), and the discovery cache bounds how often.
func (h *Handler) customScopes(ctx context.Context) ([]oauth.Scope, error) {
	all, err := h.scopes.All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]oauth.Scope, 0, len(all))
	for _, cs := range all {
		out = append(out, oauth.Scope{Name: cs.Name, Title: cs.Title, Description: cs.Description,
			Claims: slices.Sorted(maps.Keys(cs.Claims))})
	}
	slices.SortFunc(out, func(a, b oauth.Scope) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// discoveryCache keeps the encoded document when Config.DiscoveryCache is
// on: it is built at most once per Config.DiscoveryCacheExpire, so a
// change shows here within that bound.
type discoveryCache struct {
	mu    sync.Mutex
	body  []byte
	built time.Time
}

// discoveryBody returns the encoded document and how long it may still be
// kept (zero when the cache is off).
func (h *Handler) discoveryBody(ctx context.Context) ([]byte, time.Duration, error) {
	if !h.cfg.DiscoveryCache {
		b, err := h.encodeMetadata(ctx)
		return b, 0, err
	}
	dc := &h.discovery
	dc.mu.Lock()
	defer dc.mu.Unlock()
	now := h.now()
	if age := now.Sub(dc.built); dc.body != nil && age >= 0 && age < h.cfg.DiscoveryCacheExpire {
		return dc.body, h.cfg.DiscoveryCacheExpire - age, nil
	}
	b, err := h.encodeMetadata(ctx)
	if err != nil {
		return nil, 0, err
	}
	dc.body, dc.built = b, now
	return b, h.cfg.DiscoveryCacheExpire, nil
}

func (h *Handler) encodeMetadata(ctx context.Context) ([]byte, error) {
	algs, err := h.keys.Algorithms(ctx)
	if err != nil {
		return nil, fmt.Errorf("handlers: discovery: %w", err)
	}
	extra, err := h.customScopes(ctx)
	if err != nil {
		return nil, fmt.Errorf("handlers: discovery: %w", err)
	}
	// Strings, booleans and string slices always encode.
	return json.Marshal(h.buildMetadata(algs, extra))
}

// Discovery serves GET /.well-known/openid-configuration (OpenID Connect
// Discovery 1.0 §4) and the same document as RFC 8414 authorization
// server metadata (§3). With the discovery cache on, the answer may be
// kept as long as this instance keeps it (max-age is what is left of
// that), so no copy anywhere is older than OIDC_DISCOVERY_CACHE_EXPIRE;
// off, it is no-cache: every use asks again.
func (h *Handler) Discovery(c echo.Context) error {
	body, keep, err := h.discoveryBody(c.Request().Context())
	if err != nil {
		oe := h.serverError(c, "discovery", err)
		return c.JSON(oe.Status, map[string]string{"error": oe.Code, "error_description": oe.Description})
	}
	cc := "no-cache"
	if h.cfg.DiscoveryCache {
		cc = fmt.Sprintf("public, max-age=%d", int64(keep/time.Second))
	}
	c.Response().Header().Set(echo.HeaderCacheControl, cc)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}

// JWKS serves GET /jwks: the public halves of every key a verifier may
// still meet, never a private part.
func (h *Handler) JWKS(c echo.Context) error {
	body, err := h.keys.JWKS(c.Request().Context())
	if err != nil {
		oe := h.serverError(c, "jwks", err)
		return c.JSON(oe.Status, map[string]string{"error": oe.Code, "error_description": oe.Description})
	}
	c.Response().Header().Set(echo.HeaderCacheControl, fmt.Sprintf("public, max-age=%d", int(JWKSMaxAge.Seconds())))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}
