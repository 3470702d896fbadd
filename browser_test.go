package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/admin"
	"oidcd/models"
)

// screenshotDir is git-ignored; the browser test leaves its pictures there.
const screenshotDir = "screenshots"

// stepTimeout bounds one group of browser steps; the whole test has its
// own, longer deadline.
const stepTimeout = 20 * time.Second

// chromiumPath finds Debian's chromium. Without it the browser test is
// skipped locally and fails in CI, where it must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found; install Debian's chromium package")
	}
	t.Skip("chromium not found")
	return ""
}

// chrome is one headless chromium with its own profile (and so its own
// cookies), and a tab in it.
type chrome struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	// dialogs records every JavaScript dialog a page opened.
	dialogs []string
	// paused receives the URLs of requests that Fetch interception held.
	paused chan pausedRequest
}

type pausedRequest struct {
	id  fetch.RequestID
	url string
}

// newChrome starts chromium under parent, whose deadline bounds every
// step run in it.
func newChrome(t *testing.T, parent context.Context, exe string) *chrome {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 900),
	}
	c := &chrome{t: t, paused: make(chan pausedRequest, 8)}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	// The listener runs on the tab's read loop: it only records.
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *cdppage.EventJavascriptDialogOpening:
			c.mu.Lock()
			c.dialogs = append(c.dialogs, e.Message)
			c.mu.Unlock()
			// Dismiss it from another goroutine, so the page does not hang.
			go func() {
				_, _ = chromedp.Call(c.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
			}()
		case *fetch.EventRequestPaused:
			select {
			case c.paused <- pausedRequest{id: e.RequestID, url: e.Request.URL}:
			default:
			}
		}
	}))
	c.ctx = ctx
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, so a launch failure is reported as such.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return c
}

// do runs browser steps, failing the test with the step's name.
func (c *chrome) do(step string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(c.ctx, chromedp.Location())
		c.t.Fatalf("%s: %v (at %s)", step, err, loc)
	}
}

// chromeRead runs one action that returns a value.
func chromeRead[T any](c *chrome, step string, a chromedp.Action[T]) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %v", step, err)
	}
	return v
}

// wantNoDialogs fails if any page opened an alert, confirm or prompt.
func (c *chrome) wantNoDialogs() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dialogs) > 0 {
		c.t.Errorf("JavaScript dialogs opened: %q", c.dialogs)
	}
}

// screenshot saves the whole page as screenshots/<name>.png.
func screenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return saveShot(t, name, chromedp.FullScreenshot(100))
}

// screenshotOf saves one element of the page as screenshots/<name>.png.
func screenshotOf(t *testing.T, name string, sel chromedp.CSS) chromedp.Action[chromedp.Void] {
	return saveShot(t, name, chromedp.Screenshot(sel))
}

func saveShot(t *testing.T, name string, shot chromedp.Action[[]byte]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		buf, err := shot(ctx, tgt)
		if err != nil {
			return fmt.Errorf("screenshot %s: %w", name, err)
		}
		if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
			return err
		}
		file := filepath.Join(screenshotDir, name+".png")
		t.Logf("screenshot %s", file)
		return os.WriteFile(file, buf, 0o644)
	})
}

// byTestID is a data-testid selector.
func byTestID(testID string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + testID + `"]`) }

