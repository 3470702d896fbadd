package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// wantLanded checks that a POST redirected (303, followed) to path and
// shows a flash of kind.
func wantLanded(t *testing.T, p page, path, kind string) {
	t.Helper()
	if p.status != http.StatusOK || p.url.Path != path {
		t.Fatalf("got %d at %s, want 200 at %s:\n%.800s", p.status, p.url, path, p.body)
	}
	if !strings.Contains(p.body, `data-testid="flash-`+kind+`"`) {
		t.Errorf("page at %s has no %s flash:\n%.800s", path, kind, p.body)
	}
}

// canLogIn reports whether username can sign in at /login in a fresh browser.
func canLogIn(r *rig, username, password string) bool {
	r.t.Helper()
	b := r.env.browser()
	p := b.submitLogin(b.get("/login"), username, password)
	return strings.Contains(p.body, `data-testid="current-user">`+username+"<")
}

func TestAdminUsersAccess(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	// Not signed in: to the login page, coming back afterwards.
	anon := r.env.browser()
	p := anon.get("/admin/users?q=x")
	if !isLoginPage(p) || p.url.Path != "/login" || p.url.Query().Get("next") != "/admin/users?q=x" {
		t.Errorf("anonymous GET /admin/users: got %d at %s, want the login page with next=/admin/users?q=x", p.status, p.url)
	}
	// Signed in, but not an administrator.
	b := r.env.browser()
	r.login(b)
	p = b.get("/admin/users")
	if p.status != http.StatusForbidden || strings.Contains(p.body, `data-testid="users-page"`) {
		t.Errorf("non-admin GET /admin/users: got %d, want 403 without the list", p.status)
	}
	// An administrator sees the list, and can search it.
	admin, _ := signInAdmin(r)
	p = admin.get("/admin/users?q=ALI")
	if !strings.Contains(p.body, `data-testid="users-page"`) || !strings.Contains(p.body, ">"+testUser+"<") {
		t.Errorf("admin search for ALI: want %s listed, got %d:\n%.800s", testUser, p.status, p.body)
	}
	if got := strings.Count(p.body, `data-testid="user-row"`); got != 1 {
		t.Errorf("admin search for ALI: got %d rows, want 1", got)
	}
}

func TestAdminUsersCreateErrors(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, _ := signInAdmin(r)
	good := url.Values{"username": {"bob"}, "email": {"bob@example.org"}, "password": {"bob's password"}, "password_confirm": {"bob's password"}, "active": {"on"}}
	for _, tc := range []struct {
		name, field, value, wantField, wantText string
	}{
		{"empty username", "username", "", "username", "Enter a username."},
		{"mismatched passwords", "password_confirm", "something else", "password_confirm", "The passwords do not match."},
		{"bad email", "email", "not an email", "email", "Enter a valid email address."},
		{"short password", "password", "short", "password", "Use at least 8 characters."},
		{"username with a space", "username", "bob smith", "username", "A username cannot contain spaces."},
	} {
		form := csrfFrom(t, b, "/admin/users/new", "user-form-page")
		for k, v := range good {
			form[k] = v
		}
		form.Set(tc.field, tc.value)
		p := b.post("/admin/users", form)
		if p.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: got %d, want 422", tc.name, p.status)
		}
		want := fmt.Sprintf(`data-testid="error-%s">%s<`, tc.wantField, tc.wantText)
		if !strings.Contains(p.body, want) {
			t.Errorf("%s: body has no %s next to the field", tc.name, want)
		}
		if strings.Contains(p.body, "bob&#39;s password") || strings.Contains(p.body, "bob's password") {
			t.Errorf("%s: the form echoes the password back", tc.name)
		}
		if _, err := r.env.store.UserByUsername(context.Background(), "bob"); err != models.ErrNotFound {
			t.Errorf("%s: lookup of bob got %v, want ErrNotFound (nothing saved)", tc.name, err)
		}
	}
	// A taken username is a field error too.
	form := csrfFrom(t, b, "/admin/users/new", "user-form-page")
	for k, v := range good {
		form[k] = v
	}
	form.Set("username", testUser)
	if p := b.post("/admin/users", form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "This username is taken.") {
		t.Errorf("taken username: got %d, want 422 with \"This username is taken.\"", p.status)
	}
}

