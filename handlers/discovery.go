package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
)

// discoveryDocument is OpenID Connect Discovery 1.0 §3 metadata, listing
// only what this server really does.
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// RFC 8414 §2: token revocation (RFC 7009) at /revoke.
	RevocationEndpoint                     string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethodsSupported []string `json:"revocation_endpoint_auth_methods_supported"`
	ClaimsSupported                        []string `json:"claims_supported"`
	CodeChallengeMethodsSupported          []string `json:"code_challenge_methods_supported"`
	PromptValuesSupported                  []string `json:"prompt_values_supported"`
	AuthorizationResponseISSParameter      bool     `json:"authorization_response_iss_parameter_supported"`
	ClaimsParameterSupported               bool     `json:"claims_parameter_supported"`
	RequestParameterSupported              bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported           bool     `json:"request_uri_parameter_supported"`
	RequireRequestURIRegistration          bool     `json:"require_request_uri_registration"`
	UserinfoSigningAlgValuesSupported      []string `json:"userinfo_signing_alg_values_supported,omitempty"`
	ClaimTypesSupported                    []string `json:"claim_types_supported"`

	// RFC 8414 §2: token introspection (RFC 7662) at /introspect.
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
}

// Discovery serves GET /.well-known/openid-configuration. The document
// depends on the configuration only, so New encodes it once and it is
// never stale.
func (h *Handler) Discovery(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=3600")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, h.discoveryJSON)
}

// encodeDiscovery encodes the discovery document. It holds only strings,
// booleans and string slices, which always encode.
func (h *Handler) encodeDiscovery() []byte {
	b, _ := json.Marshal(h.discoveryDocument())
	return b
}

func (h *Handler) discoveryDocument() discoveryDocument {
	iss := h.cfg.Issuer
	doc := discoveryDocument{
		Issuer:                                 iss,
		AuthorizationEndpoint:                  iss + "/authorize",
		TokenEndpoint:                          iss + "/token",
		UserinfoEndpoint:                       iss + "/userinfo",
		JWKSURI:                                iss + "/jwks",
		ScopesSupported:                        oauth.ScopeNames(),
		ResponseTypesSupported:                 oauth.ResponseTypes,
		ResponseModesSupported:                 oauth.ResponseModes,
		GrantTypesSupported:                    h.grantTypes(),
		SubjectTypesSupported:                  oauth.SubjectTypes,
		IDTokenSigningAlgValuesSupported:       jose.Algorithms,
		TokenEndpointAuthMethodsSupported:      oauth.ClientAuthMethods,
		RevocationEndpoint:                     iss + "/revoke",
		RevocationEndpointAuthMethodsSupported: oauth.ClientAuthMethods,
		ClaimsSupported:                        oauth.ClaimsSupported(),
		CodeChallengeMethodsSupported:          oauth.PKCEMethods,
		PromptValuesSupported:                  oauth.Prompts,
		AuthorizationResponseISSParameter:      true,
		ClaimTypesSupported:                    []string{"normal"},

		IntrospectionEndpoint:                     iss + "/introspect",
		IntrospectionEndpointAuthMethodsSupported: oauth.ClientAuthMethods,
	}
	return doc
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