// TestAdminBrowserFlow drives the admin site and the end-user pages with a
// real browser: first-run setup, creating a client, a relying party's code
// flow through login and consent, and the admin revoking what it granted.
func TestAdminBrowserFlow(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	env := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	token, err := admin.PrepareSetup(ctx, env.store)
	if err != nil || token == "" {
		t.Fatalf("PrepareSetup = %q, %v", token, err)
	}
	const adminPassword = "admin password 1"
	const redirect = "http://127.0.0.1/rp/cb" // never loaded: see below

	// The administrator's browser.
	adm := newChrome(t, ctx, exe)
	adm.do("first-run setup",
		chromedp.Navigate(env.issuer+"/admin/setup?token="+url.QueryEscape(token)),
		chromedp.WaitVisible(byTestID("setup-form")),
		chromedp.SendKeys(byTestID("setup-username"), "root"),
		chromedp.SendKeys(byTestID("setup-email"), "root@example.org"),
		chromedp.SendKeys(byTestID("setup-password"), adminPassword),
		chromedp.SendKeys(byTestID("setup-password-confirm"), adminPassword),
		chromedp.Click(byTestID("setup-submit")),
		chromedp.WaitVisible(byTestID("dashboard-page")),
	)
	if u, err := env.store.UserByUsername(ctx, "root"); err != nil || !u.Superuser || !u.Active {
		t.Fatalf("setup made %+v, %v; want an active superuser", u, err)
	}
	// The admin signs out and back in through the same login page end
	// users see, and lands where they were going.
	adm.do("sign out, then sign in through the login page",
		chromedp.Click(byTestID("admin-logout")),
		chromedp.WaitVisible(byTestID("logout-done")),
		chromedp.Navigate(env.issuer+"/admin/clients"),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), "root"),
		chromedp.SendKeys(byTestID("password"), adminPassword),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("clients-page")),
	)

	adm.do("fill in the client form",
		chromedp.Navigate(env.issuer+"/admin/clients/new"),
		chromedp.WaitVisible(byTestID("client-form")),
		chromedp.SendKeys(byTestID("client-name-input"), "Browser RP"),
		chromedp.SendKeys(byTestID("client-redirect-uris"), redirect),
		screenshot(t, "admin-client-form"),
		chromedp.Click(byTestID("client-save")),
		chromedp.WaitVisible(byTestID("integration-panel")),
	)
	clientID := strings.TrimSpace(chromeRead(adm, "read client_id", chromedp.Text(byTestID("client-id"))))
	secret := chromeRead(adm, "read the one-time secret", chromedp.Value(byTestID("one-time-secret")))
	location := chromeRead(adm, "read the location", chromedp.Location())
	adm.do("screenshot the client page",
		screenshot(t, "admin-client-page"),
		screenshotOf(t, "admin-integration-panel", byTestID("integration-panel")))
	m := regexp.MustCompile(`/admin/clients/(\d+)$`).FindStringSubmatch(location)
	if clientID == "" || secret == "" || m == nil {
		t.Fatalf("client page: client_id %q, secret set %v, at %s", clientID, secret != "", location)
	}
	pk, _ := strconv.ParseUint(m[1], 10, 32)
	cl, err := env.store.ClientByClientID(ctx, clientID)
	if err != nil || cl.ID != uint(pk) || cl.Name != "Browser RP" {
		t.Fatalf("stored client %+v, %v; want Browser RP with id %d", cl, err, pk)
	}

	env.createUser("alice", "alice password 1", func(u *models.User) {
		u.Email, u.EmailVerified = "alice@example.org", true
	})

	// The relying party, with the credentials read off the admin page.
	provider, err := oidc.NewProvider(ctx, env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp := oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"},
	}
	verifier := oauth2.GenerateVerifier()
	state, nonce := "state-"+models.NewID(), "nonce-"+models.NewID()
	authURL := rp.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))

	// The end user's browser: its own profile, so no admin cookies. Fetch
	// interception holds the redirect back to the RP, which is read and
	// failed, so the browser never loads it.
	user := newChrome(t, ctx, exe)
	pattern := []*fetch.RequestPattern{{URLPattern: redirect + "*", RequestStage: fetch.RequestStageRequest}}
	if _, err := chromedp.Call(user.ctx, fetch.Enable, fetch.EnableParams{Patterns: pattern}); err != nil {
		t.Fatalf("enable fetch interception: %v", err)
	}
	user.do("log in and see the consent page",
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), "alice"),
		chromedp.SendKeys(byTestID("password"), "alice password 1"),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("consent-page")),
		screenshot(t, "consent"),
	)
	if name := chromeRead(user, "read the client name", chromedp.Text(byTestID("client-name"))); name != "Browser RP" {
		t.Errorf("consent page names %q, want Browser RP", name)
	}
	user.do("allow", chromedp.Click(byTestID("consent-allow")))
	var back *url.URL
	select {
	case p := <-user.paused:
		if _, err := chromedp.Call(user.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: p.id, ErrorReason: network.ErrorReasonAborted}); err != nil {
			t.Errorf("fail the held request: %v", err)
		}
		back, err = url.Parse(p.url)
		if err != nil {
			t.Fatalf("redirect %q: %v", p.url, err)
		}
	case <-ctx.Done():
		t.Fatalf("no redirect to %s after Allow: %v", redirect, ctx.Err())
	}
	q := back.Query()
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirect || q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("redirected to %s, want %s with state and a code", back, redirect)
	}

	tok, err := rp.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, rawID)
	if err != nil || idToken.Nonce != nonce {
		t.Fatalf("id token: %v, nonce %v", err, idToken)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Email != "alice@example.org" {
		t.Fatalf("userinfo: %+v, %v", info, err)
	}

	// The admin sees the token and revokes the consent; the token dies
	// with it.
	adm.do("open the client's tokens",
		chromedp.Navigate(fmt.Sprintf("%s/admin/tokens?client=%d", env.issuer, pk)),
		chromedp.WaitVisible(byTestID("token-row")),
		screenshot(t, "admin-tokens"),
	)
	rows := chromeRead(adm, "read the token rows",
		chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="token-row"]')).map(r => r.innerText)`))
	if len(rows) != 1 || !strings.Contains(rows[0], "alice") {
		t.Errorf("token rows = %q, want one for alice", rows)
	}
	adm.do("open the client's consents",
		chromedp.Navigate(fmt.Sprintf("%s/admin/consents?client=%d", env.issuer, pk)),
		chromedp.WaitVisible(byTestID("revoke-consent")),
		screenshot(t, "admin-consents"),
	)
	rows = chromeRead(adm, "read the consent rows",
		chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="consent-row"]')).map(r => r.innerText)`))
	if len(rows) != 1 || !strings.Contains(rows[0], "alice") || !strings.Contains(rows[0], "email") {
		t.Errorf("consent rows = %q, want one for alice with the email scope", rows)
	}
	adm.do("revoke the consent, through its confirmation",
		chromedp.Click(byTestID("revoke-consent")),
		chromedp.WaitVisible(byTestID("confirm-page")),
		chromedp.Click(byTestID("confirm-submit")),
		chromedp.WaitVisible(byTestID("flash-success")),
	)
	if n := chromeRead(adm, "count consent rows", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="consent-row"]').length`)); n != 0 {
		t.Errorf("%d consent rows after the revoke, want none", n)
	}
	adm.do("the dashboard after the flow",
		chromedp.Navigate(env.issuer+"/admin"),
		chromedp.WaitVisible(byTestID("dashboard-page")),
		screenshot(t, "admin-dashboard"),
		// The same page as a phone shows it: the sidebar becomes a row.
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.WaitVisible(byTestID("nav-clients")),
		screenshot(t, "admin-dashboard-phone"),
		chromedp.EmulateViewport(1280, 900),
	)
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("userinfo after the consent was revoked: %v, want 401", err)
	}

	// A hostile client name is text on the consent page and the admin list
	// (the CSP would stop an injected inline script, so the DOM is checked
	// too, not only for dialogs).
	const evil = `<script>alert(1)</script>`
	evilClient, _ := env.createClient(models.ClientConfidential, []string{redirect}, func(c *models.Client) { c.Name = evil })
	evilRP := oauth2.Config{ClientID: evilClient.ClientID, RedirectURL: redirect, Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID}}
	user.do("consent page with a hostile name",
		chromedp.Navigate(evilRP.AuthCodeURL("s2", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
		chromedp.WaitVisible(byTestID("consent-page")),
		screenshot(t, "consent-hostile-name"),
	)
	shown := chromeRead(user, "read the hostile name", chromedp.Text(byTestID("client-name")))
	scripts := chromeRead(user, "count scripts", chromedp.Evaluate[int](`document.querySelectorAll('main script').length`))
	if shown != evil || scripts != 0 {
		t.Errorf("consent page shows %q with %d script elements, want the name as text and none", shown, scripts)
	}
	adm.do("client list with a hostile name",
		chromedp.Navigate(env.issuer+"/admin/clients"),
		chromedp.WaitVisible(byTestID("clients-table")),
	)
	listed := chromeRead(adm, "read client names",
		chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="client-name"]')).map(a => a.textContent)`))
	scripts = chromeRead(adm, "count scripts", chromedp.Evaluate[int](`document.querySelectorAll('main script').length`))
	if !slices.Contains(listed, evil) || scripts != 0 {
		t.Errorf("client list names %q with %d script elements, want %q as text", listed, scripts, evil)
	}
	adm.wantNoDialogs()
	user.wantNoDialogs()
}