func TestAdminUsersCreate(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, _ := signInAdmin(r)
	form := csrfFrom(t, b, "/admin/users/new", "user-form-page")
	form.Set("username", "bob")
	form.Set("email", "bob@example.org")
	form.Set("email_verified", "on")
	form.Set("given_name", "Bob")
	form.Set("family_name", "Builder")
	form.Set("password", "bob's password")
	form.Set("password_confirm", "bob's password")
	form.Set("active", "on")
	r.keep("bob's password")
	p := b.post("/admin/users", form)
	u, err := r.env.store.UserByUsername(context.Background(), "bob")
	if err != nil {
		t.Fatalf("bob after create: %v, want the user", err)
	}
	wantLanded(t, p, fmt.Sprintf("/admin/users/%d", u.ID), "success")
	if u.Name != "Bob Builder" || !u.EmailVerified || !u.Active || u.Superuser {
		t.Errorf("bob = name %q, verified %v, active %v, superuser %v; want \"Bob Builder\", true, true, false", u.Name, u.EmailVerified, u.Active, u.Superuser)
	}
	if !canLogIn(r, "bob", "bob's password") {
		t.Errorf("bob cannot sign in with the password the admin set, want signed in")
	}
	var audits int64
	r.db.Table("events").Where("kind = ? AND detail = ? AND target = ?", models.EventAdminChange, "create user", "user bob").Count(&audits)
	if audits != 1 {
		t.Errorf("audit entries for creating bob: got %d, want 1", audits)
	}
}

func TestAdminUsersEditClaims(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	access := r.tokens(r.env.browser(), r.conf, r.secret, nil)["access_token"].(string)
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)

	// A bad field: 422 next to the field, and nothing saved.
	form := csrfFrom(t, b, path, "user-form-page")
	form.Set("name", "Changed Name")
	form.Set("birthdate", "yesterday")
	p := b.post(path, form)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-birthdate"`) {
		t.Errorf("bad birthdate: got %d, want 422 with the error next to birthdate", p.status)
	}
	if _, claims := r.userinfo(access); claims["name"] != "Alice Liddell" {
		t.Errorf("after a refused edit, userinfo name = %v, want \"Alice Liddell\" (nothing saved)", claims["name"])
	}

	form = csrfFrom(t, b, path, "user-form-page")
	for k, v := range map[string]string{
		"name": "Alice P. Liddell", "given_name": "Alice", "family_name": "Liddell", "middle_name": "Pleasance",
		"nickname": "Al", "preferred_username": "alice.l", "email": "alice@wonderland.example", "email_verified": "on",
		"website": "https://alice.example", "picture": "https://alice.example/me.png", "locale": "en-GB",
		"zoneinfo": "Europe/London", "birthdate": "1852-05-04", "gender": "female",
	} {
		form.Set(k, v)
	}
	wantLanded(t, b.post(path, form), path, "success")
	resp, claims := r.userinfo(access)
	status := resp.StatusCode
	if status != http.StatusOK {
		t.Fatalf("userinfo after edit: got %d, want 200", status)
	}
	for k, want := range map[string]any{
		"name": "Alice P. Liddell", "middle_name": "Pleasance", "nickname": "Al", "preferred_username": "alice.l",
		"website": "https://alice.example", "picture": "https://alice.example/me.png", "locale": "en-GB",
		"zoneinfo": "Europe/London", "birthdate": "1852-05-04", "gender": "female",
		"email": "alice@wonderland.example", "email_verified": true,
	} {
		if claims[k] != want {
			t.Errorf("userinfo %s = %v, want %v", k, claims[k], want)
		}
	}
	var before, after string
	r.db.Table("events").Where("detail = ?", "update user").Select("before").Scan(&before)
	r.db.Table("events").Where("detail = ?", "update user").Select("after").Scan(&after)
	if !strings.Contains(before, `"Name":"Alice Liddell"`) || !strings.Contains(after, `"Name":"Alice P. Liddell"`) {
		t.Errorf("audit of the edit: before %s, after %s; want the old and the new name", before, after)
	}
}

func TestAdminUsersSetPassword(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)
	newPassword := "a brand new password"
	r.keep(newPassword)

	form := csrfFrom(t, b, path, "set-password")
	form.Set("password", newPassword)
	form.Set("password_confirm", "not the same")
	if p := b.post(path+"/password", form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-password_confirm"`) {
		t.Errorf("mismatched confirmation: got %d, want 422 with the error next to the field", p.status)
	}
	if !canLogIn(r, testUser, testPassword) {
		t.Fatalf("after a refused change the old password fails, want it to still work")
	}

	form = csrfFrom(t, b, path, "set-password")
	form.Set("password", newPassword)
	form.Set("password_confirm", newPassword)
	wantLanded(t, b.post(path+"/password", form), path, "success")
	if canLogIn(r, testUser, testPassword) {
		t.Errorf("old password still signs in, want it refused")
	}
	if !canLogIn(r, testUser, newPassword) {
		t.Errorf("new password does not sign in, want it accepted")
	}
	var leaked int64
	r.db.Table("events").Where("before LIKE ? OR after LIKE ?", "%$2a$%", "%$2a$%").Count(&leaked)
	if leaked != 0 {
		t.Errorf("audit entries holding a bcrypt hash: got %d, want 0", leaked)
	}
}

