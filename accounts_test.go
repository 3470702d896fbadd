package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"oidcd/models"
)

// Accounts on one browser: prompt=select_account, "Use another account",
// login_hint and id_token_hint at /authorize (OpenID Connect Core
// §3.1.2.1, §3.1.2.6).

const bobPassword = "bob's correct horse battery"

func isChooserPage(p page) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, `data-testid="select-account-page"`)
}

// chooseAccount picks the account of userID on the chooser page p.
func chooseAccount(t *testing.T, b *browser, p page, userID uint) page {
	t.Helper()
	if !isChooserPage(p) {
		t.Fatalf("expected the account chooser, got %d at %s:\n%.800s", p.status, p.url, p.body)
	}
	f := hiddenFields(p.body)
	form := url.Values{"_csrf": {f.Get("_csrf")}, "req": {f.Get("req")}, "account": {strconv.FormatUint(uint64(userID), 10)}}
	return b.post("/select-account", form)
}

// useAnotherAccount clicks "Use another account" on p.
func useAnotherAccount(t *testing.T, b *browser, p page) page {
	t.Helper()
	if !strings.Contains(p.body, `data-testid="use-another-account"`) {
		t.Fatalf("no Use another account on %d at %s:\n%.800s", p.status, p.url, p.body)
	}
	f := hiddenFields(p.body)
	form := url.Values{"_csrf": {f.Get("_csrf")}}
	if f.Get("req") != "" {
		form.Set("req", f.Get("req"))
	}
	if f.Get("next") != "" {
		form.Set("next", f.Get("next"))
	}
	return b.post("/use-another-account", form)
}

// chooserNames lists the usernames the chooser page shows.
func chooserNames(p page) []string {
	var out []string
	for _, part := range strings.Split(p.body, `data-username="`)[1:] {
		out = append(out, part[:strings.Index(part, `"`)])
	}
	return out
}

// subOfCode exchanges code for r.conf and returns the ID token's sub.
func subOfCode(t *testing.T, r *rig, code string) string {
	t.Helper()
	resp, body := r.postToken(r.codeForm(r.conf, r.secret, code))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, body)
	}
	sub, _ := idTokenClaims(t, body)["sub"].(string)
	return sub
}

func TestSelectAccountTwoAccounts(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	bob := r.env.createUser("bob", bobPassword)
	r.keep(bobPassword)
	b := r.env.browser()
	r.codeFor(b, r.conf, nil)
	// "Use another account" from the consent page: alice stays signed in,
	// set aside, and bob signs in for the same request.
	p := b.get(r.authURL(r.conf, func(v url.Values) { v.Set("prompt", "consent") }))
	if !isConsentPage(p) || !strings.Contains(p.body, `data-testid="consent-username">alice<`) {
		t.Fatalf("got %d at %s, want alice's consent page", p.status, p.url)
	}
	p = useAnotherAccount(t, b, p)
	if !isLoginPage(p) {
		t.Fatalf("Use another account: got %d at %s, want the login page", p.status, p.url)
	}
	p = b.submitLogin(p, "bob", bobPassword)
	if !isConsentPage(p) || !strings.Contains(p.body, `data-testid="consent-username">bob<`) {
		t.Fatalf("after bob's login: got %d at %s, want bob's consent page:\n%.600s", p.status, p.url, p.body)
	}
	if sub := subOfCode(t, r, r.wantCode(t, b.decide(p, "allow"), cbURI)); sub != bob.Subject {
		t.Fatalf("code after Use another account is for %s, want bob %s", sub, bob.Subject)
	}

	// The chooser lists both; each choice gives a code for that user.
	for _, who := range []*models.User{r.user, bob, r.user} {
		p := b.get(r.authURL(r.conf, func(v url.Values) { v.Set("prompt", "select_account") }))
		if names := chooserNames(p); len(names) != 2 || !strings.Contains(strings.Join(names, " "), "alice") || !strings.Contains(strings.Join(names, " "), "bob") {
			t.Fatalf("chooser lists %q, want alice and bob", names)
		}
		p = chooseAccount(t, b, p, who.ID)
		if isConsentPage(p) {
			p = b.decide(p, "allow")
		}
		if sub := subOfCode(t, r, r.wantCode(t, p, cbURI)); sub != who.Subject {
			t.Fatalf("chose %s, got a code for %s", who.Username, sub)
		}
		// Without prompt, the chosen account is the current one.
		p = b.get(r.authURL(r.conf, nil))
		if isConsentPage(p) {
			p = b.decide(p, "allow")
		}
		if sub := subOfCode(t, r, r.wantCode(t, p, cbURI)); sub != who.Subject {
			t.Fatalf("after choosing %s, a plain request signs in %s", who.Username, sub)
		}
	}
	// Two accounts, two session rows, one cookie: no session id in a page.
	if n := countRows(t, &models.Session{}, "user_id IS NOT NULL"); n != 2 {
		t.Errorf("%d signed-in session rows, want 2", n)
	}

	// An account not on this browser cannot be chosen.
	p = b.get(r.authURL(r.conf, func(v url.Values) { v.Set("prompt", "select_account") }))
	stranger := r.env.createUser("carol", "carol's correct horse battery")
	if got := chooseAccount(t, b, p, stranger.ID); !isChooserPage(got) {
		t.Errorf("choosing an account not signed in here: got %d at %s, want the chooser again", got.status, got.url)
	}

	// Ending bob's sessions (as an admin does) takes him off the chooser.
	if err := r.env.store.EndUserSessions(context.Background(), bob.ID, models.EndEverywhere, time.Now()); err != nil {
		t.Fatal(err)
	}
	p = b.get(r.authURL(r.conf, func(v url.Values) { v.Set("prompt", "select_account") }))
	if names := chooserNames(p); len(names) != 1 || names[0] != "alice" {
		t.Fatalf("after bob's sessions ended the chooser lists %q, want alice only", names)
	}

	// Signing out signs every account on the browser out.
	f := hiddenFields(b.get("/logout").body)
	b.post("/logout", url.Values{"_csrf": {f.Get("_csrf")}})
	if n := countRows(t, &models.Session{}, "user_id IS NOT NULL"); n != 0 {
		t.Errorf("%d signed-in session rows after sign-out, want 0", n)
	}
	if p := b.get(r.authURL(r.conf, func(v url.Values) { v.Set("prompt", "select_account") })); !isLoginPage(p) {
		t.Errorf("after sign-out: got %d at %s, want the login page", p.status, p.url)
	}
}

