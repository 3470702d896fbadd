package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/jose"
	"oidcd/models"
	"oidcd/views"
)

// keyState is a signing key as the audit log records it: never the
// private key.
type keyState struct {
	KID, Alg string
}

// ListKeys serves GET /admin/keys: every key with its public JWK, which
// one signs, and how long a retired key stays in /jwks.
func (a *Admin) ListKeys(c echo.Context) error {
	keys, err := a.store.ListSigningKeys(c.Request().Context())
	if err != nil {
		return a.serverError(c, "list signing keys", err)
	}
	now := a.now()
	v := views.KeyListView{AdminChrome: a.chrome(c, "keys", "Signing keys"), PublishFor: a.cfg.IDTokenExpire.String(), Algs: jose.KeyAlgorithms}
	signing := map[string]bool{} // alg -> its signing key was seen
	for _, k := range keys {
		row := views.KeyRow{ID: k.ID, KID: k.KID, Alg: k.Alg, Created: formatTime(&k.CreatedAt)}
		// The public half only, rendered by the JOSE package: the private
		// key never reaches a page.
		parsed, err := a.keys.Parsed(jose.KeyMaterial{KID: k.KID, Alg: k.Alg, PEM: k.PrivateKeyPEM})
		if err != nil {
			return a.serverError(c, "public jwk", err)
		}
		b, err := json.MarshalIndent(parsed.PublicJWK(), "", "  ")
		if err != nil {
			return a.serverError(c, "encode jwk", err)
		}
		row.JWK = string(b)
		if k.RetiredAt == nil {
			row.Active = true
			// Keys come newest first, the order ActiveSigningKey uses.
			if !signing[k.Alg] {
				row.Signing, signing[k.Alg] = true, true
			}
		} else {
			row.Retired = formatTime(k.RetiredAt)
			until := k.RetiredAt.Add(a.cfg.IDTokenExpire)
			row.PublishedUntil = formatTime(&until)
			row.Published = until.After(now)
		}
		v.Keys = append(v.Keys, row)
	}
	return a.render(c, http.StatusOK, views.KeyListPage(v))
}

// CreateKey serves POST /admin/keys: a new key of the algorithm chosen
// (RS256 when none is), as `oidcd createkey --alg` makes; being the newest
// active key of its algorithm, it signs from now on.
func (a *Admin) CreateKey(c echo.Context) error {
	alg := c.FormValue("alg")
	if alg == "" {
		alg = jose.RS256
	}
	if !slices.Contains(jose.KeyAlgorithms, alg) {
		return a.redirectWith(c, "/admin/keys", "error", "Choose RS256, ES256 or EdDSA.")
	}
	m, err := jose.NewKey(alg)
	if err != nil {
		return a.serverError(c, "new signing key", err)
	}
	k := &models.SigningKey{KID: m.KID, Alg: m.Alg, PrivateKeyPEM: m.PEM}
	if err := a.store.AddSigningKey(c.Request().Context(), k); err != nil {
		return a.serverError(c, "add signing key", err)
	}
	a.keys.Invalidate()
	a.audit(c, "create signing key", "signing key "+k.KID, nil, keyState{KID: k.KID, Alg: k.Alg})
	return a.redirectWith(c, "/admin/keys", "success", fmt.Sprintf("Key %s created; it signs new ID tokens from now on.", k.KID))
}

// RetireKey serves POST /admin/keys/:id/retire. A retired key no longer
// signs but stays in /jwks for the ID token lifetime, so tokens it signed
// still verify. The last active key of an algorithm cannot be retired.
func (a *Admin) RetireKey(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "signing key")
	}
	k, err := a.store.RetireSigningKey(c.Request().Context(), id, a.now())
	switch {
	case errors.Is(err, models.ErrLastSigningKey):
		return a.redirectWith(c, "/admin/keys", "error",
			"This is the last active key of its algorithm: create a new key before retiring it, or the server could no longer sign ID tokens.")
	case errors.Is(err, models.ErrNotFound):
		if _, lerr := a.store.SigningKeyByID(c.Request().Context(), id); lerr == nil {
			return a.redirectWith(c, "/admin/keys", "error", "That key is already retired.")
		}
		return a.notFound(c, "signing key")
	case err != nil:
		return a.serverError(c, "retire signing key", err)
	}
	a.keys.Invalidate()
	a.audit(c, "retire signing key", "signing key "+k.KID, keyState{KID: k.KID, Alg: k.Alg}, nil)
	return a.redirectWith(c, "/admin/keys", "success",
		fmt.Sprintf("Key %s retired. It stays published in /jwks for %s, until the ID tokens it signed have expired.", k.KID, a.cfg.IDTokenExpire))
}
