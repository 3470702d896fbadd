package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"oidcd/handlers"
	"oidcd/models"
)

const (
	sessionCookieName  = "oidcd_session"
	signedInMarker     = `You are signed in as <strong data-testid="current-user">`
	notSignedInMarker  = "<h1>Not signed in</h1>"
	genericLoginFailed = "Incorrect username or password."
)

// jarCookie is the value of the named cookie the browser holds for oidcd,
// or "".
func jarCookie(b *browser, name string) string {
	u, _ := url.Parse(b.env.issuer + "/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// homeWithCookie fetches base/ with only the given session cookie, as
// another browser holding that value would.
func homeWithCookie(t *testing.T, base, value string) string {
	t.Helper()
	req := mustRequest(t, http.MethodGet, base+"/", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s/: %v", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / with a session cookie: %d, want 200", resp.StatusCode)
	}
	return string(body)
}

// sessionIDOf decodes the signed session id a cookie value carries, with
// the key the server keeps in its settings.
func sessionIDOf(t *testing.T, env *testEnv, value string) string {
	t.Helper()
	encoded, err := env.store.Setting(context.Background(), "session_hash_key", func() (string, error) {
		return "", errors.New("the server has no session key")
	})
	if err != nil {
		t.Fatalf("session key: %v", err)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("session key: %v", err)
	}
	codec := securecookie.New(key, nil)
	codec.MaxAge(0)
	var id string
	if err := codec.Decode(sessionCookieName, value, &id); err != nil {
		t.Fatalf("decode session cookie: %v", err)
	}
	return id
}

func wantNoSessionRow(t *testing.T, env *testEnv, id, when string) {
	t.Helper()
	if _, err := env.store.SessionByID(context.Background(), id, env.clock.Now()); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("session row %s: got %v, want models.ErrNotFound", when, err)
	}
}

func TestLoginRenewsSessionID(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	env.createUser("bob", "bob password 1")
	b := env.browser()

	before := jarCookie(b, sessionCookieName) // none yet, or an anonymous one
	home := signIn(t, b, "alice", "alice password 1")
	first := jarCookie(b, sessionCookieName)
	if first == "" || first == before {
		t.Fatalf("session cookie after login = %q, before %q; want a new one", first, before)
	}
	firstID := sessionIDOf(t, env, first)
	if _, err := env.store.SessionByID(context.Background(), firstID, env.clock.Now()); err != nil {
		t.Fatalf("session row after login: %v", err)
	}

	// Signing in again over an existing session (as a planted one would
	// be) gives a new id and ends the old one.
	form := hiddenFields(home.body)
	form.Set("username", "bob")
	form.Set("password", "bob password 1")
	p := b.post("/login", form)
	if !strings.Contains(p.body, signedInMarker+"bob<") {
		t.Fatalf("second sign-in: %d at %s, want bob signed in:\n%s", p.status, p.url, p.body)
	}
	second := jarCookie(b, sessionCookieName)
	secondID := sessionIDOf(t, env, second)
	if second == first || secondID == firstID {
		t.Fatalf("session id after the second login = %q, want a different one from %q", secondID, firstID)
	}
	wantNoSessionRow(t, env, firstID, "of the replaced session")

	if body := homeWithCookie(t, env.issuer, first); !strings.Contains(body, notSignedInMarker) {
		t.Errorf("GET / with the pre-login cookie: want %q, got:\n%s", notSignedInMarker, body)
	}
	if body := homeWithCookie(t, env.issuer, second); !strings.Contains(body, signedInMarker+"bob<") {
		t.Errorf("GET / with the new cookie: want bob signed in, got:\n%s", body)
	}
}

