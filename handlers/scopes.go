package handlers

import (
	"context"

	"oidcd/handlers/oauth"
	"oidcd/models"
	"oidcd/views"
)

// Custom scopes (models.CustomScope) beside the standard ones. They are
// read through the scope cache, and only when a scope in question is not
// a standard one: a request that names standard scopes alone reads
// nothing more than before.

// customScopesAmong returns the custom scopes among names, by name.
func (h *Handler) customScopesAmong(ctx context.Context, names []string) (map[string]models.CustomScope, error) {
	for _, name := range names {
		if _, standard := oauth.LookupScope(name); !standard {
			return h.scopes.All(ctx)
		}
	}
	return nil, nil
}

// grantableScopes are the client's scopes that a user can grant: the
// standard and the custom ones. A name the client lists that is neither
// (a deleted custom scope, offline_access, token_introspection or a
// client_id, which speak of what the client itself may do) is never
// granted at /authorize (PARITY §5: unknown scopes are dropped).
func (h *Handler) grantableScopes(ctx context.Context, client *models.Client) ([]string, error) {
	custom, err := h.customScopesAmong(ctx, client.Scopes)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(client.Scopes))
	for _, name := range client.Scopes {
		_, standard := oauth.LookupScope(name)
		if _, ok := custom[name]; standard || ok {
			out = append(out, name)
		}
	}
	return out, nil
}

// releasedClaims are the claims of user that scopes release: the standard
// claims of the standard scopes (OpenID Connect Core §5.4), and each
// granted custom scope's claims read from the user's fields and
// attributes. Empty values are left out (Core §5.3.2).
func (h *Handler) releasedClaims(ctx context.Context, user *models.User, scopes []string) (map[string]any, error) {
	claims := oauth.ClaimsFor(userClaims(user), scopes)
	custom, err := h.customScopesAmong(ctx, scopes)
	if err != nil || len(custom) == 0 {
		return claims, err
	}
	for _, name := range scopes {
		cs, ok := custom[name]
		if !ok {
			continue
		}
		for claim, ref := range cs.Claims {
			if v, ok := models.AttributeValue(user, ref); ok {
				claims[claim] = v
			}
		}
	}
	return claims, nil
}

// scopeViews describes granted or requested scopes to the user: each
// standard or custom scope with its title and description, a name that is
// neither (a deleted custom scope) as itself. openid, which only confirms
// who the user is, is left out, as the consent page leaves it out.
func (h *Handler) scopeViews(ctx context.Context, names []string) ([]views.ScopeView, error) {
	custom, err := h.customScopesAmong(ctx, names)
	if err != nil {
		return nil, err
	}
	var out []views.ScopeView
	for _, name := range names {
		if name == "openid" {
			continue
		}
		s, _ := oauth.LookupScope(name)
		if cs, ok := custom[name]; ok {
			s = oauth.Scope{Name: cs.Name, Title: cs.Title, Description: cs.Description}
		}
		out = append(out, views.ScopeView{Name: s.Name, Title: s.Title, Description: s.Description})
	}
	return out, nil
}
