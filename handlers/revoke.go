package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// Revoke serves POST /revoke, token revocation (RFC 7009). The client
// authenticates as at /token (§2.1); token is required (invalid_request
// otherwise); token_type_hint, access_token or refresh_token, is only a
// hint: both kinds are looked up (§2.1), and a value we do not know is
// ignored. A token is revoked only for the client it was issued to; an
// unknown token, or another client's, changes nothing and is answered
// 200 all the same (§2.2), so the answer tells no one whether a token
// exists. Every answer is no-store. A revocation that changed something
// is recorded in the audit log in the same transaction.
func (h *Handler) Revoke(c echo.Context) error {
	token, client, answered := h.clientToken(c)
	if client == nil {
		return answered
	}
	if _, err := h.store.RevokeByValue(c.Request().Context(), client.ID, oauth.HashToken(token), h.now(),
		&models.Event{Kind: models.EventTokenRevoked, RemoteIP: c.RealIP()}); err != nil {
		return h.tokenError(c, h.serverError(c, "revoke token", err))
	}
	return c.NoContent(http.StatusOK)
}
