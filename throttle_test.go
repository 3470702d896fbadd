package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"oidcd/models"
)

// TestLoginBurstCountedBeforeCheck (finding 3): 30 simultaneous wrong
// guesses for one account are evaluated at most up to the limit; the
// rest are refused with 429 before any password is checked.
func TestLoginBurstCountedBeforeCheck(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "5")
	env.createUser("alice", "alice password 1")
	const n = 30
	type attempt struct {
		client *http.Client
		form   url.Values
	}
	attempts := make([]attempt, n)
	for i := range attempts {
		b := env.browser()
		form := hiddenFields(b.get("/login").body)
		form.Set("username", "alice")
		form.Set("password", fmt.Sprintf("guess %d", i))
		attempts[i] = attempt{b.client, form}
	}
	statuses := make([]int, n)
	bodies := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, a := range attempts {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, env.issuer+"/login", strings.NewReader(a.form.Encode()))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "text/html")
			resp, err := a.client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			statuses[i], bodies[i] = resp.StatusCode, string(body)
		})
	}
	wg.Wait()
	evaluated, refused := 0, 0
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("attempt %d: %v", i, errs[i])
		case statuses[i] == http.StatusOK && strings.Contains(bodies[i], genericLoginFailed):
			evaluated++
		case statuses[i] == http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("attempt %d: %d, want 200 (wrong password) or 429:\n%.400s", i, statuses[i], bodies[i])
		}
	}
	if evaluated > 5 || refused < n-5 {
		t.Errorf("evaluated %d, refused %d of %d; want at most the limit 5 evaluated, the rest 429", evaluated, refused, n)
	}
	if got := countEvents(t, "kind = ? AND username = ?", models.EventLoginFailed, "alice"); got > 5 {
		t.Errorf("login_failed events for alice: %d, want at most 5 passwords checked", got)
	}
}

// TestLockoutIsNotAWeapon (finding 4): bad passwords for the admin from
// one address lock that address out of the admin account, not the admin
// signing in from elsewhere.
func TestLockoutIsNotAWeapon(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_TRUSTED_PROXIES", "127.0.0.0/8")
	env.createUser("admin", "admin password 1", func(u *models.User) { u.Superuser = true })
	attacker := env.browser()
	for i := range 5 {
		submitLoginFrom(attacker, "203.0.113.66", "admin", fmt.Sprintf("guess %d", i))
	}
	if p := submitLoginFrom(attacker, "203.0.113.66", "admin", "admin password 1"); p.status != http.StatusTooManyRequests {
		t.Errorf("the attacker's address after 5 failures: %d, want 429", p.status)
	}
	p := submitLoginFrom(env.browser(), "198.51.100.10", "admin", "admin password 1")
	if !strings.Contains(p.body, signedInMarker+"admin<") {
		t.Errorf("the admin from another address during the attack: %d, want signed in:\n%.600s", p.status, p.body)
	}
}

// TestOwnerSignsInPastUserCeiling: when a distributed attack exceeds the
// per-username ceiling (10 × the limit), a browser the owner signed in
// with before (its device cookie) still signs in from a new address; a
// browser without one is slowed like the attacker.
func TestOwnerSignsInPastUserCeiling(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "1", "OIDC_TRUSTED_PROXIES", "127.0.0.0/8")
	env.createUser("alice", "alice password 1")
	owner := env.browser()
	if p := submitLoginFrom(owner, "198.51.100.1", "alice", "alice password 1"); !strings.Contains(p.body, signedInMarker+"alice<") {
		t.Fatalf("owner's first sign-in: %d", p.status)
	}
	if jarCookie(owner, "oidcd_device") == "" {
		t.Fatalf("no device cookie after a correct sign-in")
	}
	// 10 addresses × 1 failure = the ceiling of 10.
	attack := func(username string) {
		for a := range 10 {
			submitLoginFrom(env.browser(), fmt.Sprintf("203.0.113.%d", a+1), username, "wrong")
		}
	}
	attack("alice")
	if p := submitLoginFrom(env.browser(), "203.0.113.1", "alice", "alice password 1"); p.status != http.StatusTooManyRequests {
		t.Errorf("an attacker's address with the right password: %d, want 429", p.status)
	}
	if p := submitLoginFrom(env.browser(), "192.0.2.44", "alice", "alice password 1"); p.status != http.StatusTooManyRequests {
		t.Errorf("a new browser past the ceiling: %d, want 429 (slowed)", p.status)
	}
	p := submitLoginFrom(owner, "192.0.2.45", "alice", "alice password 1")
	if !strings.Contains(p.body, signedInMarker+"alice<") {
		t.Errorf("the owner's browser from a new address past the ceiling: %d, want signed in:\n%.600s", p.status, p.body)
	}
	// The device cookie names alice: it exempts no other username.
	env.createUser("bob", "bob password 1")
	attack("bob")
	if p := submitLoginFrom(owner, "192.0.2.46", "bob", "bob password 1"); p.status != http.StatusTooManyRequests {
		t.Errorf("alice's device cookie for bob past bob's ceiling: %d, want 429", p.status)
	}
}

