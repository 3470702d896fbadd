package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"oidcd/models"
)

// Issue 11's small defects, as a browser sees them over HTTP: the icon,
// the pages with no way forward, the skip link and the icon's link in both
// layouts.

func TestFaviconServed(t *testing.T) {
	env := newTestEnv(t)
	for _, path := range []string{"/favicon.ico", "/static/favicon.svg"} {
		resp, err := http.Get(env.issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(body), "<svg") {
			t.Errorf("GET %s: %d %q %.40q, want 200 image/svg+xml with the icon", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

func TestLayoutsLinkIconAndSkipToMain(t *testing.T) {
	env := newTestEnv(t)
	admin := env.signInAdmin()
	for _, tt := range []struct {
		name string
		b    *browser
		path string
	}{
		{"end-user login", env.browser(), "/login"},
		{"end-user home", env.browser(), "/"},
		{"end-user error", env.browser(), "/no-such-page"},
		{"admin dashboard", admin, "/admin"},
		{"admin clients", admin, "/admin/clients"},
	} {
		p := tt.b.get(tt.path)
		if !strings.Contains(p.body, `<link rel="icon" href="/static/favicon.svg"`) {
			t.Errorf("%s: no icon link", tt.name)
		}
		// The skip link is the first focusable element: the first <a, <button,
		// <input (not hidden), <select or <textarea of the body.
		body := p.body[strings.Index(p.body, "<body"):]
		skip := strings.Index(body, `data-testid="skip-link"`)
		if skip < 0 {
			t.Errorf("%s: no skip link", tt.name)
			continue
		}
		first := strings.Index(body, "<a ")
		for _, tag := range []string{"<button", "<select", "<textarea", `<input type="text"`, `<input type="password"`} {
			if i := strings.Index(body, tag); i >= 0 && i < first {
				first = i
			}
		}
		if first < 0 || !strings.Contains(body[first:skip], `href="#main"`) || strings.Contains(body[first+1:skip], "<a ") {
			t.Errorf("%s: the skip link is not the first focusable element pointing at #main", tt.name)
		}
		if strings.Count(p.body, `<main id="main"`)+strings.Count(p.body, `id="main" tabindex="-1"`) != 1 {
			t.Errorf("%s: want exactly one main element with id main", tt.name)
		}
	}
}

func TestNotFoundPageIsHumanWithAWayHome(t *testing.T) {
	env := newTestEnv(t)
	admin := env.signInAdmin()
	for _, tt := range []struct {
		b         *browser
		path      string
		wantAdmin bool
	}{
		{env.browser(), "/no-such-page", false},
		{env.browser(), "/static/no-such-file.css", false},
		{admin, "/admin/no-such-section", true},
	} {
		p := tt.b.get(tt.path)
		if p.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", tt.path, p.status)
		}
		if got := testIDText(p.body, "error-message"); strings.Contains(got, "request could not be served") || !strings.Contains(got, "no page at this address") {
			t.Errorf("GET %s: message %q, want words for a person", tt.path, got)
		}
		links := testIDText(p.body, "error-links")
		if !strings.Contains(p.body, `<a href="/">`) {
			t.Errorf("GET %s: no link home in %q", tt.path, links)
		}
		if got := strings.Contains(p.body, `<a href="/admin">`); got != tt.wantAdmin {
			t.Errorf("GET %s: link to /admin %v, want %v", tt.path, got, tt.wantAdmin)
		}
	}
	// Machines still get JSON.
	resp, err := http.Get(env.issuer + "/no-such-page")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"not_found"`) {
		t.Errorf("JSON 404: %d %s", resp.StatusCode, body)
	}
}

func TestUnknownClientPageSaysWhatToDo(t *testing.T) {
	r := newRig(t)
	v := r.authParams(r.conf)
	v.Set("client_id", "no-such-client")
	for _, p := range []page{
		r.env.browser().get("/authorize?" + v.Encode()),
		r.env.browser().post("/authorize", v),
	} {
		if p.status != http.StatusBadRequest {
			t.Errorf("status %d, want 400", p.status)
		}
		if hint := testIDText(p.body, "error-hint"); !strings.Contains(hint, "developer") || !strings.Contains(hint, "return to the app") {
			t.Errorf("hint %q, want the next step (tell the app's developer)", hint)
		}
		if !strings.Contains(p.body, `<a href="/">`) {
			t.Errorf("no link home on the unknown-client page")
		}
	}
}

// TestBrowserSecretFieldFocusAndSkipLink checks in a real browser what
// the markup cannot show: the keyboard's first stop is the skip link, with
// a clear ring, and the one-time secret field is tall enough for the
// descenders of its monospace font (underscores looked like spaces).
func TestBrowserSecretFieldFocusAndSkipLink(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	env := newTestEnv(t)
	env.createUser("root", "admin password 1", func(u *models.User) { u.Superuser = true })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newChrome(t, ctx, exe)

	c.do("open a page with no autofocus and press Tab",
		chromedp.Navigate(env.issuer+"/no-such-page"),
		chromedp.WaitVisible(byTestID("error-page")),
		chromedp.KeyEvent(kb.Tab),
	)
	type ring struct {
		TestID, Style string
		Width, Left   float64
	}
	focus := chromeRead(c, "read the focused element", chromedp.Evaluate[ring](`(() => {
		const a = document.activeElement, s = getComputedStyle(a);
		return {TestID: a.getAttribute('data-testid') || a.tagName, Style: s.outlineStyle,
			Width: parseFloat(s.outlineWidth), Left: a.getBoundingClientRect().left};
	})()`))
	if focus.TestID != "skip-link" || focus.Style == "none" || focus.Width < 2 || focus.Left < 0 {
		t.Errorf("first Tab focuses %+v, want the skip link, on screen, with an outline of at least 2px", focus)
	}

	c.do("sign in and add a confidential client",
		chromedp.Navigate(env.issuer+"/admin/clients/new"),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), "root"),
		chromedp.SendKeys(byTestID("password"), "admin password 1"),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("client-form")),
		chromedp.SendKeys(byTestID("client-name-input"), "Secret RP"),
		chromedp.SendKeys(byTestID("client-redirect-uris"), "http://127.0.0.1/rp/cb"),
		chromedp.Click(byTestID("client-save")),
		chromedp.WaitVisible(byTestID("one-time-secret")),
	)
	type box struct {
		LineHeight, FontSize       float64
		ScrollHeight, ClientHeight int
	}
	b := chromeRead(c, "measure the secret field", chromedp.Evaluate[box](`(() => {
		const f = document.querySelector('[data-testid="one-time-secret"]'), s = getComputedStyle(f);
		f.value = '____' + f.value + '____';
		return {LineHeight: parseFloat(s.lineHeight), FontSize: parseFloat(s.fontSize),
			ScrollHeight: f.scrollHeight, ClientHeight: f.clientHeight};
	})()`))
	if b.LineHeight < 1.2*b.FontSize || b.ScrollHeight > b.ClientHeight {
		t.Errorf("secret field %+v: want a line height of at least 1.2 × the font size and no clipped content", b)
	}
	c.wantNoDialogs()
}
