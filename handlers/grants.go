package handlers

import (
	"slices"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// grant serves one grant_type at the token endpoint (RFC 6749 §4). Token
// does what every grant shares: it parses the body, authenticates the
// client and finds the grant by its grant_type; the grant does the rest,
// one file each (token_code.go, token_refresh.go).
type grant interface {
	// grantType is the grant_type value the grant serves.
	grantType() string
	// exchange answers a token request from an authenticated client.
	exchange(c echo.Context, p params, client *models.Client) (*tokenResponse, *oauth.Error)
}

// allGrants are the grants this server has, in the order discovery and
// the client form list them.
func allGrants(h *Handler) []grant {
	return []grant{codeGrant{h}, refreshGrant{h}, clientCredentialsGrant{h}, passwordGrant{h}}
}

// GrantTypes names every grant_type this server can serve, for the
// command line and the admin site; a configuration may serve fewer
// (Config.GrantTypes).
func GrantTypes() []string {
	var out []string
	for _, g := range allGrants(nil) {
		out = append(out, g.grantType())
	}
	return out
}

// newGrants is the registry: the grants the configuration enables, by
// grant_type. A grant left out is unsupported_grant_type at /token. The
// password grant is served only when Config.PasswordGrant also says so.
func newGrants(h *Handler, enabled []string) map[string]grant {
	out := map[string]grant{}
	for _, g := range allGrants(h) {
		if g.grantType() == oauth.GrantPassword && !h.cfg.PasswordGrant {
			continue
		}
		if enabled == nil || slices.Contains(enabled, g.grantType()) {
			out[g.grantType()] = g
		}
	}
	return out
}

// grantTypes names the grants the registry serves, in allGrants' order,
// for discovery's grant_types_supported.
func (h *Handler) grantTypes() []string {
	var out []string
	for _, g := range allGrants(h) {
		if _, ok := h.grants[g.grantType()]; ok {
			out = append(out, g.grantType())
		}
	}
	return out
}
