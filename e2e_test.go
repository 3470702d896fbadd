package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/models"
)

// TestCodeFlowWithRealClient drives oidcd as a relying party would, with
// go-oidc and x/oauth2: discovery, PKCE code flow through our login and
// consent pages, ID token verification, userinfo, and refresh rotation.
func TestCodeFlowWithRealClient(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	const password = "correct horse battery"
	alice := env.createUser("alice", password, func(u *models.User) {
		u.Email, u.EmailVerified = "alice@example.org", true
		u.Name, u.GivenName, u.FamilyName = "Alice Liddell", "Alice", "Liddell"
		u.PhoneNumber = "+44 20 7946 0000"
	})
	redirect := "http://127.0.0.1/rp/callback"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect})

	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp := oauth2.Config{
		ClientID: client.ClientID, ClientSecret: secret, RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"},
	}
	verifier := oauth2.GenerateVerifier()
	state, nonce := "state-"+models.NewID(), "nonce-"+models.NewID()
	authURL := rp.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))

	back := env.browser().authorize(authURL, "alice", password, "allow")
	q := back.Query()
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirect {
		t.Fatalf("redirected to %s, want %s", got, redirect)
	}
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != env.issuer {
		t.Errorf("iss = %q, want %q (RFC 9207)", q.Get("iss"), env.issuer)
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("no code in %s", back)
	}

	tok, err := rp.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, ok := tok.Extra("id_token").(string)
	if !ok {
		t.Fatalf("no id_token in the token response")
	}
	idToken, err := provider.Verifier(&oidc.Config{ClientID: client.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	if idToken.Nonce != nonce {
		t.Errorf("nonce = %q, want %q", idToken.Nonce, nonce)
	}
	if idToken.Subject != alice.Subject {
		t.Errorf("sub = %q, want %q", idToken.Subject, alice.Subject)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var idClaims struct {
		AuthTime int64  `json:"auth_time"`
		AZP      string `json:"azp"`
	}
	if err := idToken.Claims(&idClaims); err != nil {
		t.Fatalf("id token claims: %v", err)
	}
	if idClaims.AuthTime == 0 || idClaims.AZP != client.ClientID {
		t.Errorf("auth_time = %d, azp = %q; want a login time and %q", idClaims.AuthTime, idClaims.AZP, client.ClientID)
	}

	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil {
		t.Fatalf("userinfo claims: %v", err)
	}
	if claims["sub"] != alice.Subject || claims["email"] != "alice@example.org" || claims["email_verified"] != true {
		t.Errorf("userinfo = %v, want alice's sub, email and email_verified", claims)
	}
	for _, absent := range []string{"name", "given_name", "family_name", "phone_number", "address"} {
		if _, ok := claims[absent]; ok {
			t.Errorf("userinfo has %s, which needs a scope that was not granted: %v", absent, claims)
		}
	}

	// Refresh: a new pair comes back, the old refresh token is refused, and
	// the new access token works.
	refreshed, err := rp.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", refreshed)
	}
	refreshedID, _ := refreshed.Extra("id_token").(string)
	newID, err := provider.Verifier(&oidc.Config{ClientID: client.ClientID}).Verify(ctx, refreshedID)
	if err != nil {
		t.Fatalf("verify refreshed id token: %v", err)
	}
	var newClaims struct {
		AuthTime int64 `json:"auth_time"`
	}
	_ = newID.Claims(&newClaims)
	if newClaims.AuthTime != idClaims.AuthTime {
		t.Errorf("refreshed auth_time = %d, want the original %d", newClaims.AuthTime, idClaims.AuthTime)
	}

	resp, body := postForm(t, env.issuer+"/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {client.ClientID}, "client_secret": {secret},
	})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("old refresh token: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
	// Presenting the rotated-out token was reuse: the family is revoked,
	// including the access token the refresh produced (RFC 9700 §4.14.2).
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(refreshed)); err == nil {
		t.Errorf("userinfo with the refreshed token after refresh-token reuse: want 401")
	}
}

// TestRefreshedTokenWorks checks the happy path after a refresh without
// any reuse: the new access token is accepted and the old one is not.
func TestRefreshedTokenWorks(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("bob", "bob password 1")
	redirect := "http://127.0.0.1/cb"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect})
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp := oauth2.Config{ClientID: client.ClientID, ClientSecret: secret, RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile"}}
	back := env.browser().authorize(rp.AuthCodeURL("s1"), "bob", "bob password 1", "allow")
	tok, err := rp.Exchange(ctx, back.Query().Get("code"))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	refreshed, err := rp.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(refreshed)); err != nil {
		t.Errorf("userinfo with the new access token: %v", err)
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Errorf("userinfo with the rotated-out access token: want 401")
	}
}
