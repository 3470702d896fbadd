package handlers

import (
	"context"
	"errors"

	"oidcd/handlers/jose"
	"oidcd/models"
)

// errBadHint is an id_token_hint this server did not issue.
var errBadHint = errors.New("handlers: id_token_hint not issued by this server")

// verifyIDTokenHint checks an id_token_hint (OpenID Connect Core §3.1.2.1)
// and returns the subject it names: the signature must be by one of our
// published keys, or for a client that signs with HS256 by that client's
// secret, and iss must be ours. An expired hint is fine: it names who
// was signed in, which is all a hint is for. client may be nil, when the
// hint is not sent with a client; an HS256 hint cannot be checked then.
// Any failure is errBadHint or a store failure.
func (h *Handler) verifyIDTokenHint(ctx context.Context, hint string, client *models.Client) (string, error) {
	secret := ""
	if client != nil && client.JWTAlg == jose.HS256 {
		s, err := h.store.ClientSecret(client)
		if err != nil {
			return "", err
		}
		secret = s
	}
	claims, err := h.keys.VerifyOwn(ctx, hint, secret)
	if err != nil {
		return "", errBadHint
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	if iss != h.cfg.Issuer || sub == "" {
		return "", errBadHint
	}
	return sub, nil
}
