package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// TestScopeNarrowingTakesEffect: once an admin narrows a client's scopes,
// a refresh grants only what the client still has, and /userinfo releases
// claims only for those scopes, for tokens issued before the change too.
func TestScopeNarrowingTakesEffect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		narrowTo  []string
		wantScope string // the refreshed scope; "" means refused
		wantError string
		// wantInfo is /userinfo's status for the token issued before the
		// narrowing.
		wantInfo int
	}{
		{"narrowed to openid", []string{"openid"}, "openid", "", http.StatusOK},
		{"narrowed to openid and profile", []string{"openid", "profile", "phone"}, "openid profile", "", http.StatusOK},
		{"narrowed to nothing granted", []string{"phone"}, "", "invalid_scope", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			tok := r.tokens(r.env.browser(), r.conf, r.secret, func(v url.Values) { v.Set("scope", "openid profile email") })
			access, _ := tok["access_token"].(string)
			refresh, _ := tok["refresh_token"].(string)
			if _, info := r.userinfo(access); info["email"] != "alice@example.org" {
				t.Fatalf("userinfo before the narrowing = %v, want the email", info)
			}

			cl, err := r.env.store.ClientByID(context.Background(), r.conf.ID)
			if err != nil {
				t.Fatalf("load client: %v", err)
			}
			cl.Scopes = tt.narrowTo
			if err := r.env.store.SaveClient(context.Background(), cl, nil); err != nil {
				t.Fatalf("narrow client: %v", err)
			}

			resp, info := r.userinfo(access)
			wantUserinfo(t, resp, info, tt.wantInfo, map[int]string{http.StatusForbidden: "insufficient_scope"}[tt.wantInfo], r.user.Subject)
			if _, ok := info["email"]; ok {
				t.Errorf("userinfo after the narrowing released the email: %v", info)
			}

			resp, body := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
				"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
			if tt.wantError != "" {
				wantTokenError(t, resp, body, http.StatusBadRequest, tt.wantError)
				return
			}
			wantTokenSuccess(t, resp, body, tt.wantScope)
			next, _ := body["access_token"].(string)
			var stored models.Token
			if err := r.db.Where("access_token_hash = ?", oauth.HashToken(next)).Take(&stored).Error; err != nil || stored.Scope != tt.wantScope {
				t.Errorf("stored scope of the refreshed token = %q (%v), want %q", stored.Scope, err, tt.wantScope)
			}
			resp, info = r.userinfo(next)
			wantUserinfo(t, resp, info, http.StatusOK, "", r.user.Subject)
			if _, ok := info["email"]; ok {
				t.Errorf("userinfo with the refreshed token released the email: %v", info)
			}
		})
	}
}
