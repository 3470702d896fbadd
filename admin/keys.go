package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

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

// ListKeys serves GET /admin/keys: every key with its public JWK, its
// state (next, active, retiring, retired) and dates.
func (a *Admin) ListKeys(c echo.Context) error {
	keys, err := a.store.ListSigningKeys(c.Request().Context())
	if err != nil {
		return a.serverError(c, "list signing keys", err)
	}
	now := a.now()
	v := views.KeyListView{AdminChrome: a.chrome(c, "keys", "Signing keys"), PublishFor: a.cfg.KeyPublishFor.String(),
		Prepublish: a.cfg.KeyPrepublish.String(), Algs: jose.KeyAlgorithms}
	if a.cfg.KeyRotation > 0 {
		v.Rotation = days(a.cfg.KeyRotation)
	}
	signing := map[string]bool{} // alg -> its signing key was seen
	for _, k := range keys {
		row := views.KeyRow{ID: k.ID, KID: k.KID, Alg: k.Alg, Created: formatTime(&k.CreatedAt),
			State: k.State(now, a.cfg.KeyPublishFor), Activates: formatTime(&k.ActivatesAt), Retires: formatTime(k.RetiredAt)}
		if k.RetiredAt == nil {
			row.Retires = ""
		}
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
		switch row.State {
		case models.KeyActive:
			row.Retirable = true
			// Keys come newest activation first, the order in which
			// the signer is picked.
			if !signing[k.Alg] {
				row.Signing, signing[k.Alg] = true, true
			}
		case models.KeyNext:
			row.Retirable = true
		default:
			until := k.RetiredAt.Add(a.cfg.KeyPublishFor)
			row.PublishedUntil = formatTime(&until)
		}
		v.Keys = append(v.Keys, row)
	}
	return a.render(c, http.StatusOK, views.KeyListPage(v))
}

func days(d time.Duration) string {
	if n := int(d / (24 * time.Hour)); n != 1 {
		return fmt.Sprintf("%d days", n)
	}
	return "day"
}

// CreateKey serves POST /admin/keys: a new key of the algorithm chosen
// (RS256 when none is), as `oidcd createkey --alg` makes. It is a
// rotation of that algorithm: the key is published now and signs after
// the pre-publication period, or at once when "now" is checked (an
// emergency) or the algorithm has no key.
func (a *Admin) CreateKey(c echo.Context) error {
	alg := c.FormValue("alg")
	if alg == "" {
		alg = jose.RS256
	}
	if !slices.Contains(jose.KeyAlgorithms, alg) {
		return a.redirectWith(c, "/admin/keys", "error", "Choose RS256, ES256 or EdDSA.")
	}
	signNow := c.FormValue("now") != ""
	k, err := a.store.RotateSigningKeys(c.Request().Context(), a.rotation(c, alg, "create", signNow))
	switch {
	case errors.Is(err, models.ErrKeyPending):
		return a.redirectWith(c, "/admin/keys", "error", fmt.Sprintf(
			"Key %s of %s is already next: it signs from %s. Retire it first, or check “Sign at once”.", k.KID, alg, formatTime(&k.ActivatesAt)))
	case err != nil:
		return a.serverError(c, "add signing key", err)
	}
	a.keys.Invalidate()
	return a.redirectWith(c, "/admin/keys", "success", keyCreated(k, a.now()))
}

func keyCreated(k *models.SigningKey, now time.Time) string {
	if k.ActivatesAt.After(now) {
		return fmt.Sprintf("Key %s (%s) created: published in /jwks now, it signs from %s.", k.KID, k.Alg, formatTime(&k.ActivatesAt))
	}
	return fmt.Sprintf("Key %s (%s) created; it signs new ID tokens from now on.", k.KID, k.Alg)
}

// rotation asks for a key of alg, recorded in the audit log as this
// admin's change (action: create or rotate).
func (a *Admin) rotation(c echo.Context, alg, action string, signNow bool) models.Rotation {
	e := &models.Event{Kind: models.EventAdminChange, Detail: action + " signing key", RemoteIP: c.RealIP()}
	if u := actor(c); u != nil {
		e.Username, e.UserID = u.Username, &u.ID
	}
	r := models.Rotation{Alg: alg, Now: a.now(), Prepublish: a.cfg.KeyPrepublish, NewKey: newSigningKey, Event: e}
	if signNow {
		r.Prepublish = 0
		e.Detail += " at once"
	}
	return r
}

func newSigningKey(alg string) (models.SigningKey, error) {
	m, err := jose.NewKey(alg)
	if err != nil {
		return models.SigningKey{}, err
	}
	return models.SigningKey{KID: m.KID, Alg: m.Alg, PrivateKeyPEM: m.PEM}, nil
}

// rotatableAlgs are the algorithms with a key that signs or will.
func (a *Admin) rotatableAlgs(c echo.Context) ([]string, error) {
	keys, err := a.store.ListSigningKeys(c.Request().Context())
	if err != nil {
		return nil, err
	}
	now := a.now()
	var algs []string
	for _, alg := range jose.KeyAlgorithms {
		for i := range keys {
			if keys[i].Alg == alg && (keys[i].RetiredAt == nil || keys[i].RetiredAt.After(now)) {
				algs = append(algs, alg)
				break
			}
		}
	}
	return algs, nil
}