// TestDeviceCookieAttributes: HttpOnly, SameSite=Lax, and under an https
// issuer Secure with the __Host- prefix.
func TestDeviceCookieAttributes(t *testing.T) {
	t.Parallel()
	for _, issuer := range []string{"", "https://id.example.org"} {
		env := newTestEnv(t, "OIDC_ISSUER", issuer)
		env.createUser("alice", "alice password 1")
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(env.issuer + "/login")
		if err != nil {
			t.Fatalf("GET /login: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		form := hiddenFields(string(body))
		form.Set("username", "alice")
		form.Set("password", "alice password 1")
		req, _ := http.NewRequest(http.MethodPost, env.issuer+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range resp.Cookies() {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		resp, err = client.Do(req)
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("issuer %q: login %d, want 302", issuer, resp.StatusCode)
		}
		name, secure := "oidcd_device", false
		if issuer != "" {
			name, secure = "__Host-oidcd_device", true
		}
		c := findCookie(resp.Cookies(), name)
		if c == nil {
			t.Errorf("issuer %q: no %s cookie; Set-Cookie names: %v", issuer, name, cookieNamesOf(resp.Cookies()))
			continue
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("issuer %q: %s HttpOnly %v SameSite %v Secure %v Path %q Domain %q; want HttpOnly, Lax, Secure %v, /, host-only",
				issuer, name, c.HttpOnly, c.SameSite, c.Secure, c.Path, c.Domain, secure)
		}
	}
}

// TestLoginFailsClosed: when the attempt cannot be counted, the login is
// refused, even with the right password, and the failure logged once.
func TestLoginFailsClosed(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	if err := testDB(t).Migrator().DropTable("throttles"); err != nil {
		t.Fatalf("drop throttles: %v", err)
	}
	b := env.browser()
	p := b.submitLogin(b.get("/login"), "alice", "alice password 1")
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, `data-testid="error-page"`) {
		t.Errorf("login without a throttle table: %d, want the 503 error page:\n%.600s", p.status, p.body)
	}
	wantRetryAfter(t, p, time.Minute)
	if home := b.get("/"); !strings.Contains(home.body, notSignedInMarker) {
		t.Errorf("a login that could not be counted signed alice in")
	}
	if got := strings.Count(env.logs.String(), "msg=\"login throttle\""); got != 1 {
		t.Errorf("log lines for the throttle failure: %d, want 1:\n%s", got, env.logs.String())
	}
}

// TestAdminThrottles: the admin site lists the throttles in force and
// clears one (CSRF-protected, audit-logged), which lets the user in.
func TestAdminThrottles(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "2")
	env.createUser("alice", "alice password 1")
	b := env.signInAdmin()
	attacker := env.browser()
	for range 2 {
		attacker.submitLogin(attacker.get("/login"), "alice", "wrong")
	}
	if p := attacker.submitLogin(attacker.get("/login"), "alice", "alice password 1"); p.status != http.StatusTooManyRequests {
		t.Fatalf("alice after 2 failures: %d, want 429", p.status)
	}

	p := b.get("/admin/throttles")
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="throttles-page"`) || !strings.Contains(p.body, `data-testid="nav-throttles"`) {
		t.Fatalf("GET /admin/throttles: %d, want the page with its nav link:\n%.800s", p.status, p.body)
	}
	// alice's pair (locked), the address, and alice's ceiling.
	if got := strings.Count(p.body, `data-testid="throttle-row"`); got != 3 {
		t.Errorf("throttle rows: %d, want 3:\n%s", got, p.body)
	}
	if !strings.Contains(p.body, "locked</span>") || !strings.Contains(p.body, "<code>alice</code>") || !strings.Contains(p.body, "<code>127.0.0.1</code>") {
		t.Errorf("the page does not show alice's locked pair from 127.0.0.1:\n%s", p.body)
	}
	var pair models.Throttle
	if err := testDB(t).Where("kind = ? AND subject = ?", models.ThrottleLogin, "alice").Take(&pair).Error; err != nil {
		t.Fatalf("alice's pair row: %v", err)
	}
	clear := fmt.Sprintf("/admin/throttles/%d/clear", pair.ID)
	if p := b.post(clear, url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("clear without CSRF: %d, want 403", p.status)
	}
	if p := attacker.post(clear, hiddenFields(attacker.get("/login").body)); p.status == http.StatusOK && strings.Contains(p.body, "flash-success") {
		t.Errorf("a non-admin cleared a throttle")
	}
	form := csrfFrom(t, b, "/admin/throttles", "throttles-page")
	form.Set("back", "/admin/throttles")
	wantLanded(t, b.post(clear, form), "/admin/throttles", "success")
	signIn(t, env.browser(), "alice", "alice password 1")

	var events int64
	testDB(t).Model(&models.Event{}).Where("kind = ? AND detail = ? AND target = ?", models.EventAdminChange, "clear throttle",
		fmt.Sprintf("throttle %d of user alice", pair.ID)).Count(&events)
	if events != 1 {
		t.Errorf("audit entries for the clear: %d, want 1", events)
	}
	if p := b.post(clear, form); !strings.Contains(p.body, `data-testid="flash-error"`) {
		t.Errorf("clearing it again: want an error flash, got %d", p.status)
	}
}

// TestClientAuthThrottle: failed client authentication at /token is
// throttled per client_id + address and per address (unknown client_ids
// included); a locked client gets invalid_client 401 with Retry-After
// even with the right secret, while the same client from another address
// authenticates. A successful authentication writes nothing.
func TestClientAuthThrottle(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "2", "OIDC_TRUSTED_PROXIES", "127.0.0.1")
	client, secret := env.createClient(models.ClientConfidential, []string{"https://rp.example/cb"})
	token := func(from, id, secret string) (*http.Response, map[string]any) {
		t.Helper()
		return postForm(t, env.issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {"bogus"}, "redirect_uri": {"https://rp.example/cb"}}, func(r *http.Request) {
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			r.Header.Set("X-Forwarded-For", from)
		})
	}
	// Authenticated: the bogus code is the only complaint.
	if resp, body := token("198.51.100.1", client.ClientID, secret); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("right secret: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
	var rows int64
	testDB(t).Model(&models.Throttle{}).Count(&rows)
	if rows != 0 {
		t.Errorf("throttle rows after a successful authentication: %d, want none written", rows)
	}

	for range 2 {
		if resp, body := token("203.0.113.5", client.ClientID, "wrong"); resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Fatalf("wrong secret: %d %v, want 401 invalid_client", resp.StatusCode, body)
		}
	}
	resp, body := token("203.0.113.5", client.ClientID, secret)
	if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("right secret while locked: %d %v, want 401 invalid_client", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Retry-After"); got == "" {
		t.Errorf("locked client: no Retry-After")
	}
	if resp, body := token("198.51.100.1", client.ClientID, secret); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("right secret from another address: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}

	// 8 unknown client_ids (4 × 2) lock the address for every client.
	for i := range 8 {
		token("192.0.2.9", fmt.Sprintf("unknown-%d", i), "whatever")
	}
	if resp, body := token("192.0.2.9", client.ClientID, secret); resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("right secret from an address that tried 8 unknown clients: %d %v, want 401 invalid_client", resp.StatusCode, body)
	}
}
