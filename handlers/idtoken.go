package handlers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// newToken makes an access and refresh token pair for a user and returns
// the row to store with the plaintext values, which are never stored.
func (h *Handler) newToken(client *models.Client, userID uint, scope string, authTime, now time.Time) (*models.Token, string, string) {
	access, refresh := oauth.NewToken(), oauth.NewToken()
	refreshHash := oauth.HashToken(refresh)
	refreshExpires := now.Add(h.cfg.RefreshTokenExpire)
	return &models.Token{
		AccessTokenHash:  oauth.HashToken(access),
		RefreshTokenHash: &refreshHash,
		ClientID:         client.ID,
		UserID:           &userID,
		Scope:            scope,
		AuthTime:         authTime,
		ExpiresAt:        now.Add(h.cfg.TokenExpire),
		RefreshExpiresAt: &refreshExpires,
	}, access, refresh
}

// tokenResponse builds the JSON answer, with an ID token when openid was
// granted.
func (h *Handler) tokenResponse(c echo.Context, sign idTokenSigner, client *models.Client, user *models.User,
	tok *models.Token, access, refresh, nonce string) (*tokenResponse, *oauth.Error) {
	resp := &tokenResponse{
		AccessToken:  access,
		TokenType:    "Bearer",
		ExpiresIn:    int64(h.cfg.TokenExpire / time.Second),
		RefreshToken: refresh,
		Scope:        tok.Scope,
	}
	if !slices.Contains(tok.ScopeList(), "openid") {
		return resp, nil
	}
	claims, err := h.idTokenClaims(c.Request().Context(), client, user, tok.ScopeList(), tok.AuthTime, nonce, h.cfg.IDTokenIncludeClaims)
	if err != nil {
		return nil, h.serverError(c, "id token claims", err)
	}
	claims["at_hash"] = oauth.HalfHash(client.JWTAlg, access)
	if tok.SID != "" {
		claims["sid"] = tok.SID // the login session's (Back-Channel Logout 1.0 §2.1)
	}
	idt, err := sign(claims)
	if err != nil {
		return nil, h.serverError(c, "sign id token", err)
	}
	resp.IDToken = idt
	return resp, nil
}

// idTokenClaims are the claims of an ID token for user and client
// (OpenID Connect Core §2), with the scopes' user claims when
// includeClaims; the caller adds at_hash and c_hash. The authorization
// and token endpoints both build theirs here, so an ID token from a
// hybrid flow's code has the sub and iss of the one returned beside the
// code (Core §3.3.3.6).
func (h *Handler) idTokenClaims(ctx context.Context, client *models.Client, user *models.User, scopes []string, authTime time.Time, nonce string, includeClaims bool) (map[string]any, error) {
	now := h.now()
	claims := map[string]any{}
	if includeClaims {
		var err error
		if claims, err = h.releasedClaims(ctx, user, scopes); err != nil {
			return nil, err
		}
	}
	claims["iss"] = h.cfg.Issuer
	claims["sub"] = user.Subject
	claims["aud"] = client.ClientID
	claims["azp"] = client.ClientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(h.cfg.IDTokenExpire).Unix()
	claims["auth_time"] = authTime.Unix()
	if nonce != "" {
		claims["nonce"] = nonce
	}
	return claims, nil
}

// idTokenSigner signs an ID token's claims for one client.
type idTokenSigner func(claims map[string]any) (string, error)

// signingKey returns what signs the client's ID tokens: the newest active
// server key of the client's algorithm, from the key cache, or for HS256
// the client's own secret, kept sealed for this (OpenID Connect Core
// §10.1). It is found before anything is written, so a client that cannot
// be signed for fails without side effects.
func (h *Handler) signingKey(c echo.Context, client *models.Client) (idTokenSigner, *oauth.Error) {
	if client.JWTAlg == jose.HS256 {
		secret, err := h.store.ClientSecret(client)
		if err != nil {
			return nil, h.serverError(c, "signing key", err)
		}
		if secret == "" {
			return nil, h.serverError(c, "signing key", errors.New("HS256 client "+client.ClientID+" has no kept secret; rotate it"))
		}
		return func(claims map[string]any) (string, error) { return jose.SignHS256(secret, claims) }, nil
	}
	ctx := c.Request().Context()
	k, err := h.keys.Signer(ctx, client.JWTAlg)
	if err != nil {
		return nil, h.serverError(c, "signing key", err)
	}
	if client.JWTAlg != jose.RS256 {
		return k.Sign, nil
	}
	return func(claims map[string]any) (string, error) {
		if err := h.rsaSigners.Acquire(ctx, 1); err != nil {
			return "", err
		}
		defer h.rsaSigners.Release(1)
		return k.Sign(claims)
	}, nil
}

// rsaSigningSlots is how many RS256 signatures run at once on procs
// cores: one core is left to everything else. An RSA-2048 signature is
// about a millisecond of CPU, three orders of magnitude more than an
// ES256, EdDSA or HS256 one; with a signature on every core, the
// goroutine that holds the database writer waits for a core after each
// call into SQLite, and every write queues behind it (measured on two
// cores: p99 of the refresh grant 190 ms with no bound, 60 ms with one
// signer, and 10% more refreshes a second). The rest of a request still
// runs on every core.
func rsaSigningSlots(procs int) int64 {
	return int64(max(1, procs-1))
}

// userClaims lists every standard claim of a user (OpenID Connect Core
// §5.1) from the claims table; oauth.ClaimsFor picks those the granted
// scopes release.
func userClaims(u *models.User) map[string]any { return models.StandardClaims(u) }

func joinScopes(s []string) string { return strings.Join(s, " ") }
