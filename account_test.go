package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"oidcd/models"
)

// The end user's account page (/account): the apps they allowed, and
// withdrawing one; signing out of every session; changing the password.
// account_browser_test.go walks the same page in chromium.

// accountPath is the page under test.
const accountPath = "/account"

// wantAccountPage checks p is the account page, signed in as alice.
func wantAccountPage(t *testing.T, p page) {
	t.Helper()
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="account-page"`) || p.url.Path != accountPath {
		t.Fatalf("got %d at %s, want the account page:\n%.800s", p.status, p.url, p.body)
	}
	if got := testIDText(p.body, "current-user"); got != testUser {
		t.Errorf("account page signed in as %q, want %q", got, testUser)
	}
}

// refresh posts a refresh_token grant for the confidential client.
func (r *rig) refresh(refreshToken string) (*http.Response, map[string]any) {
	r.t.Helper()
	return r.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
}

// consentID is alice's consent to client.
func (r *rig) consentID(client *models.Client) uint {
	r.t.Helper()
	cs, err := r.env.store.ConsentFor(context.Background(), r.user.ID, client.ID)
	if err != nil {
		r.t.Fatalf("consent of alice to %s: %v", client.Name, err)
	}
	return cs.ID
}

// sessionCookie is the value of b's session cookie.
func sessionCookie(b *browser) string {
	u, _ := url.Parse(b.env.issuer)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "oidcd_session" {
			return c.Value
		}
	}
	return ""
}

// TestAccountRequiresSignIn: the page and every form of it send a browser
// without a session to the login page, which comes back to the account
// page; nothing is changed on the way.
func TestAccountRequiresSignIn(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	r.tokens(b, r.conf, r.secret, nil)
	id := r.consentID(r.conf)

	anon := r.env.browser()
	p := anon.get(accountPath)
	if !isLoginPage(p) || p.url.Path != "/login" || p.url.Query().Get("next") != accountPath {
		t.Fatalf("GET /account signed out: %d at %s, want the login page with next=/account", p.status, p.url)
	}
	before := r.counts()
	token := hiddenFields(p.body).Get("_csrf")
	for _, action := range []string{fmt.Sprintf("/account/consents/%d/withdraw", id), "/account/sessions/end", "/account/password"} {
		q := anon.post(action, url.Values{"_csrf": {token}, "current_password": {testPassword}, "password": {"a new password"}, "password_confirm": {"a new password"}})
		if !isLoginPage(q) || q.url.Query().Get("next") != accountPath {
			t.Errorf("POST %s signed out: %d at %s, want the login page", action, q.status, q.url)
		}
	}
	if q := anon.get(fmt.Sprintf("/account/consents/%d/withdraw", id)); !isLoginPage(q) {
		t.Errorf("GET the withdraw page signed out: %d at %s, want the login page", q.status, q.url)
	}
	r.wantUnchanged(t, before, "tokens", "user_consents", "sessions")
	if n := countRows(t, &models.Token{}, "revoked_at IS NOT NULL"); n != 0 {
		t.Errorf("%d tokens revoked by requests without a session, want 0", n)
	}
	if !verifyPassword(t, r.env.store, r.user, testPassword) {
		t.Errorf("the password changed without a session")
	}

	// Signing in on that login page lands on the account page.
	wantAccountPage(t, anon.submitLogin(p, testUser, testPassword))
}

// TestAccountListsConsents: every app alice allowed, with its logo, the
// titles of its scopes (standard and custom, openid left out) and the
// dates; another user's apps are not shown.
func TestAccountListsConsents(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	if err := r.env.store.CreateCustomScope(ctx, &models.CustomScope{Name: "projects", Title: "Your projects",
		Description: "The projects you belong to.", Claims: map[string]string{}}); err != nil {
		t.Fatalf("create custom scope: %v", err)
	}
	shop, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
		c.Name, c.Logo = "Shop <RP>", "https://rp.example/logo.png"
		c.Scopes = append(c.Scopes, "projects")
	})
	b := r.env.browser()
	r.tokens(b, r.conf, r.secret, nil)
	r.codeFor(b, shop, func(v url.Values) { v.Set("scope", "openid email projects") })
	bob := r.env.createUser("bob", userPassword)
	bobsClient, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.Name = "Bob's RP" })
	now := time.Now()
	if err := r.env.store.GrantConsent(ctx, bob.ID, bobsClient.ID, []string{"openid"}, now, now.Add(time.Hour)); err != nil {
		t.Fatalf("grant bob's consent: %v", err)
	}

	p := b.get(accountPath)
	wantAccountPage(t, p)
	if n := countTestIDs(p.body, "consent-item"); n != 2 {
		t.Fatalf("%d apps listed, want 2:\n%s", n, p.body)
	}
	for _, want := range []string{
		`data-testid="consent-client">Test RP<`, `data-testid="consent-client">Shop &lt;RP&gt;<`,
		`data-testid="consent-logo"`, `src="https://rp.example/logo.png"`,
		`data-scope="profile">Basic profile<`, `data-scope="email">Email<`, `data-scope="projects">Your projects<`,
		`data-testid="consent-given"`, `data-testid="consent-expires"`,
		fmt.Sprintf(`href="/account/consents/%d/withdraw"`, r.consentID(shop)),
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the account page lacks %s:\n%s", want, p.body)
		}
	}
	for _, unwanted := range []string{`data-scope="openid"`, "Bob&#39;s RP", "Bob's RP"} {
		if strings.Contains(p.body, unwanted) {
			t.Errorf("the account page shows %s", unwanted)
		}
	}
	if got, want := testIDText(p.body, "consent-expires"), now.UTC().Add(r.env.cfg.SkipConsentExpire).Format("2006"); !strings.Contains(got, want) {
		t.Errorf("expiry shown as %q, want a date in %s", got, want)
	}

	// The home page and the consent page link here.
	if home := b.get("/"); !strings.Contains(home.body, `href="/account"`) {
		t.Errorf("the home page has no link to /account")
	}
	fresh := r.env.browser()
	if cp := fresh.submitLogin(fresh.get(r.authURL(r.pub, nil)), testUser, testPassword); !isConsentPage(cp) || !strings.Contains(cp.body, `href="/account"`) {
		t.Errorf("the consent page (%d) has no link to /account", cp.status)
	}

	// Nothing allowed yet: the page says so.
	carol := r.env.browser()
	r.env.createUser("carol", userPassword)
	signIn(t, carol, "carol", userPassword)
	if q := carol.get(accountPath); !strings.Contains(q.body, `data-testid="no-consents"`) || countTestIDs(q.body, "consent-item") != 0 {
		t.Errorf("carol's account page: want the empty note and no apps:\n%s", q.body)
	}
}

// TestAccountWithdrawConsent: withdrawing through the confirmation page
// revokes the client's tokens for alice (access token refused at
// /userinfo, refresh token at /token) and deletes the consent, in one
// go, with an audit event; another client's tokens and another user's
// consent are untouched.
func TestAccountWithdrawConsent(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	conf := r.tokens(b, r.conf, r.secret, nil)
	pub := r.tokens(b, r.pub, "", nil)
	access, refresh := conf["access_token"].(string), conf["refresh_token"].(string)
	if got := r.userinfoStatus(access); got != http.StatusOK {
		t.Fatalf("userinfo before: %d, want 200", got)
	}
	id := r.consentID(r.conf)
	confirm := fmt.Sprintf("/account/consents/%d/withdraw", id)

	p := b.get(confirm)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="withdraw-page"`) || testIDText(p.body, "client-name") != "Test RP" {
		t.Fatalf("GET %s: %d, want the confirmation for Test RP:\n%.800s", confirm, p.status, p.body)
	}
	// Without the CSRF token nothing happens.
	before := r.counts()
	if q := b.post(confirm, url.Values{}); q.status != http.StatusForbidden {
		t.Errorf("withdraw without CSRF: %d, want 403", q.status)
	}
	r.wantUnchanged(t, before, "user_consents")
	if got := r.userinfoStatus(access); got != http.StatusOK {
		t.Errorf("userinfo after a refused withdrawal: %d, want 200", got)
	}

	// Another user cannot withdraw it, nor see it.
	r.env.createUser("mallory", userPassword)
	m := r.env.browser()
	signIn(t, m, "mallory", userPassword)
	if q := m.get(confirm); q.status != http.StatusNotFound {
		t.Errorf("mallory GET %s: %d, want 404", confirm, q.status)
	}
	if q := postWithCSRF(t, m, accountPath, confirm, nil); q.status != http.StatusNotFound {
		t.Errorf("mallory POST %s: %d, want 404", confirm, q.status)
	}
	for _, bad := range []string{"/account/consents/x/withdraw", "/account/consents/99999999999/withdraw", "/account/consents/0/withdraw"} {
		if q := b.get(bad); q.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, q.status)
		}
	}
	r.wantUnchanged(t, before, "user_consents")

	done := b.post(confirm, hiddenFields(p.body))
	wantAccountPage(t, done)
	if !strings.Contains(done.body, `data-testid="flash-success"`) || countTestIDs(done.body, "consent-item") != 1 ||
		strings.Contains(done.body, fmt.Sprintf(`href="%s"`, confirm)) {
		t.Errorf("after withdrawing: want a success note and only the public client's consent left:\n%s", done.body)
	}
	if n := countRows(t, &models.UserConsent{}, "id = ?", id); n != 0 {
		t.Errorf("the consent is still stored")
	}
	resp, body := r.userinfo(access)
	wantUserinfo(t, resp, body, http.StatusUnauthorized, "invalid_token", "")
	if resp, body := r.refresh(refresh); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after withdrawing: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
	if got := r.userinfoStatus(pub["access_token"].(string)); got != http.StatusOK {
		t.Errorf("the other client's token after withdrawing: %d, want 200", got)
	}
	if n := countEvents(t, "kind = ? AND user_id = ? AND client_id = ? AND username = ?", models.EventConsentRevoked, r.user.ID, r.conf.ID, testUser); n != 1 {
		t.Errorf("%d consent_revoked events for alice and the client, want 1", n)
	}
	// Again (another tab): nothing left to withdraw.
	if q := b.post(confirm, hiddenFields(p.body)); q.status != http.StatusNotFound {
		t.Errorf("withdrawing twice: %d, want 404", q.status)
	}
	// The client must ask again.
	if q := b.get(r.authURL(r.conf, nil)); !isConsentPage(q) {
		t.Errorf("authorize after withdrawing: %d at %s, want the consent page", q.status, q.url)
	}
}

