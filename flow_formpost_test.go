package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

var formActionRE = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]*)"`)

// wantFormPost checks p is a form_post response page (OAuth 2.0 Form Post
// Response Mode §2) whose form goes to action, and returns its fields.
// The page carries codes and tokens: never cached, and its CSP lets the
// form post to the redirect URI only and runs no inline script.
func (r *rig) wantFormPost(t *testing.T, p page, action string) url.Values {
	t.Helper()
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="form-post-page"`) {
		t.Fatalf("got %d at %s, want the form_post page:\n%.500s", p.status, p.url, p.body)
	}
	m := formActionRE.FindStringSubmatch(p.body)
	if m == nil || html.UnescapeString(m[1]) != action {
		t.Errorf("form action = %q, want %q", m, action)
	}
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := p.header.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
	csp := p.header.Get("Content-Security-Policy")
	u, _ := url.Parse(action)
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'",
		"form-action " + u.Scheme + "://" + u.Host + u.Path + ";"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q, want it to contain %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q, want nothing unsafe", csp)
	}
	if n := strings.Count(p.body, "<script"); n != 1 || !strings.Contains(p.body, `<script src="/static/formpost.js"`) {
		t.Errorf("page has %d script elements, want only /static/formpost.js", n)
	}
	if !strings.Contains(p.body, `data-testid="form-post-continue"`) {
		t.Errorf("no Continue button for a browser without JavaScript")
	}
	if got := p.header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q, want no-referrer", got)
	}
	return hiddenFields(p.body)
}

// TestFormPostResponses: every response type answers by form_post when
// asked, through the consent page and without it, and what is posted
// works: the code exchanges, the access token reads /userinfo.
func TestFormPostResponses(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	conf, confSecret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = oauth.ResponseTypes })
	r.keep(confSecret)
	withQuery := "http://127.0.0.1/cb/q?x=1&y=two"
	queried, secret := r.env.createClient(models.ClientConfidential, []string{withQuery}, func(c *models.Client) {
		c.ResponseTypes = oauth.ResponseTypes
		c.RequireConsent = false
	})
	r.keep(secret)
	b := r.env.browser()
	for _, rt := range oauth.ResponseTypes {
		t.Run(rt, func(t *testing.T) {
			v := frontChannelParams(conf, rt)
			v.Set("response_mode", "form_post")
			v.Set("prompt", "consent")
			p := b.get("/authorize?" + v.Encode())
			if isLoginPage(p) {
				p = b.submitLogin(p, testUser, testPassword)
			}
			f := r.wantFormPost(t, b.decide(p, "allow"), cbURI)
			if f.Get("state") != "st-front" || f.Get("iss") != r.env.issuer {
				t.Errorf("state, iss = %q, %q; want st-front, %s", f.Get("state"), f.Get("iss"), r.env.issuer)
			}
			for param, value := range map[string]string{"code": "code", "access_token": "token", "id_token": "id_token"} {
				if want := oauth.ResponseTypeHas(rt, value); f.Has(param) != want {
					t.Errorf("%s posted: %v, want %v", param, f.Has(param), want)
				}
				r.keep(f.Get(param))
			}
			if f.Has("code") {
				resp, body := r.postToken(r.codeForm(conf, confSecret, f.Get("code")))
				if resp.StatusCode != http.StatusOK {
					t.Errorf("exchange the posted code: %d %v", resp.StatusCode, body)
				}
			}
			if f.Has("access_token") {
				req, _ := http.NewRequest(http.MethodGet, r.env.issuer+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+f.Get("access_token"))
				if resp, body := doJSON(t, req); resp.StatusCode != http.StatusOK || body["sub"] != r.user.Subject {
					t.Errorf("userinfo with the posted token: %d %v", resp.StatusCode, body)
				}
			}
		})
	}
	// A registered redirect URI's query stays in the action; the CSP
	// names its path, which is all a source expression can hold.
	t.Run("redirect URI with a query, no consent page", func(t *testing.T) {
		v := frontChannelParams(queried, "code id_token")
		v.Set("redirect_uri", withQuery)
		v.Set("response_mode", "form_post")
		f := r.wantFormPost(t, b.get("/authorize?"+v.Encode()), withQuery)
		if !f.Has("code") || !f.Has("id_token") || f.Has("x") {
			t.Errorf("posted fields %v, want code and id_token, not the redirect URI's query", f)
		}
		r.keep(f.Get("code"), f.Get("id_token"))
	})
}

// formPostRP is a relying party on its own loopback origin: it receives
// the form_post and shows what came.
type formPostRP struct {
	srv      *httptest.Server
	received chan url.Values
}

func newFormPostRP(t *testing.T) *formPostRP {
	rp := &formPostRP{received: make(chan url.Values, 4)}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/cb" {
			http.NotFound(w, req)
			return
		}
		if err := req.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		rp.received <- req.PostForm
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>RP</title><ul data-testid="rp-received">`)
		for k := range req.PostForm {
			fmt.Fprintf(w, `<li data-param="%s">%s</li>`, html.EscapeString(k), html.EscapeString(k))
		}
		io.WriteString(w, `</ul>`)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

