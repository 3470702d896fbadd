package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"oidcd/models"
)

// forgedPost posts form to path with exactly the given cookies and
// headers, as a page on another site or a sibling subdomain would make a
// browser send it.
func forgedPost(t *testing.T, env *testEnv, path string, form url.Values, cookies []*http.Cookie, header map[string]string) int {
	t.Helper()
	req := mustRequest(t, http.MethodPost, env.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestCSRFForgedPostsRefused: the CSRF token is derived from the session,
// and a state-changing request a browser marks as coming from another
// site or a sibling subdomain is refused whatever it carries. The old
// double-submit cookie, which a sibling subdomain could plant, is worth
// nothing. Each forged POST /logout would sign the victim out.
func TestCSRFForgedPostsRefused(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	env.createUser("mallory", "mallory password 1")
	victim := env.browser()
	signIn(t, victim, "alice", "alice password 1")
	victimCookie := &http.Cookie{Name: sessionCookieName, Value: jarCookie(victim, sessionCookieName)}
	victimToken := hiddenFields(victim.get("/logout").body).Get("_csrf")

	// The attacker's own session, anonymous and signed in: a valid
	// session cookie and its token, both of which a sibling subdomain
	// could plant or copy into a forged form.
	attacker := env.browser()
	anonToken := hiddenFields(attacker.get("/login").body).Get("_csrf")
	anonCookie := &http.Cookie{Name: sessionCookieName, Value: jarCookie(attacker, sessionCookieName)}
	signIn(t, attacker, "mallory", "mallory password 1")
	attackerToken := hiddenFields(attacker.get("/logout").body).Get("_csrf")
	if victimToken == "" || anonToken == "" || attackerToken == "" || victimToken == attackerToken {
		t.Fatalf("tokens: victim %t, anonymous %t, attacker %t, victim's = attacker's %t; want three different tokens",
			victimToken != "", anonToken != "", attackerToken != "", victimToken == attackerToken)
	}
	planted := &http.Cookie{Name: "oidcd_csrf", Value: "planted-by-a-sibling"}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://evil.sibling.example"}

	tests := []struct {
		name    string
		token   string
		cookies []*http.Cookie
		header  map[string]string
	}{
		{"same-site with a planted double-submit cookie", "planted-by-a-sibling", []*http.Cookie{victimCookie, planted}, sameSite},
		{"same-site with a planted session cookie and its token", anonToken, []*http.Cookie{anonCookie, victimCookie}, sameSite},
		{"same-site with the victim's own token", victimToken, []*http.Cookie{victimCookie}, sameSite},
		{"same-site with another session's token", attackerToken, []*http.Cookie{victimCookie}, sameSite},
		{"cross-site with the victim's own token", victimToken, []*http.Cookie{victimCookie},
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"an unknown Sec-Fetch-Site", victimToken, []*http.Cookie{victimCookie}, map[string]string{"Sec-Fetch-Site": "cross-origin"}},
		{"no Fetch Metadata, a planted double-submit cookie", "planted-by-a-sibling", []*http.Cookie{victimCookie, planted}, nil},
		{"no Fetch Metadata, another session's token", attackerToken, []*http.Cookie{victimCookie}, nil},
		{"no Fetch Metadata, an anonymous session's token", anonToken, []*http.Cookie{victimCookie}, nil},
		{"no Fetch Metadata, no token", "", []*http.Cookie{victimCookie}, nil},
		{"the victim's token without a session cookie", victimToken, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			if tt.token != "" {
				form.Set("_csrf", tt.token)
			}
			if status := forgedPost(t, env, "/logout", form, tt.cookies, tt.header); status != http.StatusForbidden {
				t.Errorf("forged POST /logout: %d, want 403", status)
			}
			if home := victim.get("/"); !strings.Contains(home.body, signedInMarker+"alice<") {
				t.Fatalf("the forged POST signed alice out")
			}
		})
	}

	// The same form from the page itself goes through.
	if status := forgedPost(t, env, "/logout", url.Values{"_csrf": {victimToken}}, []*http.Cookie{victimCookie},
		map[string]string{"Sec-Fetch-Site": "same-origin"}); status != http.StatusSeeOther && status != http.StatusFound {
		t.Fatalf("POST /logout from the page: %d, want a redirect", status)
	}
	if home := victim.get("/"); !strings.Contains(home.body, notSignedInMarker) {
		t.Errorf("POST /logout from the page did not sign alice out")
	}
}

// TestCSRFTokenRenewedAtLogin: a browser gets an anonymous session (a
// cookie, no row) at the first page with a form, and login gives it a new
// session id, so the token of the login page no longer passes afterwards.
func TestCSRFTokenRenewedAtLogin(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	b := env.browser()
	login := b.get("/login")
	before := hiddenFields(login.body).Get("_csrf")
	if before == "" || jarCookie(b, sessionCookieName) == "" {
		t.Fatalf("GET /login: token %t, session cookie %t; want both", before != "", jarCookie(b, sessionCookieName) != "")
	}
	if again := hiddenFields(b.get("/login").body).Get("_csrf"); again != before {
		t.Errorf("a second GET /login changed the token: the session id must stay until login")
	}
	var rows int64
	testDB(t).Model(&models.Session{}).Count(&rows)
	if rows != 0 {
		t.Errorf("session rows after anonymous page views: %d, want 0 (the id lives in the cookie only)", rows)
	}

	home := b.submitLogin(login, "alice", "alice password 1")
	if !strings.Contains(home.body, signedInMarker+"alice<") {
		t.Fatalf("login: %d at %s, want the home page signed in", home.status, home.url)
	}
	after := hiddenFields(home.body).Get("_csrf")
	if after == "" || after == before {
		t.Fatalf("token after login: empty %t, same as before %t; want a new one", after == "", after == before)
	}
	if p := b.post("/logout", url.Values{"_csrf": {before}}); p.status != http.StatusForbidden {
		t.Errorf("POST /logout with the pre-login token: %d, want 403", p.status)
	}
	if home := b.get("/"); !strings.Contains(home.body, signedInMarker+"alice<") {
		t.Fatalf("the pre-login token signed alice out")
	}
	if p := b.post("/logout", url.Values{"_csrf": {after}}); p.status != http.StatusOK || p.url.RequestURI() != "/logout?done=1" {
		t.Errorf("POST /logout with the session's token: %d at %s, want the signed-out page", p.status, p.url)
	}
}

// httpsJar keeps and sends Secure cookies to the plain-http test server,
// as a browser does with the https front of a real deployment.
type httpsJar struct{ http.CookieJar }

func asHTTPS(u *url.URL) *url.URL {
	v := *u
	v.Scheme = "https"
	return &v
}

func (j httpsJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.CookieJar.SetCookies(asHTTPS(u), cookies)
}

func (j httpsJar) Cookies(u *url.URL) []*http.Cookie { return j.CookieJar.Cookies(asHTTPS(u)) }

// TestCookiePrefixesUnderHTTPS: under an https issuer every cookie oidcd
// sets is prefixed, so a sibling subdomain can neither plant nor overwrite
// it: the session cookie __Host-, and the admin's one-time secret cookie,
// which is scoped to /admin and so cannot be __Host-, __Secure-. A whole
// admin round trip works with them.
func TestCookiePrefixesUnderHTTPS(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_ISSUER", "https://id.example.org")
	env.createUser("root", adminPassword, func(u *models.User) { u.Superuser = true })
	b := env.browser()
	jar, _ := cookiejar.New(nil)
	b.client.Jar = httpsJar{jar}
	stop := &browser{t: t, env: env, client: &http.Client{Jar: b.client.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

	p := b.submitLogin(b.get("/admin/clients/new"), "root", adminPassword)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="client-form-page"`) {
		t.Fatalf("admin login under an https issuer: %d at %s, want the new-client form", p.status, p.url)
	}
	form := clientFields("Prefixed RP", rpRedirect)
	form.Set("_csrf", hiddenFields(p.body).Get("_csrf"))
	posted := stop.postMultipart("/admin/clients", form, nil)
	if posted.status != http.StatusSeeOther {
		t.Fatalf("create client: %d, want 303", posted.status)
	}
	cookies := (&http.Response{Header: posted.header}).Cookies()
	secret := findCookie(cookies, "__Secure-oidcd_secret")
	if secret == nil || !secret.Secure || secret.Path != "/admin" || secret.Domain != "" {
		t.Fatalf("secret cookie: %+v among %q, want __Secure-oidcd_secret, Secure, Path=/admin", secret, cookieNamesOf(cookies))
	}
	for _, c := range cookies {
		if !strings.HasPrefix(c.Name, "__Host-") && !strings.HasPrefix(c.Name, "__Secure-") {
			t.Errorf("cookie %s has no __Host- or __Secure- prefix", c.Name)
		}
	}
	shown := b.get(posted.location().String())
	if oneTimeSecret(shown.body) == "" {
		t.Errorf("the client page did not show the secret from the __Secure- cookie")
	}
}