func TestAdminUsersDeactivate(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	alice := r.env.browser()
	access := r.tokens(alice, r.conf, r.secret, nil)["access_token"].(string)
	if status := r.userinfoStatus(access); status != http.StatusOK {
		t.Fatalf("userinfo before: got %d, want 200", status)
	}
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)
	form := csrfFrom(t, b, path, "deactivate-user")
	wantLanded(t, b.post(path+"/deactivate", form), path, "success")

	if status := r.userinfoStatus(access); status != http.StatusUnauthorized {
		t.Errorf("userinfo with the deactivated user's token: got %d, want 401", status)
	}
	var sessions, live int64
	r.db.Table("sessions").Where("user_id = ?", r.user.ID).Count(&sessions)
	if sessions != 0 {
		t.Errorf("sessions of the deactivated user: got %d, want 0", sessions)
	}
	r.db.Table("tokens").Where("user_id = ? AND revoked_at IS NULL", r.user.ID).Count(&live)
	if live != 0 {
		t.Errorf("unrevoked tokens of the deactivated user: got %d, want 0", live)
	}
	if p := alice.get("/"); strings.Contains(p.body, `data-testid="current-user"`) {
		t.Errorf("the deactivated user's browser still shows the home page, want signed out")
	}
	if canLogIn(r, testUser, testPassword) {
		t.Errorf("deactivated user signed in, want refused")
	}

	form = csrfFrom(t, b, path, "activate-user")
	wantLanded(t, b.post(path+"/activate", form), path, "success")
	if !canLogIn(r, testUser, testPassword) {
		t.Errorf("reactivated user cannot sign in, want signed in")
	}
	if status := r.userinfoStatus(access); status != http.StatusUnauthorized {
		t.Errorf("userinfo with a token revoked at deactivation, after reactivation: got %d, want 401", status)
	}
}

func TestAdminUsersCannotLockOutSelf(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b, self := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", self.ID)
	form := csrfFrom(t, b, path, "user-form-page")
	if p := b.get(path); strings.Contains(p.body, `data-testid="deactivate-user"`) || strings.Contains(p.body, `data-testid="delete-user"`) {
		t.Errorf("own page offers deactivate or delete, want neither")
	}
	wantLanded(t, b.post(path+"/deactivate", form), path, "error")
	wantLanded(t, b.post(path+"/delete", form), path, "error")
	u, err := r.env.store.UserByID(context.Background(), self.ID)
	if err != nil || !u.Active {
		t.Errorf("admin after trying to deactivate and delete themself: %v, active %v; want present and active", err, u != nil && u.Active)
	}
	if p := b.get("/admin/users"); !strings.Contains(p.body, `data-testid="users-page"`) {
		t.Errorf("admin is no longer let in (got %d), want still signed in", p.status)
	}
}

func TestAdminUsersDelete(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tok := r.tokens(r.env.browser(), r.conf, r.secret, nil)
	access := tok["access_token"].(string)
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)

	p := b.get(path + "/delete")
	if !strings.Contains(p.body, `data-testid="confirm-page"`) || !strings.Contains(p.body, "1 token,") || !strings.Contains(p.body, "1 consent<") {
		t.Errorf("confirm page: got %d, want it to say 1 token and 1 consent go:\n%.1500s", p.status, p.body)
	}
	form := url.Values{"_csrf": {hiddenFields(p.body).Get("_csrf")}}
	wantLanded(t, b.post(path+"/delete", form), "/admin/users", "success")

	if _, err := r.env.store.UserByID(context.Background(), r.user.ID); err != models.ErrNotFound {
		t.Errorf("user after delete: %v, want ErrNotFound", err)
	}
	for _, table := range []string{"tokens", "user_consents", "codes", "sessions"} {
		var n int64
		r.db.Table(table).Where("user_id = ?", r.user.ID).Count(&n)
		if n != 0 {
			t.Errorf("%s of the deleted user: got %d, want 0", table, n)
		}
	}
	if status := r.userinfoStatus(access); status != http.StatusUnauthorized {
		t.Errorf("userinfo with the deleted user's token: got %d, want 401", status)
	}
	if _, err := r.env.store.ActiveAccessToken(context.Background(), oauth.HashToken(access), r.env.clock.Now()); err != models.ErrNotFound {
		t.Errorf("deleted user's token lookup: %v, want ErrNotFound", err)
	}
}

