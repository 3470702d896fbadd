package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"oidcd/handlers"
	"oidcd/handlers/oauth"
	"oidcd/models"
	"oidcd/models/modelstest"
)

// testEnv is a real oidcd over httptest on a fresh SQLite file, with a
// clock the test can move.
type testEnv struct {
	t      testing.TB
	store  *models.Store
	srv    *httptest.Server
	issuer string
	clock  *testClock
	cfg    handlers.Config
	logs   *syncBuffer
	app    *echo.Echo // its route table, for tests that visit every page
}

// testClock is the handlers' clock: real time plus an offset the test
// advances, so expiry is tested without sleeping.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// syncBuffer collects the server's log so tests can check what it says
// (and what it must never say).
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// openTestStore gives each test environment its database: a SQLite file,
// or a PostgreSQL database when OIDC_TEST_DATABASE=postgres.
func openTestStore(t testing.TB) *models.Store { return modelstest.Open(t) }

// testStores maps each test to the store its environment opened, so
// helpers that count rows beside the server find the same database on
// SQLite and PostgreSQL alike.
var testStores sync.Map

// testDB is the database of the test's environment (newTestEnv must have
// run for t).
func testDB(t testing.TB) *gorm.DB {
	t.Helper()
	s, ok := testStores.Load(t)
	if !ok {
		t.Fatalf("testDB: no test environment for %s", t.Name())
	}
	return s.(*models.Store).DB()
}

// newTestEnv starts oidcd with the default settings, overridden by env.
// The issuer is the server's own URL unless env sets OIDC_ISSUER; the
// server is reached at e.issuer either way, over plain http.
func newTestEnv(t testing.TB, env ...string) *testEnv {
	t.Helper()
	store := openTestStore(t)
	testStores.Store(t, store)
	t.Cleanup(func() { testStores.Delete(t) })
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	vars := map[string]string{}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	cfgIssuer := issuer
	if v := vars["OIDC_ISSUER"]; v != "" {
		cfgIssuer = v
	}
	cfg, err := loadHandlerConfig(cfgIssuer, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx := context.Background()
	if err := ensureSigningKey(ctx, store, log); err != nil {
		t.Fatalf("signing key: %v", err)
	}
	clock := &testClock{}
	app, err := newApp(ctx, store, cfg, log, clock.Now)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	srv.Config.Handler = app
	srv.Start()
	t.Cleanup(srv.Close)
	return &testEnv{t: t, store: store, srv: srv, issuer: issuer, clock: clock, cfg: cfg, logs: logs, app: app}
}

// createUser adds an active user with the given password.
func (e *testEnv) createUser(username, password string, edit ...func(*models.User)) *models.User {
	e.t.Helper()
	u := &models.User{Username: username, Active: true}
	for _, f := range edit {
		f(u)
	}
	if err := e.store.CreateUser(context.Background(), u, password); err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return u
}

// createClient registers a client and returns it with its plaintext
// secret ("" for a public client).
func (e *testEnv) createClient(clientType string, redirectURIs []string, edit ...func(*models.Client)) (*models.Client, string) {
	e.t.Helper()
	c := &models.Client{
		ClientID: models.NewID(), Name: "Test RP", ClientType: clientType,
		ResponseTypes: []string{"code"}, RedirectURIs: redirectURIs, PostLogoutRedirectURIs: []string{},
		Scopes: []string{"openid", "profile", "email", "phone", "address", "offline_access"}, JWTAlg: "RS256",
		RequireConsent: true, ReuseConsent: true,
	}
	var secret string
	if clientType == models.ClientConfidential {
		secret = oauth.NewToken()
		c.SecretHash = oauth.HashToken(secret)
	}
	for _, f := range edit {
		f(c)
	}
	if err := e.store.CreateClient(context.Background(), c); err != nil {
		e.t.Fatalf("create client: %v", err)
	}
	return c, secret
}

// browser is a user agent with a cookie jar that follows redirects within
// oidcd and stops at the first redirect that leaves it (to the RP).
type browser struct {
	t      testing.TB
	env    *testEnv
	client *http.Client
}

func (e *testEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	host := strings.TrimPrefix(e.issuer, "http://")
	return &browser{t: e.t, env: e, client: &http.Client{
		Jar: jar,
		// A bound on a hang, not a speed check: a login's bcrypt behind
		// the password slots of a real process, on a CI box running the
		// suite's parallel tests, can take several seconds.
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != host || len(via) > 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// page is a fetched response with its body read.
type page struct {
	status int
	url    *url.URL // where the browser ended up
	header http.Header
	body   string
}

// location is the redirect target when the browser stopped at one.
func (p page) location() *url.URL {
	loc := p.header.Get("Location")
	if loc == "" {
		return nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil
	}
	return u
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	req.Header.Set("Accept", "text/html")
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body)}
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(rawURL), nil)
	if err != nil {
		b.t.Fatalf("new request: %v", err)
	}
	return b.do(req)
}

func (b *browser) post(rawURL string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(rawURL), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.env.issuer + u
	}
	return u
}

var inputRE = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)

// hiddenFields reads the form fields a page pre-fills (the CSRF token and
// the parked request id among them).
func hiddenFields(body string) url.Values {
	v := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// submitLogin fills in and posts the login form on p.
func (b *browser) submitLogin(p page, username, password string) page {
	b.t.Helper()
	if !strings.Contains(p.body, `data-testid="login-page"`) {
		b.t.Fatalf("expected the login page, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	form := hiddenFields(p.body)
	form.Set("username", username)
	form.Set("password", password)
	return b.post("/login", form)
}

// decide clicks Allow or Deny on the consent page p.
func (b *browser) decide(p page, button string) page {
	b.t.Helper()
	if !strings.Contains(p.body, `data-testid="consent-page"`) {
		b.t.Fatalf("expected the consent page, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	form := hiddenFields(p.body)
	form.Set(button, "1")
	return b.post("/consent", form)
}

// authorize walks a user through login and, when asked, consent, and
// returns the redirect back to the RP.
func (b *browser) authorize(authURL, username, password, button string) *url.URL {
	b.t.Helper()
	p := b.get(authURL)
	if strings.Contains(p.body, `data-testid="login-page"`) {
		p = b.submitLogin(p, username, password)
	}
	if strings.Contains(p.body, `data-testid="consent-page"`) {
		p = b.decide(p, button)
	}
	loc := p.location()
	if p.status != http.StatusFound || loc == nil {
		b.t.Fatalf("expected a redirect to the RP, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	return loc
}

// postForm sends a form to oidcd as an RP's back end would.
func postForm(t testing.TB, target string, form url.Values, edit ...func(*http.Request)) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, f := range edit {
		f(req)
	}
	return doJSON(t, req)
}

// doJSON sends req and decodes a JSON object body, if there is one.
func doJSON(t testing.TB, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return resp, out
}