// An account set aside is moved to an id nobody holds: the cookie that
// named it before opens nothing.
func TestSetAsideSessionCookieIsDead(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	r.login(b)
	u, _ := url.Parse(r.env.issuer)
	old := b.client.Jar.Cookies(u)
	useAnotherAccount(t, b, b.get(r.authURL(r.conf, nil)))
	// A browser holding the old cookie is signed out.
	thief := r.env.browser()
	thief.client.Jar.SetCookies(u, old)
	if p2 := thief.get("/"); strings.Contains(p2.body, signedInMarker) {
		t.Fatalf("the set-aside session's old cookie still signs in")
	}
	// The browser itself still lists alice.
	if got := chooserNames(b.get(r.authURL(r.conf, func(v url.Values) { v.Set("prompt", "select_account") }))); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("chooser lists %q, want alice", got)
	}
}

func TestAdminForbiddenUseAnotherAccount(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.keep(adminPassword)
	r.env.createUser(adminName, adminPassword, func(u *models.User) { u.Superuser = true })
	b := r.env.browser()
	r.login(b)
	p := b.get("/admin/clients")
	if p.status != http.StatusForbidden {
		t.Fatalf("alice at /admin/clients: got %d, want 403", p.status)
	}
	p = useAnotherAccount(t, b, p)
	if !isLoginPage(p) || p.url.Query().Get("next") != "/admin/clients" {
		t.Fatalf("got %d at %s, want the login page returning to /admin/clients", p.status, p.url)
	}
	p = b.submitLogin(p, adminName, adminPassword)
	if p.status != http.StatusOK || p.url.Path != "/admin/clients" {
		t.Fatalf("after the admin's login: got %d at %s, want /admin/clients", p.status, p.url)
	}
}

func TestLoginHintPrefills(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	p := r.env.browser().get(r.authURL(r.conf, func(v url.Values) { v.Set("login_hint", "alice<x>") }))
	if !isLoginPage(p) || hiddenFields(p.body).Get("username") != "alice<x>" {
		t.Fatalf("login page username = %q, want the login_hint", hiddenFields(p.body).Get("username"))
	}
	p = r.env.browser().get(r.authURL(r.conf, nil))
	if got := hiddenFields(p.body).Get("username"); got != "" {
		t.Fatalf("without login_hint the username is %q, want empty", got)
	}
}

func TestIDTokenHintAtAuthorize(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	bob := r.env.createUser("bob", bobPassword)
	r.keep(bobPassword)
	// An ID token for alice, and one for bob (from another browser).
	aliceHint := r.tokens(r.env.browser(), r.conf, r.secret, nil)["id_token"].(string)
	bb := r.env.browser()
	p := bb.get(r.authURL(r.conf, nil))
	p = bb.decide(bb.submitLogin(p, "bob", bobPassword), "allow")
	resp, body := r.postToken(r.codeForm(r.conf, r.secret, r.wantCode(t, p, cbURI)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's exchange: %v", body)
	}
	bobHint := body["id_token"].(string)

	b := r.env.browser()
	r.codeFor(b, r.conf, nil) // alice signed in
	withHint := func(hint, prompt string) string {
		return r.authURL(r.conf, func(v url.Values) {
			v.Set("id_token_hint", hint)
			v.Set("state", "s1")
			if prompt != "" {
				v.Set("prompt", prompt)
			}
		})
	}
	// Alice's own hint: on as usual, even expired.
	r.env.clock.Advance(2 * time.Hour)
	r.wantCode(t, b.get(withHint(aliceHint, "none")), cbURI)
	// Bob's hint while alice is signed in: login_required with prompt=none.
	r.wantRedirectError(t, b.get(withHint(bobHint, "none")), cbURI, "login_required", "s1")
	// Without prompt=none: the login page for bob.
	p = b.get(withHint(bobHint, ""))
	if !isLoginPage(p) || hiddenFields(p.body).Get("username") != "bob" {
		t.Fatalf("bob's hint: got %d at %s with username %q, want the login page for bob", p.status, p.url, hiddenFields(p.body).Get("username"))
	}
	p = b.submitLogin(p, "bob", bobPassword)
	if isConsentPage(p) {
		p = b.decide(p, "allow")
	}
	if sub := subOfCode(t, r, r.wantCode(t, p, cbURI)); sub != bob.Subject {
		t.Fatalf("after bob's login the code is for %s", sub)
	}
	// A forged hint (alice's payload, a signature of nothing) is refused.
	parts := strings.Split(aliceHint, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	r.wantRedirectError(t, b.get(withHint(forged, "")), cbURI, "invalid_request", "s1")
	r.wantRedirectError(t, b.get(withHint("not-a-jwt", "none")), cbURI, "invalid_request", "s1")
}