// TestAdminUsersDeactivateVoidsCodes: a code issued before deactivation
// cannot be exchanged once the user is reactivated, though it has not
// expired; deactivation deleted it with the user's sessions and tokens.
func TestAdminUsersDeactivateVoidsCodes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	code := r.codeFor(r.env.browser(), r.conf, nil)
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)
	wantLanded(t, b.post(path+"/deactivate", csrfFrom(t, b, path, "deactivate-user")), path, "success")
	wantLanded(t, b.post(path+"/activate", csrfFrom(t, b, path, "activate-user")), path, "success")

	resp, body := r.postToken(r.codeForm(r.conf, r.secret, code))
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	var codes int64
	r.db.Table("codes").Where("user_id = ? AND used_at IS NULL", r.user.ID).Count(&codes)
	if codes != 0 {
		t.Errorf("unused codes of the user after deactivation: got %d, want 0", codes)
	}
	// The user, active again, can start over.
	r.tokens(r.env.browser(), r.conf, r.secret, nil)
}

// TestAdminUsersEditPhoneAndAddress: the admin sets and then changes a
// user's phone number, its verified flag and address, and /userinfo
// serves them under the phone and address scopes (OpenID Connect Core
// §5.1, §5.1.1).
func TestAdminUsersEditPhoneAndAddress(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	access := r.tokens(r.env.browser(), r.conf, r.secret, func(v url.Values) { v.Set("scope", "openid phone address") })["access_token"].(string)
	b, _ := signInAdmin(r)
	path := fmt.Sprintf("/admin/users/%d", r.user.ID)

	// A bad phone number: 422 next to the field, and nothing saved.
	form := csrfFrom(t, b, path, "user-form-page")
	form.Set("name", "Alice Liddell")
	form.Set("phone_number", "call me maybe")
	form.Set("address_locality", "Oxford")
	if p := b.post(path, form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-phone_number"`) {
		t.Errorf("bad phone number: got %d, want 422 with the error next to the field", p.status)
	}
	if _, claims := r.userinfo(access); claims["phone_number"] != nil || claims["address"] != nil {
		t.Errorf("after a refused edit, userinfo phone_number %v, address %v; want neither", claims["phone_number"], claims["address"])
	}

	for _, tc := range []struct {
		name   string
		fields map[string]string
		claims map[string]any
	}{
		{"set", map[string]string{
			"phone_number": "+44 1865 270000;ext=12", "phone_number_verified": "on",
			"address_formatted": "Christ Church, St Aldates, Oxford OX1 1DP, UK", "address_street": "St Aldates",
			"address_locality": "Oxford", "address_region": "Oxfordshire", "address_postal_code": "OX1 1DP", "address_country": "GB",
		}, map[string]any{
			"phone_number": "+44 1865 270000;ext=12", "phone_number_verified": true,
			"address": map[string]any{
				"formatted": "Christ Church, St Aldates, Oxford OX1 1DP, UK", "street_address": "St Aldates",
				"locality": "Oxford", "region": "Oxfordshire", "postal_code": "OX1 1DP", "country": "GB",
			},
		}},
		{"changed, unverified, fields cleared", map[string]string{
			"phone_number": "+1 (425) 555-1212", "address_locality": "Redmond", "address_country": "US",
		}, map[string]any{
			"phone_number": "+1 (425) 555-1212", "phone_number_verified": false,
			"address": map[string]any{"locality": "Redmond", "country": "US"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := csrfFrom(t, b, path, "user-form-page")
			form.Set("name", "Alice Liddell")
			for k, v := range tc.fields {
				form.Set(k, v)
			}
			wantLanded(t, b.post(path, form), path, "success")
			resp, claims := r.userinfo(access)
			status := resp.StatusCode
			if status != http.StatusOK {
				t.Fatalf("userinfo after edit: got %d, want 200", status)
			}
			for k, want := range tc.claims {
				if !jsonEqual(claims[k], want) {
					t.Errorf("userinfo %s = %#v, want %#v", k, claims[k], want)
				}
			}
			// The edit form shows what was saved.
			p := b.get(path)
			for k, v := range tc.fields {
				if k == "phone_number_verified" {
					continue
				}
				if got := hiddenFields(p.body).Get(k); got != v {
					t.Errorf("edit form %s = %q, want %q", k, got, v)
				}
			}
			checked := regexp.MustCompile(`<input type="checkbox" name="phone_number_verified" checked`).MatchString(p.body)
			if want := tc.fields["phone_number_verified"] == "on"; checked != want {
				t.Errorf("edit form phone_number_verified checked = %v, want %v", checked, want)
			}
		})
	}
}