// TestAccountEndAllSessions: "Sign out of every session" ends alice's
// sessions in every browser, this one too, and leaves other users'.
func TestAccountEndAllSessions(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	here, there := r.env.browser(), r.env.browser()
	r.login(here)
	r.tokens(there, r.conf, r.secret, nil) // there signs in at /authorize
	r.env.createUser("bob", userPassword)
	bob := r.env.browser()
	signIn(t, bob, "bob", userPassword)

	before := r.counts()
	if q := here.post("/account/sessions/end", url.Values{}); q.status != http.StatusForbidden {
		t.Errorf("without CSRF: %d, want 403", q.status)
	}
	r.wantUnchanged(t, before, "sessions")

	p := postWithCSRF(t, here, accountPath, "/account/sessions/end", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="logout-done"`) {
		t.Fatalf("sign out everywhere: %d at %s, want the signed-out page:\n%.600s", p.status, p.url, p.body)
	}
	if n := countRows(t, &models.Session{}, "user_id = ?", r.user.ID); n != 0 {
		t.Errorf("%d sessions of alice left, want 0", n)
	}
	if q := there.get(r.authURL(r.conf, nil)); !isLoginPage(q) {
		t.Errorf("the other browser's next /authorize: %d at %s, want the login page", q.status, q.url)
	}
	if q := here.get(accountPath); !isLoginPage(q) {
		t.Errorf("this browser's account page: %d at %s, want the login page", q.status, q.url)
	}
	if q := bob.get(accountPath); q.status != http.StatusOK || !strings.Contains(q.body, `data-testid="account-page"`) {
		t.Errorf("bob's session ended with alice's: %d at %s", q.status, q.url)
	}
	if n := countEvents(t, "kind = ? AND user_id = ? AND detail LIKE ?", models.EventLogout, r.user.ID, "%every session%"); n != 1 {
		t.Errorf("%d logout events for every session, want 1", n)
	}
}

// TestAccountChangePassword: the current password is checked and a wrong
// one counts against the login throttle; the new one follows the password
// rule; a change keeps this browser signed in under a new session id,
// ends the other browser's session, and leaves the profile's updated_at.
func TestAccountChangePassword(t *testing.T) {
	t.Parallel()
	r := newRig(t, "OIDC_LOGIN_MAX_FAILURES", "3")
	const newPassword = "alice's brand new passphrase"
	r.keep(newPassword)
	here, there := r.env.browser(), r.env.browser()
	r.login(here)
	conf := r.tokens(there, r.conf, r.secret, nil)
	stored, err := r.env.store.UserByID(context.Background(), r.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	profileBefore := stored.ProfileUpdatedAt // as the database keeps it
	change := func(current, password, confirm string) page {
		t.Helper()
		return postWithCSRF(t, here, accountPath, "/account/password",
			url.Values{"current_password": {current}, "password": {password}, "password_confirm": {confirm}})
	}
	failures := func() int {
		t.Helper()
		var pair models.Throttle
		if err := testDB(t).Where("kind = ? AND subject = ?", models.ThrottleLogin, testUser).Take(&pair).Error; err != nil {
			return 0
		}
		return pair.Failures
	}

	before := r.counts()
	if q := here.post("/account/password", url.Values{"current_password": {testPassword}, "password": {newPassword}, "password_confirm": {newPassword}}); q.status != http.StatusForbidden {
		t.Errorf("without CSRF: %d, want 403", q.status)
	}
	for _, tt := range []struct {
		name, current, password, confirm, field string
	}{
		{"too short", testPassword, "short", "short", "password"},
		{"too long", testPassword, strings.Repeat("x", 73), strings.Repeat("x", 73), "password"},
		{"not repeated", testPassword, newPassword, newPassword + "!", "password_confirm"},
		{"no current password", "", newPassword, newPassword, "current_password"},
	} {
		p := change(tt.current, tt.password, tt.confirm)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-`+tt.field+`"`) {
			t.Errorf("%s: %d, want 422 with an error on %s:\n%.600s", tt.name, p.status, tt.field, p.body)
		}
	}
	if got := failures(); got != 0 {
		t.Errorf("refused forms counted %d failed logins, want 0", got)
	}
	p := change("not alice's password", newPassword, newPassword)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-current_password"`) {
		t.Errorf("wrong current password: %d, want 422 with an error on it:\n%.600s", p.status, p.body)
	}
	if got := failures(); got != 1 {
		t.Errorf("a wrong current password counted %d failed logins, want 1", got)
	}
	if n := countEvents(t, "kind = ? AND username = ?", models.EventLoginFailed, testUser); n != 1 {
		t.Errorf("%d login_failed events, want 1", n)
	}
	r.wantUnchanged(t, before, "sessions", "tokens")
	if !verifyPassword(t, r.env.store, r.user, testPassword) {
		t.Fatalf("a refused change changed the password")
	}

	oldCookie := sessionCookie(here)
	p = change(testPassword, newPassword, newPassword)
	wantAccountPage(t, p)
	if !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Errorf("no success note after the change:\n%s", p.body)
	}
	if got := failures(); got != 0 {
		t.Errorf("after the right password the pair counts %d failures, want 0 (cleared)", got)
	}
	if c := sessionCookie(here); c == "" || c == oldCookie {
		t.Errorf("the session id was not renewed")
	}
	if q := here.get(accountPath); q.status != http.StatusOK || !strings.Contains(q.body, `data-testid="account-page"`) {
		t.Errorf("this browser after the change: %d at %s, want still signed in", q.status, q.url)
	}
	if q := there.get(r.authURL(r.conf, nil)); !isLoginPage(q) {
		t.Errorf("the other browser after the change: %d at %s, want the login page", q.status, q.url)
	}
	if got := r.userinfoStatus(conf["access_token"].(string)); got != http.StatusUnauthorized {
		t.Errorf("an access token from before the change: %d, want 401", got)
	}
	u, err := r.env.store.UserByID(context.Background(), r.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !u.ProfileUpdatedAt.Equal(profileBefore) {
		t.Errorf("profile_updated_at moved from %v to %v on a password change", profileBefore, u.ProfileUpdatedAt)
	}
	if !verifyPassword(t, r.env.store, u, newPassword) || verifyPassword(t, r.env.store, u, testPassword) {
		t.Errorf("want the new password only to work")
	}
	if n := countEvents(t, "kind = ? AND user_id = ?", models.EventPasswordChanged, r.user.ID); n != 1 {
		t.Errorf("%d password_changed events, want 1", n)
	}
	fresh := r.env.browser()
	if q := fresh.submitLogin(fresh.get("/login"), testUser, testPassword); isLoginPage(q) == false {
		t.Errorf("the old password signed in")
	}
	signIn(t, fresh, testUser, newPassword)

	// Wrong current passwords up to the limit lock the change as they
	// lock the login page, for the right password too.
	for range 3 {
		change("wrong again", "another new password", "another new password")
	}
	if p := change(newPassword, "another new password", "another new password"); p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Errorf("after 3 wrong passwords: %d (Retry-After %q), want 429", p.status, p.header.Get("Retry-After"))
	}
	if !verifyPassword(t, r.env.store, u, newPassword) {
		t.Errorf("the password changed while throttled")
	}
}