// TestSessionCookieAttributes reads the Set-Cookie headers themselves,
// without a cookie jar in the way: the session cookie, which a form page
// sets before login (its id is what the CSRF token is derived from) and
// login renews, is HttpOnly, SameSite=Lax and scoped to /, and carries
// Secure exactly when the issuer is https (README settings table); whether
// the server itself is reached over TLS does not matter, the issuer
// decides. Under an https issuer its name has the __Host- prefix, so that
// no sibling subdomain can plant it. There is no CSRF cookie of its own.
// The session cookie holds only a signed opaque id and lives
// OIDC_SESSION_EXPIRE.
func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		issuer     string // "" is the test server's own http URL
		wantSecure bool
		wantName   string
	}{
		{"the server's own http issuer", "", false, "oidcd_session"},
		{"https issuer", "https://id.example.org", true, "__Host-oidcd_session"},
		{"https issuer with port and path", "https://id.example.org:8443/oidc", true, "__Host-oidcd_session"},
		{"http issuer", "http://id.example.org", false, "oidcd_session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, "OIDC_ISSUER", tt.issuer)
			env.createUser("alice", "alice password 1")
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			req := mustRequest(t, http.MethodGet, env.issuer+"/login", nil)
			req.Header.Set("Accept", "text/html")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET /login: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(resp.Cookies()) != 1 {
				t.Errorf("GET /login set %d cookies, want only the session cookie: %q", len(resp.Cookies()), cookieNamesOf(resp.Cookies()))
			}
			anon := findCookie(resp.Cookies(), tt.wantName)
			if anon == nil {
				t.Fatalf("GET /login set no %s cookie; set %q", tt.wantName, cookieNamesOf(resp.Cookies()))
			}
			wantCookieFlags(t, anon, rawSetCookie(resp, anon.Name), tt.wantSecure)

			form := hiddenFields(string(body))
			form.Set("username", "alice")
			form.Set("password", "alice password 1")
			req = mustRequest(t, http.MethodPost, env.issuer+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: anon.Name, Value: anon.Value})
			resp, err = client.Do(req)
			if err != nil {
				t.Fatalf("POST /login: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
				t.Fatalf("POST /login: %d to %q, want 302 to /", resp.StatusCode, resp.Header.Get("Location"))
			}
			// Login sets the new session and the device cookie that exempts
			// this browser from the per-username throttle (throttle_test.go
			// checks that one's attributes), nothing else.
			sess := findCookie(resp.Cookies(), tt.wantName)
			device := strings.Replace(tt.wantName, "oidcd_session", "oidcd_device", 1)
			if sess == nil || findCookie(resp.Cookies(), device) == nil || len(resp.Cookies()) != 2 {
				t.Fatalf("login set cookies %q, want only %s and %s", cookieNamesOf(resp.Cookies()), tt.wantName, device)
			}
			wantCookieFlags(t, sess, rawSetCookie(resp, sess.Name), tt.wantSecure)
			if want := int(env.cfg.SessionExpire / time.Second); sess.MaxAge != want {
				t.Errorf("session cookie Max-Age = %d, want %d (OIDC_SESSION_EXPIRE)", sess.MaxAge, want)
			}
			if id := sessionIDOf(t, env, sess.Value); strings.Contains(sess.Value, "alice") || id == "" {
				t.Errorf("session cookie %q: want only a signed opaque id", sess.Value)
			}
			if sess.Value == anon.Value {
				t.Errorf("login kept the pre-login session cookie, want a new one")
			}
		})
	}
}

// cookieNamesOf lists cookies by name (never their values, which are
// secrets).
func cookieNamesOf(cookies []*http.Cookie) []string {
	var out []string
	for _, c := range cookies {
		out = append(out, c.Name)
	}
	return out
}

func findCookie(cookies []*http.Cookie, name string) *http.Cookie {
	for _, c := range cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// rawSetCookie is the Set-Cookie header line that sets name.
func rawSetCookie(resp *http.Response, name string) string {
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

// wantCookieFlags: HttpOnly, SameSite=Lax, path /, no Domain, and Secure
// as asked. A secure cookie is __Host- (RFC 6265bis §4.1.3.2), which the
// attributes above make valid.
func wantCookieFlags(t *testing.T, c *http.Cookie, raw string, secure bool) {
	t.Helper()
	if c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie %s: Secure %v, HttpOnly %v, SameSite %v, Path %q, Domain %q; want %v, true, Lax(%v), /, none (attributes %s)",
			c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain, secure, http.SameSiteLaxMode, cookieAttrs(raw))
	}
	if hasPrefix := strings.HasPrefix(c.Name, "__Host-"); hasPrefix != secure {
		t.Errorf("cookie %s: __Host- prefix %v, want %v (the issuer is https: %v)", c.Name, hasPrefix, secure, secure)
	}
}

// cookieAttrs is a Set-Cookie line without its value, which is a secret.
func cookieAttrs(raw string) string {
	if i := strings.Index(raw, ";"); i >= 0 {
		return strings.TrimSpace(raw[i+1:])
	}
	return ""
}

func TestSecureCookiesFollowIssuer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		issuer string
		want   bool
	}{
		{"https://x", true},
		{"https://id.example.org:8443", true},
		{"http://x", false},
		{"http://localhost:8000", false},
	}
	for _, tt := range tests {
		if got := (handlers.Config{Issuer: tt.issuer}).SecureCookies(); got != tt.want {
			t.Errorf("Config{Issuer: %q}.SecureCookies() = %v, want %v", tt.issuer, got, tt.want)
		}
	}
}

