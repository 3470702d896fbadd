package main

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// TestRevoke: token revocation (RFC 7009) at POST /revoke, as a table.
// Each row gets a fresh code-flow pair for the confidential client, which
// it has refreshed once (so the family has a rotated-out pair and a live
// one), sends a revocation request built from it, and checks the answer
// and which tokens work afterwards.
func TestRevoke(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	other, otherSecret := r.env.createClient(models.ClientConfidential, []string{cbURI})
	r.keep(otherSecret)
	type pair struct{ access, refresh string }
	creds := func(id, secret string) url.Values {
		return url.Values{"client_id": {id}, "client_secret": {secret}}
	}
	tests := []struct {
		name string
		// form builds the request from the live pair.
		form       func(live pair) url.Values
		edit       func(*http.Request)
		wantStatus int
		wantError  string
		// wantRevoked: the live pair (its access and refresh token) no
		// longer works.
		wantRevoked bool
	}{
		{"live access token", func(p pair) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", p.access)
			v.Set("token_type_hint", "access_token")
			return v
		}, nil, 200, "", true},
		{"live refresh token: its family goes", func(p pair) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", p.refresh)
			v.Set("token_type_hint", "refresh_token")
			return v
		}, nil, 200, "", true},
		{"refresh token with a wrong hint", func(p pair) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", p.refresh)
			v.Set("token_type_hint", "access_token")
			return v
		}, nil, 200, "", true},
		{"access token, no hint, client_secret_basic", func(p pair) url.Values {
			return url.Values{"token": {p.access}}
		}, basicAuth(r.conf.ClientID, r.secret), 200, "", true},
		{"unknown hint value", func(p pair) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", p.access)
			v.Set("token_type_hint", "id_token")
			return v
		}, nil, 200, "", true},
		{"expired access token: its pair goes all the same", func(p pair) url.Values {
			r.env.clock.Advance(2 * time.Hour) // past OIDC_TOKEN_EXPIRE, within the refresh lifetime
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", p.access)
			return v
		}, nil, 200, "", true},
		{"already revoked: 200, recorded once", func(p pair) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", p.refresh)
			if resp, _ := postForm(t, r.env.issuer+"/revoke", v); resp.StatusCode != http.StatusOK {
				t.Fatalf("first revocation: %d", resp.StatusCode)
			}
			return v
		}, nil, 200, "", true},
		{"another client's token", func(p pair) url.Values {
			v := creds(other.ClientID, otherSecret)
			v.Set("token", p.refresh)
			return v
		}, nil, 200, "", false},
		{"unknown token", func(p pair) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v.Set("token", oauth.NewToken())
			return v
		}, nil, 200, "", false},
		{"missing token", func(p pair) url.Values {
			return creds(r.conf.ClientID, r.secret)
		}, nil, 400, "invalid_request", false},
		{"token twice", func(p pair) url.Values {
			v := creds(r.conf.ClientID, r.secret)
			v["token"] = []string{p.access, p.refresh}
			return v
		}, nil, 400, "invalid_request", false},
		{"wrong secret", func(p pair) url.Values {
			v := creds(r.conf.ClientID, "wrong")
			v.Set("token", p.access)
			return v
		}, nil, 401, "invalid_client", false},
		{"no client authentication", func(p pair) url.Values {
			return url.Values{"token": {p.access}}
		}, nil, 401, "invalid_client", false},
		{"unknown client", func(p pair) url.Values {
			v := creds("nobody", "secret")
			v.Set("token", p.access)
			return v
		}, nil, 401, "invalid_client", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := r.tokens(b, r.conf, r.secret, func(v url.Values) { v.Set("scope", "openid profile") })
			resp, body := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)},
				"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("refresh: %d %v", resp.StatusCode, body)
			}
			live := pair{body["access_token"].(string), body["refresh_token"].(string)}
			var edits []func(*http.Request)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			audited := countRevokeEvents(t, r)
			resp, body = postForm(t, r.env.issuer+"/revoke", tt.form(live), edits...)
			wantAudited := audited
			if tt.wantRevoked {
				wantAudited++
			}
			if got := countRevokeEvents(t, r); got != wantAudited {
				t.Errorf("token_revoked events: %d, want %d", got, wantAudited)
			}
			if tt.wantStatus == http.StatusOK {
				if resp.StatusCode != http.StatusOK || body != nil {
					t.Errorf("got %d %v, want 200 with an empty body", resp.StatusCode, body)
				}
				if got := resp.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
			} else {
				wantTokenError(t, resp, body, tt.wantStatus, tt.wantError)
			}
			wantAccess := http.StatusOK
			if tt.wantRevoked {
				wantAccess = http.StatusUnauthorized
			}
			if got := r.userinfoStatus(live.access); got != wantAccess {
				t.Errorf("userinfo with the live access token: %d, want %d", got, wantAccess)
			}
			resp, body = r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {live.refresh},
				"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
			if tt.wantRevoked {
				wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
			} else if resp.StatusCode != http.StatusOK {
				t.Errorf("refresh with the live refresh token: %d %v, want 200", resp.StatusCode, body)
			}
		})
	}
}