// ConfirmRotateKeys serves GET /admin/keys/rotate: what a rotation does,
// and a button (a plain form: no script needed).
func (a *Admin) ConfirmRotateKeys(c echo.Context) error {
	algs, err := a.rotatableAlgs(c)
	if err != nil {
		return a.serverError(c, "list signing keys", err)
	}
	v := views.ConfirmView{
		AdminChrome: a.chrome(c, "keys", "Rotate signing keys"), Heading: "Rotate the signing keys?",
		Action: "/admin/keys/rotate", Button: "Rotate", Cancel: "/admin/keys",
		Undo: "A new key can be retired before it begins to sign.",
	}
	if len(algs) == 0 {
		v.Disabled = "No key to rotate."
	} else {
		v.Lead = fmt.Sprintf("A new key of each of %s is published in /jwks now and signs in %s; "+
			"the key signing now then retires, and stays published until the tokens it signed have expired. "+
			"An algorithm whose next key is already published keeps it.", strings.Join(algs, ", "), a.cfg.KeyPrepublish)
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(v))
}

// RotateKeys serves POST /admin/keys/rotate: a next key for every
// algorithm that has a key, as `oidcd rotatekeys` makes. An algorithm
// whose next key is already published keeps it.
func (a *Admin) RotateKeys(c echo.Context) error {
	algs, err := a.rotatableAlgs(c)
	if err != nil {
		return a.serverError(c, "list signing keys", err)
	}
	var done, pending []string
	for _, alg := range algs {
		k, err := a.store.RotateSigningKeys(c.Request().Context(), a.rotation(c, alg, "rotate", false))
		switch {
		case errors.Is(err, models.ErrKeyPending):
			pending = append(pending, fmt.Sprintf("%s (%s, signs from %s)", k.KID, alg, formatTime(&k.ActivatesAt)))
		case err != nil:
			return a.serverError(c, "rotate signing keys", err)
		default:
			done = append(done, fmt.Sprintf("%s (%s, signs from %s)", k.KID, alg, formatTime(&k.ActivatesAt)))
		}
	}
	a.keys.Invalidate()
	msg := "No key to rotate."
	if len(done) > 0 {
		msg = "New keys published: " + strings.Join(done, ", ") + "."
	}
	if len(pending) > 0 {
		msg += " Already next: " + strings.Join(pending, ", ") + "."
	}
	return a.redirectWith(c, "/admin/keys", "success", msg)
}

// RetireKey serves POST /admin/keys/:id/retire. A retired key no longer
// signs but stays in /jwks until the ID tokens it signed have expired; a
// next key is dropped before it signs. The last active key of an
// algorithm cannot be retired.
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
		fmt.Sprintf("Key %s retired. It stays published in /jwks for %s, until the ID tokens it signed have expired.", k.KID, a.cfg.KeyPublishFor))
}

// ConfirmRetireKey serves GET /admin/keys/:id/retire: what retiring the
// key does (RetireKey), asked of the store without changing anything, so
// the last active key of its algorithm is refused here already.
func (a *Admin) ConfirmRetireKey(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "signing key")
	}
	ctx := c.Request().Context()
	now := a.now()
	k, err := a.store.CheckRetireSigningKey(ctx, id, now)
	if errors.Is(err, models.ErrNotFound) {
		if _, lerr := a.store.SigningKeyByID(ctx, id); lerr == nil {
			return a.redirectWith(c, "/admin/keys", "error", "That key is already retired.")
		}
		return a.notFound(c, "signing key")
	}
	if err != nil && !errors.Is(err, models.ErrLastSigningKey) {
		return a.serverError(c, "check retire signing key", err)
	}
	v := views.ConfirmView{
		AdminChrome: a.chrome(c, "keys", "Retire key "+k.KID),
		Heading:     fmt.Sprintf("Retire signing key %s (%s)?", k.KID, k.Alg),
		Action:      fmt.Sprintf("/admin/keys/%d/retire", k.ID), Button: "Retire key", Cancel: "/admin/keys",
	}
	if errors.Is(err, models.ErrLastSigningKey) {
		v.Disabled = "This is the last active key of its algorithm: create a new key before retiring it, or the server could no longer sign ID tokens."
	}
	if k.State(now, a.cfg.KeyPublishFor) == models.KeyNext {
		v.Lead = fmt.Sprintf("The key is next: it has not signed anything yet, and was to sign from %s. It is dropped now and never signs; "+
			"the %s key signing now goes on signing.", formatTime(&k.ActivatesAt), k.Alg)
	} else {
		v.Lead = fmt.Sprintf("The key stops signing now; the next active %s key signs new ID tokens. It stays published in /jwks for %s, "+
			"until the ID tokens it signed have expired, and then leaves it.", k.Alg, a.cfg.KeyPublishFor)
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(v))
}