// TestFormPostInBrowser: in headless chromium, the form_post page
// returns a hybrid response to an RP on another origin, by itself with
// JavaScript and with a press on Continue without it. The RP verifies
// the ID token and exchanges the code.
func TestFormPostInBrowser(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	env := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env.createUser("alice", "alice password 1")
	rpSrv := newFormPostRP(t)
	redirect := rpSrv.srv.URL + "/cb"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect}, func(c *models.Client) { c.ResponseTypes = oauth.ResponseTypes })
	provider, err := oidc.NewProvider(ctx, env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp := oauth2.Config{ClientID: client.ClientID, ClientSecret: secret, RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID}}
	verifier := provider.Verifier(&oidc.Config{ClientID: client.ClientID})

	for _, js := range []bool{true, false} {
		name := "with JavaScript"
		if !js {
			name = "without JavaScript"
		}
		t.Run(name, func(t *testing.T) {
			c := newChrome(t, ctx, exe)
			if !js {
				if _, err := chromedp.Call(c.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
					t.Fatalf("disable JavaScript: %v", err)
				}
			}
			state, nonce := "st-"+models.NewID(), "n-"+models.NewID()
			authURL := rp.AuthCodeURL(state, oidc.Nonce(nonce),
				oauth2.SetAuthURLParam("response_type", "code id_token"), oauth2.SetAuthURLParam("response_mode", "form_post"),
				// Both runs through the consent page: the second would
				// otherwise reuse the first's consent.
				oauth2.SetAuthURLParam("prompt", "consent"))
			c.do("sign in and allow",
				chromedp.Navigate(authURL),
				chromedp.WaitVisible(byTestID("login-form")),
				chromedp.SendKeys(byTestID("username"), "alice"),
				chromedp.SendKeys(byTestID("password"), "alice password 1"),
				chromedp.Click(byTestID("login-submit")),
				chromedp.WaitVisible(byTestID("consent-page")),
				chromedp.Click(byTestID("consent-allow")),
			)
			if !js {
				c.do("press Continue",
					chromedp.WaitVisible(byTestID("form-post-continue")),
					screenshot(t, "form-post-no-js"),
					chromedp.Click(byTestID("form-post-continue")),
				)
			}
			c.do("the RP shows what it received", chromedp.WaitVisible(byTestID("rp-received")))
			var got url.Values
			select {
			case got = <-rpSrv.received:
			case <-ctx.Done():
				t.Fatalf("the RP received nothing: %v", ctx.Err())
			}
			if loc := chromeRead(c, "location", chromedp.Location()); loc != redirect {
				t.Errorf("browser at %s, want the RP's %s", loc, redirect)
			}
			if got.Get("state") != state || got.Get("iss") != env.issuer || got.Get("code") == "" {
				t.Fatalf("posted %v, want state %s, iss and a code", got, state)
			}
			idt, err := verifier.Verify(ctx, got.Get("id_token"))
			if err != nil || idt.Nonce != nonce {
				t.Fatalf("posted id token: %v (nonce %v)", err, idt)
			}
			var claims struct {
				CHash string `json:"c_hash"`
			}
			if err := idt.Claims(&claims); err != nil || claims.CHash != leftHalfHash("RS256", got.Get("code")) {
				t.Errorf("c_hash = %q, want %q", claims.CHash, leftHalfHash("RS256", got.Get("code")))
			}
			tok, err := rp.Exchange(ctx, got.Get("code"))
			if err != nil {
				t.Fatalf("exchange the posted code: %v", err)
			}
			if raw, _ := tok.Extra("id_token").(string); raw == "" {
				t.Errorf("no id token from the exchange")
			} else if back, err := verifier.Verify(ctx, raw); err != nil || back.Subject != idt.Subject {
				t.Errorf("exchanged id token: %v, want sub %s", err, idt.Subject)
			}
			c.wantNoDialogs()
		})
	}
}