func TestLoginFailureIsGeneric(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	env.createUser("gone", "gone password 1", func(u *models.User) { u.Active = false })

	tests := []struct{ name, username, password string }{
		{"wrong password", "alice", "alice password 2"},
		{"unknown user", "nobody", "alice password 1"},
		{"deactivated user with the right password", "gone", "gone password 1"},
		{"empty password", "alice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := env.browser()
			p := b.submitLogin(b.get("/login"), tt.username, tt.password)
			if p.status != http.StatusOK {
				t.Errorf("status = %d, want 200", p.status)
			}
			want := `<p class="error" role="alert" data-testid="login-error">` + genericLoginFailed + `</p>`
			if !strings.Contains(p.body, want) || !strings.Contains(p.body, `data-testid="login-page"`) {
				t.Errorf("want the login page again with %q, got:\n%s", want, p.body)
			}
			if p.url.Path != "/login" {
				t.Errorf("ended at %s, want /login", p.url.Path)
			}
			if v := jarCookie(b, sessionCookieName); v != "" {
				if body := homeWithCookie(t, env.issuer, v); !strings.Contains(body, notSignedInMarker) {
					t.Errorf("a failed login signed the browser in:\n%s", body)
				}
			}
			if home := b.get("/"); !strings.Contains(home.body, notSignedInMarker) {
				t.Errorf("GET / after a failed login: want %q, got:\n%s", notSignedInMarker, home.body)
			}
		})
	}
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "3")
	env.createUser("alice", "alice password 1")
	env.createUser("bob", "bob password 1")
	b := env.browser()

	for i := range 3 {
		p := b.submitLogin(b.get("/login"), "alice", fmt.Sprintf("guess %d", i))
		if p.status != http.StatusOK || !strings.Contains(p.body, genericLoginFailed) {
			t.Fatalf("failure %d: %d, want 200 with the generic message:\n%s", i+1, p.status, p.body)
		}
	}
	p := b.submitLogin(b.get("/login"), "alice", "alice password 1")
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("right password after 3 failures: %d, want 429:\n%s", p.status, p.body)
	}
	wantRetryAfter(t, p, env.cfg.LoginThrottleWindow)
	if !strings.Contains(p.body, "Too many failed sign-in attempts.") {
		t.Errorf("429 page lacks the throttle message:\n%s", p.body)
	}
	if home := b.get("/"); !strings.Contains(home.body, notSignedInMarker) {
		t.Errorf("a throttled login signed alice in:\n%s", home.body)
	}

	// The lock is per username: bob, from the same address, signs in.
	signIn(t, env.browser(), "bob", "bob password 1")

	// Just inside the window alice is still locked out...
	env.clock.Advance(env.cfg.LoginThrottleWindow - time.Minute)
	if p := b.submitLogin(b.get("/login"), "alice", "alice password 1"); p.status != http.StatusTooManyRequests {
		t.Errorf("right password inside the window: %d, want 429", p.status)
	}
	// ...and past it the right password works.
	env.clock.Advance(time.Minute + time.Second)
	signIn(t, b, "alice", "alice password 1")
}

func TestLoginThrottleByAddress(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "3")
	env.createUser("carol", "carol password 1")
	b := env.browser()
	// 12 failures (4 × the limit) from one address, no username reaching
	// its own limit of 3.
	for i := range 12 {
		p := b.submitLogin(b.get("/login"), fmt.Sprintf("user%d", i/2), "wrong")
		if p.status != http.StatusOK {
			t.Fatalf("failure %d: %d, want 200", i+1, p.status)
		}
	}
	p := b.submitLogin(b.get("/login"), "carol", "carol password 1")
	if p.status != http.StatusTooManyRequests {
		t.Errorf("carol after 12 failures from the address: %d, want 429", p.status)
	}
	wantRetryAfter(t, p, env.cfg.LoginThrottleWindow)
}

