package handlers

import (
	"errors"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// codeGrant is the authorization_code grant (RFC 6749 §4.1.3, RFC 7636
// §4.5).
type codeGrant struct{ h *Handler }

func (codeGrant) grantType() string { return oauth.GrantAuthorizationCode }

func (g codeGrant) exchange(c echo.Context, p params, client *models.Client) (*tokenResponse, *oauth.Error) {
	h := g.h
	code, _ := p.get("code")
	redirectURI, _ := p.get("redirect_uri")
	verifier, _ := p.get("code_verifier")
	if code == "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "code is required")
	}
	if redirectURI == "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "redirect_uri is required")
	}
	ctx := c.Request().Context()
	key, kerr := h.signingKey(c, client)
	if kerr != nil {
		return nil, kerr
	}
	now := h.now()
	var access, refresh, nonce string
	var user models.User
	// Recorded in the redemption's transaction.
	issued := &models.Event{Kind: models.EventTokenIssued, ClientID: &client.ID, Detail: "authorization_code", RemoteIP: c.RealIP()}
	tok, err := h.store.RedeemCode(ctx, oauth.HashToken(code), now,
		func(cd *models.Code) error {
			switch {
			case cd.ClientID != client.ID:
				return oauth.Errorf(oauth.InvalidGrant, "the code was issued to another client")
			case !now.Before(cd.ExpiresAt):
				return oauth.Errorf(oauth.InvalidGrant, "the code has expired")
			case cd.RedirectURI != redirectURI:
				return oauth.Errorf(oauth.InvalidGrant, "redirect_uri does not match the authorization request")
			case cd.CodeChallenge == "" && verifier != "":
				return oauth.Errorf(oauth.InvalidGrant, "code_verifier sent for a code issued without code_challenge")
			case cd.CodeChallenge != "" && !oauth.VerifyPKCE(cd.CodeChallengeMethod, cd.CodeChallenge, verifier):
				return oauth.Errorf(oauth.InvalidGrant, "code_verifier does not match the code_challenge")
			case !cd.User.Active:
				return oauth.Errorf(oauth.InvalidGrant, "the user is no longer active")
			}
			return nil
		},
		func(cd *models.Code) (*models.Token, error) {
			var t *models.Token
			t, access, refresh = h.newToken(client, cd.UserID, cd.Scope, cd.AuthTime, now)
			t.FamilyID = models.NewID()
			t.SID = cd.SID
			nonce, user = cd.Nonce, cd.User
			issued.UserID = &cd.UserID
			return t, nil
		}, issued)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, oauth.Errorf(oauth.InvalidGrant, "the code is invalid")
	case errors.Is(err, models.ErrCodeReused):
		return nil, oauth.Errorf(oauth.InvalidGrant, "the code has already been used; the tokens it issued are revoked")
	case err != nil:
		if oe := asOAuthError(err); oe != nil {
			return nil, oe
		}
		return nil, h.serverError(c, "redeem code", err)
	}
	h.metrics.TokenIssued("authorization_code")
	return h.tokenResponse(c, key, client, &user, tok, access, refresh, nonce)
}
