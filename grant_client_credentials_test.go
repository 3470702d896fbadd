package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// ccClient registers a confidential client that may use client_credentials
// with scopes openid, email and offline_access.
func ccClient(r *rig) (*models.Client, string) {
	c, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.GrantTypes = []string{oauth.GrantClientCredentials}
		c.Scopes = []string{"openid", "email", "profile", "offline_access"}
	})
	r.keep(secret)
	return c, secret
}

// TestClientCredentials drives the grant with x/oauth2's clientcredentials
// as the client (RFC 6749 §4.4): an access token and no refresh or ID
// token; with no scope asked, the client's scopes less openid and
// offline_access. The token is stored with no user, /userinfo refuses it,
// and the issue is audited.
func TestClientCredentials(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	client, secret := ccClient(r)
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		scopes    []string
		style     oauth2.AuthStyle
		wantScope string
	}{
		{"default scope, basic", nil, oauth2.AuthStyleInHeader, "email profile"},
		{"asked scope, post", []string{"email"}, oauth2.AuthStyleInParams, "email"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: client.ClientID, ClientSecret: secret,
				TokenURL: r.env.issuer + "/token", Scopes: tt.scopes, AuthStyle: tt.style}
			tok, err := cfg.Token(ctx)
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			r.keep(tok.AccessToken)
			if tok.AccessToken == "" || tok.RefreshToken != "" || tok.Extra("id_token") != nil {
				t.Errorf("access, refresh, id token = %q, %q, %v; want only an access token", tok.AccessToken, tok.RefreshToken, tok.Extra("id_token"))
			}
			if got := tok.Extra("scope"); got != tt.wantScope {
				t.Errorf("scope = %v, want %q", got, tt.wantScope)
			}
			if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Errorf("token type %q, expiry %v; want Bearer with an expiry", tok.TokenType, tok.Expiry)
			}
			var row models.Token
			if err := r.db.Where("access_token_hash = ?", oauth.HashToken(tok.AccessToken)).Take(&row).Error; err != nil {
				t.Fatalf("stored token: %v", err)
			}
			if row.UserID != nil || row.RefreshTokenHash != nil || row.ClientID != client.ID || row.Scope != tt.wantScope {
				t.Errorf("stored token: user %v, refresh %v, client %d, scope %q; want no user, no refresh, client %d, %q",
					row.UserID, row.RefreshTokenHash, row.ClientID, row.Scope, client.ID, tt.wantScope)
			}
			resp, body := r.userinfo(tok.AccessToken)
			wantUserinfo(t, resp, body, http.StatusUnauthorized, "invalid_token", "")
		})
	}
	var events int64
	if err := r.db.Model(&models.Event{}).Where("kind = ? AND detail = ? AND client_id = ? AND user_id IS NULL",
		models.EventTokenIssued, oauth.GrantClientCredentials, client.ID).Count(&events).Error; err != nil {
		t.Fatal(err)
	}
	if events != 2 {
		t.Errorf("%d token_issued events for client_credentials, want 2", events)
	}
}

// TestClientCredentialsErrors: every refusal is a clear OAuth error and
// stores no token.
func TestClientCredentialsErrors(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	client, secret := ccClient(r)
	noUserScope, noUserSecret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.GrantTypes = []string{oauth.GrantClientCredentials}
		c.Scopes = []string{"openid", "offline_access"}
	})
	r.keep(noUserSecret)
	// A public client given the grant behind the forms' backs.
	pub, _ := r.env.createClient(models.ClientPublic, []string{cbURI}, func(c *models.Client) {
		c.GrantTypes = []string{oauth.GrantClientCredentials}
	})
	form := func(id, secret, scope string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}
		if secret != "" {
			v.Set("client_secret", secret)
		}
		if scope != "" {
			v.Set("scope", scope)
		}
		return v
	}
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"public client", form(pub.ClientID, "", ""), 400, "unauthorized_client"},
		{"wrong secret", form(client.ClientID, "wrong", ""), 401, "invalid_client"},
		{"no secret", form(client.ClientID, "", ""), 401, "invalid_client"},
		{"scope not allowed", form(client.ClientID, secret, "email phone"), 400, "invalid_scope"},
		{"unknown scope", form(client.ClientID, secret, "admin"), 400, "invalid_scope"},
		{"openid asked", form(client.ClientID, secret, "openid email"), 400, "invalid_scope"},
		{"offline_access asked", form(client.ClientID, secret, "offline_access"), 400, "invalid_scope"},
		{"no scope without a user", form(noUserScope.ClientID, noUserSecret, ""), 400, "invalid_scope"},
		{"grant not allowed for the client", form(r.conf.ClientID, r.secret, ""), 400, "unauthorized_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.counts()
			resp, body := r.postToken(tt.form)
			wantTokenError(t, resp, body, tt.wantStatus, tt.wantError)
			r.wantUnchanged(t, before, "tokens")
		})
	}
}
