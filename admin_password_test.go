package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAdminSetPasswordEndsAccess: a password is reset because someone
// else may know it, so setting one ends everything the old one opened:
// the browser session, the access and refresh tokens and any code not yet
// exchanged. The form says so beforehand.
func TestAdminSetPasswordEndsAccess(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	alice := r.env.browser()
	tok := r.tokens(alice, r.conf, r.secret, nil)
	access, _ := tok["access_token"].(string)
	refresh, _ := tok["refresh_token"].(string)
	if access == "" || refresh == "" {
		t.Fatalf("token response %v, want an access and a refresh token", tok)
	}
	code := r.codeFor(alice, r.conf, nil) // consent remembered: no page, a code
	if p := alice.get(r.authURL(r.conf, nil)); isLoginPage(p) {
		t.Fatalf("GET /authorize before the change: the login page, want alice's session to work")
	}
	if status := r.userinfoStatus(access); status != http.StatusOK {
		t.Fatalf("userinfo before the change: %d, want 200", status)
	}

	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)
	edit := b.get(path)
	if !strings.Contains(edit.body, "Setting a password signs the user out everywhere, revokes their tokens") {
		t.Errorf("the password form does not say what setting a password does:\n%.2000s", edit.body)
	}
	newPassword := "a brand new password"
	r.keep(newPassword)
	form := csrfFrom(t, b, path, "set-password")
	form.Set("password", newPassword)
	form.Set("password_confirm", newPassword)
	wantLanded(t, b.post(path+"/password", form), path, "success")

	if p := alice.get(r.authURL(r.conf, nil)); !isLoginPage(p) {
		t.Errorf("GET /authorize with alice's old session: %d at %s, want the login page", p.status, p.url)
	}
	if resp, body := r.userinfo(access); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with the access token issued before the change: %d %v, want 401", resp.StatusCode, body)
	}
	resp, body := r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	resp, body = r.postToken(r.codeForm(r.conf, r.secret, code))
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	var sessions, live int64
	r.db.Table("sessions").Where("user_id = ?", r.user.ID).Count(&sessions)
	r.db.Table("tokens").Where("user_id = ? AND revoked_at IS NULL", r.user.ID).Count(&live)
	if sessions != 0 || live != 0 {
		t.Errorf("after the change: %d sessions, %d unrevoked tokens of alice; want 0, 0", sessions, live)
	}
	var audited int64
	r.db.Table("events").Where("detail = ? AND target = ?", "set user password", "user "+testUser).Count(&audited)
	if audited != 1 {
		t.Errorf("audit events for the change: %d, want 1", audited)
	}
	// The admin's own session is not the user's: it goes on.
	if p := b.get(path); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="user-form-page"`) {
		t.Errorf("the admin after setting alice's password: %d at %s, want the user page", p.status, p.url)
	}
	if !canLogIn(r, testUser, newPassword) {
		t.Errorf("the new password does not sign in")
	}
}

// TestAdminSetOwnPasswordSignsOut: an admin who sets their own password
// is signed out like anyone else (the session row must not come back with
// a flash message), and signs in again with the new password.
func TestAdminSetOwnPasswordSignsOut(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, admin := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", admin.ID)
	newPassword := "root's new long password"
	r.keep(newPassword)
	form := csrfFrom(t, b, path, "set-password")
	form.Set("password", newPassword)
	form.Set("password_confirm", newPassword)
	p := b.post(path+"/password", form)
	if !isLoginPage(p) || p.url.Query().Get("next") != path {
		t.Fatalf("setting one's own password: %d at %s, want the login page coming back to %s", p.status, p.url, path)
	}
	var sessions int64
	r.db.Table("sessions").Where("user_id = ?", admin.ID).Count(&sessions)
	if sessions != 0 {
		t.Errorf("sessions of the admin after setting their own password: %d, want 0", sessions)
	}
	if p := b.get(path); !isLoginPage(p) {
		t.Errorf("GET %s after setting one's own password: %d at %s, want the login page", path, p.status, p.url)
	}
	if !canLogIn(r, adminName, newPassword) || canLogIn(r, adminName, adminPassword) {
		t.Errorf("after the change: want the new password to sign in and the old one not")
	}
}
