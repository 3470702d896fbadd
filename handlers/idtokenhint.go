package handlers

import (
	"context"
	"errors"
)

// errBadHint is an id_token_hint this server did not issue.
var errBadHint = errors.New("handlers: id_token_hint not issued by this server")

// verifyIDTokenHint checks an id_token_hint at /authorize (OpenID Connect
// Core §3.1.2.1) as /end-session does (verifyHint: one of our keys, a
// retired one too, or an HS256 client's secret; iss ours; exp not
// checked, since a hint names who was signed in, which is all it is for)
// and returns the subject it names. The hint may have been issued to
// another client than the one asking: it says who, not for whom. Any
// failure is errBadHint.
func (h *Handler) verifyIDTokenHint(ctx context.Context, hint string) (string, error) {
	claims, _, err := h.verifyHint(ctx, hint)
	if err != nil {
		return "", errBadHint
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return "", errBadHint
	}
	return sub, nil
}