// countRevokeEvents counts the audit log's token_revoked events for the
// rig's confidential client and user.
func countRevokeEvents(t *testing.T, r *rig) int64 {
	t.Helper()
	var n int64
	err := r.db.Model(&models.Event{}).Where("kind = ? AND client_id = ? AND user_id = ?", models.EventTokenRevoked, r.conf.ID, r.user.ID).Count(&n).Error
	if err != nil {
		t.Fatalf("count events: %v", err)
	}
	return n
}

// TestRevokeFamily: revoking the refresh token a pair was rotated from
// revokes the whole family, so the pair rotated from it stops working too
// (its access token at /userinfo, its refresh token at /token); another
// family of the same client and user keeps working.
func TestRevokeFamily(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	refresh := func(token string) (*http.Response, map[string]any) {
		return r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token},
			"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
	}
	first := r.tokens(b, r.conf, r.secret, nil)
	resp, second := refresh(first["refresh_token"].(string))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %v", resp.StatusCode, second)
	}
	otherFamily := r.tokens(b, r.conf, r.secret, nil)
	if got := r.userinfoStatus(second["access_token"].(string)); got != http.StatusOK {
		t.Fatalf("userinfo with the rotated pair before the revocation: %d, want 200", got)
	}
	resp, body := postForm(t, r.env.issuer+"/revoke", url.Values{"token": {first["refresh_token"].(string)},
		"token_type_hint": {"refresh_token"}, "client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %v", resp.StatusCode, body)
	}
	if got := r.userinfoStatus(second["access_token"].(string)); got != http.StatusUnauthorized {
		t.Errorf("userinfo with the rotated pair's access token: %d, want 401", got)
	}
	resp, body = refresh(second["refresh_token"].(string))
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if got := r.userinfoStatus(otherFamily["access_token"].(string)); got != http.StatusOK {
		t.Errorf("userinfo with another family's access token: %d, want 200", got)
	}
	resp, body = refresh(otherFamily["refresh_token"].(string))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("refresh of another family: %d %v, want 200", resp.StatusCode, body)
	}
}

// TestRevokePublicAndClientCredentials: a public client revokes its own
// token with its client_id alone; a client_credentials token is revoked
// like any access token.
func TestRevokePublicAndClientCredentials(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	tok := r.tokens(b, r.pub, "", nil)
	resp, body := postForm(t, r.env.issuer+"/revoke", url.Values{"token": {tok["refresh_token"].(string)}, "client_id": {r.pub.ClientID}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("public revoke: %d %v", resp.StatusCode, body)
	}
	if got := r.userinfoStatus(tok["access_token"].(string)); got != http.StatusUnauthorized {
		t.Errorf("userinfo after the public client revoked: %d, want 401", got)
	}

	cc, secret := ccClient(r)
	resp, body = r.postToken(url.Values{"grant_type": {"client_credentials"}, "client_id": {cc.ClientID}, "client_secret": {secret}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, body)
	}
	access := body["access_token"].(string)
	resp, body = postForm(t, r.env.issuer+"/revoke", url.Values{"token": {access}}, basicAuth(cc.ClientID, secret))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %v", resp.StatusCode, body)
	}
	var row models.Token
	if err := r.db.Where("access_token_hash = ?", oauth.HashToken(access)).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.RevokedAt == nil {
		t.Errorf("the client_credentials token is not revoked")
	}
}