func TestDeactivatedUserCannotLogIn(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("gone", "gone password 1", func(u *models.User) { u.Active = false })
	u, err := env.store.UserByUsername(context.Background(), "gone")
	if err != nil || u.Active {
		t.Fatalf("stored user: active %v, err %v; want an inactive user", u != nil && u.Active, err)
	}
	b := env.browser()
	p := b.submitLogin(b.get("/login"), "gone", "gone password 1")
	if p.status != http.StatusOK || !strings.Contains(p.body, genericLoginFailed) {
		t.Errorf("inactive user login: %d, want 200 with %q:\n%s", p.status, genericLoginFailed, p.body)
	}
	if home := b.get("/"); !strings.Contains(home.body, notSignedInMarker) {
		t.Errorf("an inactive user was signed in:\n%s", home.body)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	b := env.browser()
	signIn(t, b, "alice", "alice password 1")
	cookie := jarCookie(b, sessionCookieName)
	id := sessionIDOf(t, env, cookie)

	// GET only asks.
	confirm := b.get("/logout")
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, "<h1>Sign out?</h1>") ||
		!strings.Contains(confirm.body, "You are signed in as <strong>alice</strong>") ||
		!strings.Contains(confirm.body, `data-testid="logout-submit"`) {
		t.Fatalf("GET /logout: %d, want the confirmation for alice:\n%s", confirm.status, confirm.body)
	}
	if home := b.get("/"); !strings.Contains(home.body, signedInMarker+"alice<") {
		t.Fatalf("GET /logout signed alice out:\n%s", home.body)
	}

	// A POST without the CSRF token changes nothing.
	if p := b.post("/logout", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("POST /logout without CSRF: %d, want 403", p.status)
	}
	if home := b.get("/"); !strings.Contains(home.body, signedInMarker+"alice<") {
		t.Fatalf("POST /logout without CSRF signed alice out:\n%s", home.body)
	}

	// POST-redirect-GET: the answer is a redirect to the signed-out page.
	done := b.post("/logout", hiddenFields(confirm.body))
	if done.status != http.StatusOK || done.url.RequestURI() != "/logout?done=1" ||
		!strings.Contains(done.body, `<p data-testid="logout-done">You have been signed out.</p>`) {
		t.Fatalf("POST /logout: %d at %s, want the signed-out page at /logout?done=1:\n%s", done.status, done.url, done.body)
	}
	// Someone still signed in is never told they are signed out.
	other := env.browser()
	signIn(t, other, "alice", "alice password 1")
	if p := other.get("/logout?done=1"); strings.Contains(p.body, "logout-done") || !strings.Contains(p.body, "logout-submit") {
		t.Errorf("GET /logout?done=1 while signed in: want the confirmation, got:\n%s", p.body)
	}
	if home := b.get("/"); !strings.Contains(home.body, notSignedInMarker) {
		t.Errorf("GET / after logout: want %q, got:\n%s", notSignedInMarker, home.body)
	}
	wantNoSessionRow(t, env, id, "after logout")
	if body := homeWithCookie(t, env.issuer, cookie); !strings.Contains(body, notSignedInMarker) {
		t.Errorf("GET / with the logged-out cookie: want %q, got:\n%s", notSignedInMarker, body)
	}
}

func TestPagesRefuseFraming(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	b := env.browser()
	signIn(t, b, "alice", "alice password 1")
	for _, path := range []string{"/", "/login?req=x", "/logout", "/consent?req=unknown", "/authorize?client_id=unknown", "/no-such-page"} {
		p := b.get(path)
		if got := p.header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s (%d): X-Frame-Options = %q, want DENY", path, p.status, got)
		}
		if got := p.header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("%s (%d): Content-Security-Policy = %q, want frame-ancestors 'none'", path, p.status, got)
		}
		if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type = %q, want an HTML page", path, p.header.Get("Content-Type"))
		}
	}
}

func TestPasswordsNeverLogged(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "2")
	const right, wrong = "Right-Horse-7731", "Wrong-Staple-9924"
	env.createUser("alice", right)
	b := env.browser()
	b.submitLogin(b.get("/login"), "alice", wrong)
	b.submitLogin(b.get("/login"), "nobody", wrong+"x")
	signIn(t, env.browser(), "alice", right)
	// The correct login cleared alice's failures from this address; two
	// more lock it again.
	b.submitLogin(b.get("/login"), "alice", wrong+"y")
	b.submitLogin(b.get("/login"), "alice", wrong+"z")
	if p := b.submitLogin(b.get("/login"), "alice", right); p.status != http.StatusTooManyRequests {
		t.Errorf("alice after two more failures: %d, want 429", p.status)
	}
	cookie := jarCookie(b, sessionCookieName)

	logs := env.logs.String()
	if !strings.Contains(logs, "path=/login") {
		t.Fatalf("the log has no request lines for /login; is it captured?\n%s", logs)
	}
	for _, secret := range []string{right, wrong, wrong + "x", wrong + "y", wrong + "z"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the password %q", secret)
		}
	}
	if cookie != "" && strings.Contains(logs, cookie) {
		t.Errorf("the log contains a session cookie value")
	}
}

// TestLoginRefusesControlCharacters: a NUL in the username (which
// PostgreSQL cannot even compare) is a 400 page, not a server error, and
// signs nobody in.
func TestLoginRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	b := env.browser()
	for _, username := range []string{"ali\x00ce", "alice\x1b"} {
		p := b.submitLogin(b.get("/login"), username, "alice password 1")
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `data-testid="error-page"`) {
			t.Errorf("login as %q: %d, want the 400 error page:\n%s", username, p.status, p.body)
		}
	}
	if home := b.get("/"); !strings.Contains(home.body, notSignedInMarker) {
		t.Errorf("a username with a control character signed someone in:\n%s", home.body)
	}
	if strings.Contains(env.logs.String(), "level=ERROR") {
		t.Errorf("the server logged an error:\n%s", env.logs.String())
	}
}
