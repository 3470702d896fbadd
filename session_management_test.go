package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// OpenID Session Management 1.0 (OIDC_SESSION_MANAGEMENT_ENABLE):
// session_state in authorization responses, the browser-state cookie,
// discovery and the check_session_iframe, in a real browser too.

const sessionManagementOn = "OIDC_SESSION_MANAGEMENT_ENABLE"

// browserStateOf is the browser-state cookie b holds for the OP.
func browserStateOf(t *testing.T, b *browser) string {
	t.Helper()
	u, _ := url.Parse(b.env.issuer)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "oidcd_browser_state" {
			return c.Value
		}
	}
	return ""
}

// wantSessionState checks session_state is Session Management §3's hash
// of client_id, the redirect URI's origin, the browser state and its salt.
func wantSessionState(t *testing.T, got, clientID, origin, browserState string) {
	t.Helper()
	dot := strings.LastIndex(got, ".")
	if dot < 0 || browserState == "" {
		t.Fatalf("session_state = %q (browser state %q), want hash.salt and a browser state", got, browserState)
	}
	salt := got[dot+1:]
	sum := sha256.Sum256([]byte(clientID + " " + origin + " " + browserState + " " + salt))
	if want := hex.EncodeToString(sum[:]) + "." + salt; got != want || salt == "" {
		t.Fatalf("session_state = %q, want %q", got, want)
	}
}

// responseParams runs one authorization request of rt in mode for a
// signed-in browser whose client needs no consent, and returns the
// response's parameters wherever they came.
func responseParams(t *testing.T, r *rig, b *browser, client *models.Client, rt, mode string) url.Values {
	t.Helper()
	v := frontChannelParams(client, rt)
	v.Set("response_mode", mode)
	p := b.get("/authorize?" + v.Encode())
	switch mode {
	case oauth.ModeFormPost:
		return r.wantFormPost(t, p, cbURI)
	case oauth.ModeFragment:
		return fragmentOf(t, p)
	}
	return wantRedirectTo(t, p, cbURI).Query()
}

// fragmentOf checks p is a 302 to cbURI with a fragment and returns its
// parameters.
func fragmentOf(t *testing.T, p page) url.Values {
	t.Helper()
	loc := p.location()
	if p.status != http.StatusFound || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != cbURI || loc.Fragment == "" {
		t.Fatalf("got %d to %v, want a 302 to %s with a fragment", p.status, loc, cbURI)
	}
	frag, err := url.ParseQuery(loc.Fragment)
	if err != nil {
		t.Fatal(err)
	}
	return frag
}

func TestSessionStateInResponses(t *testing.T) {
	t.Parallel()
	cases := []struct{ rt, mode string }{
		{"code", oauth.ModeQuery},
		{"code", oauth.ModeFragment},
		{"code", oauth.ModeFormPost},
		{"id_token", oauth.ModeFragment},
		{"id_token token", oauth.ModeFormPost},
		{"code id_token", oauth.ModeFragment},
		{"code id_token token", oauth.ModeQuery},
	}
	for _, enabled := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[enabled], func(t *testing.T) {
			t.Parallel()
			var vars []string
			if enabled {
				vars = []string{sessionManagementOn, "true"}
			}
			r := newRig(t, vars...)
			client, secret := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) {
				c.ResponseTypes = oauth.ResponseTypes
				c.RequireConsent = false
			})
			r.keep(secret)
			b := r.env.browser()
			r.login(b)
			for _, tc := range cases {
				if tc.mode == oauth.ModeQuery && (strings.Contains(tc.rt, "token") || strings.Contains(tc.rt, "id_token")) {
					continue // query is refused for these (OAuth 2.0 Multiple Response Types §5)
				}
				got := responseParams(t, r, b, client, tc.rt, tc.mode)
				if got.Has("error") {
					t.Fatalf("%s %s: error %s", tc.rt, tc.mode, got.Get("error_description"))
				}
				if !enabled {
					if got.Has("session_state") {
						t.Errorf("%s %s: session_state %q with session management off", tc.rt, tc.mode, got.Get("session_state"))
					}
					continue
				}
				wantSessionState(t, got.Get("session_state"), client.ClientID, "http://127.0.0.1", browserStateOf(t, b))
			}
			if enabled {
				return
			}
			if bs := browserStateOf(t, b); bs != "" {
				t.Errorf("browser-state cookie %q with session management off", bs)
			}
		})
	}
}

// The browser state changes at every sign-in and sign-out, and only then.
func TestBrowserStateChanges(t *testing.T) {
	t.Parallel()
	r := newRig(t, sessionManagementOn, "true")
	client, _ := r.env.createClient(models.ClientPublic, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = oauth.ResponseTypes })
	b := r.env.browser()
	r.login(b)
	first := browserStateOf(t, b)
	if first == "" {
		t.Fatal("no browser-state cookie after sign-in")
	}
	u, _ := url.Parse(r.env.issuer)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "oidcd_browser_state" && c.Value != first {
			t.Fatal("two browser-state cookies")
		}
	}
	// Consent and a response change nothing.
	p := b.get("/authorize?" + frontChannelParams(client, "id_token").Encode())
	p = b.decide(p, "allow")
	frag := fragmentOf(t, p)
	wantSessionState(t, frag.Get("session_state"), client.ClientID, "http://127.0.0.1", first)
	if got := browserStateOf(t, b); got != first {
		t.Fatalf("browser state changed from %q to %q without a sign-in or sign-out", first, got)
	}
	f := hiddenFields(b.get("/logout").body)
	b.post("/logout", url.Values{"_csrf": {f.Get("_csrf")}})
	out := browserStateOf(t, b)
	if out == "" || out == first {
		t.Fatalf("browser state after sign-out = %q, want a new value (was %q)", out, first)
	}
	r.login(b)
	if in := browserStateOf(t, b); in == "" || in == out || in == first {
		t.Fatalf("browser state after sign-in = %q, want a new value", in)
	}
}

func TestCheckSessionIframeDiscoveryAndHeaders(t *testing.T) {
	t.Parallel()
	for _, enabled := range []bool{false, true} {
		var vars []string
		if enabled {
			vars = []string{sessionManagementOn, "true"}
		}
		env := newTestEnv(t, vars...)
		resp, err := http.Get(env.issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&meta)
		resp.Body.Close()
		got, has := meta["check_session_iframe"]
		iframe, err := http.Get(env.issuer + "/check-session-iframe")
		if err != nil {
			t.Fatal(err)
		}
		iframe.Body.Close()
		if !enabled {
			if has {
				t.Errorf("off: discovery advertises check_session_iframe %v", got)
			}
			if iframe.StatusCode != http.StatusNotFound {
				t.Errorf("off: /check-session-iframe answers %d, want 404", iframe.StatusCode)
			}
			continue
		}
		if got != env.issuer+"/check-session-iframe" {
			t.Errorf("on: check_session_iframe = %v, want %s", got, env.issuer+"/check-session-iframe")
		}
		if iframe.StatusCode != http.StatusOK {
			t.Fatalf("on: /check-session-iframe answers %d", iframe.StatusCode)
		}
		// This page alone may be framed; every other keeps DENY.
		csp := iframe.Header.Get("Content-Security-Policy")
		if xfo := iframe.Header.Get("X-Frame-Options"); xfo != "" || !strings.Contains(csp, "frame-ancestors *") ||
			!strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("iframe headers X-Frame-Options %q, CSP %q, want framable by any origin and no unsafe script", xfo, csp)
		}
		login, err := http.Get(env.issuer + "/login")
		if err != nil {
			t.Fatal(err)
		}
		login.Body.Close()
		if login.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(login.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("/login may be framed: %v", login.Header)
		}
	}
}

// rpSessionPage is a relying party's page that frames the OP's
// check_session_iframe and exposes check(message), which posts message to
// it and resolves with the answer.
const rpSessionPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>RP</title></head><body>
<iframe id="op" src="ISSUER/check-session-iframe"></iframe>
<script>
const frame = document.getElementById("op");
const ready = new Promise((resolve) => frame.addEventListener("load", resolve));
window.check = async (message) => {
  await ready;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("no answer"), 5000);
    window.addEventListener("message", function on(e) {
      if (e.origin !== "ISSUER" || e.source !== frame.contentWindow) return;
      window.removeEventListener("message", on);
      clearTimeout(timer);
      resolve(e.data);
    });
    frame.contentWindow.postMessage(message, "ISSUER");
  });
};
</script>
<p data-testid="rp-page">RP</p>
</body></html>`

// TestCheckSessionIframeInChromium: a relying party on another loopback
// origin gets session_state through a real login, frames the
// check_session_iframe and asks it: "unchanged" while the login lasts;
// "changed" after the user signs out, after another user signs in, and
// for the same session_state asked from an origin it was not issued for;
// "error" for a malformed message.
func TestCheckSessionIframeInChromium(t *testing.T) {
	exe := chromiumPath(t)
	env := newTestEnv(t, sessionManagementOn, "true")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	serve := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(strings.ReplaceAll(rpSessionPage, "ISSUER", env.issuer)))
	}
	rp := httptest.NewServer(http.HandlerFunc(serve))
	t.Cleanup(rp.Close)
	other := httptest.NewServer(http.HandlerFunc(serve))
	t.Cleanup(other.Close)
	client, _ := env.createClient(models.ClientPublic, []string{rp.URL + "/cb"}, func(c *models.Client) {
		c.ResponseTypes = []string{"id_token"}
		c.Scopes = []string{"openid"}
	})
	const password = "alice password 1"
	env.createUser("alice", password)
	env.createUser("bob", "bob password 1")

	b := newChrome(t, ctx, exe)
	authorize := func(step, user, pw string) string {
		t.Helper()
		v := url.Values{"client_id": {client.ClientID}, "redirect_uri": {rp.URL + "/cb"}, "response_type": {"id_token"},
			"scope": {"openid"}, "nonce": {"n"}, "state": {"s"}, "prompt": {"login"}}
		b.do(step,
			chromedp.Navigate(env.issuer+"/authorize?"+v.Encode()),
			chromedp.WaitVisible(byTestID("login-form")),
			chromedp.SendKeys(byTestID("username"), user),
			chromedp.SendKeys(byTestID("password"), pw),
			chromedp.Click(byTestID("login-submit")),
			chromedp.WaitVisible(byTestID("consent-page")),
			chromedp.Click(byTestID("consent-allow")),
			chromedp.WaitVisible(byTestID("rp-page")),
		)
		loc, err := url.Parse(chromeRead(b, "read the location", chromedp.Location()))
		if err != nil {
			t.Fatal(err)
		}
		frag, _ := url.ParseQuery(loc.Fragment)
		if frag.Get("id_token") == "" || frag.Get("session_state") == "" {
			t.Fatalf("%s: response %s, want an id_token and session_state", step, loc)
		}
		return frag.Get("session_state")
	}
	check := func(origin, message, want string) {
		t.Helper()
		b.do("open the RP page on "+origin, chromedp.Navigate(origin+"/rp"), chromedp.WaitVisible(byTestID("rp-page")))
		enc, _ := json.Marshal(message)
		got := chromeRead(b, "ask the iframe", chromedp.Evaluate[string](`window.check(`+string(enc)+`)`, chromedp.EvalAwaitPromise))
		if got != want {
			t.Errorf("from %s, %q: the iframe answers %q, want %q", origin, message, got, want)
		}
	}

	state := authorize("alice signs in at the RP", "alice", password)
	check(rp.URL, client.ClientID+" "+state, "unchanged")
	check(rp.URL, client.ClientID+" "+state, "unchanged") // asking changes nothing
	check(other.URL, client.ClientID+" "+state, "changed")
	check(rp.URL, "another-client "+state, "changed")
	check(rp.URL, "garbage", "error")
	check(rp.URL, client.ClientID+" nodot", "error")

	// alice signs out at the OP.
	b.do("sign out",
		chromedp.Navigate(env.issuer+"/logout"),
		chromedp.WaitVisible(byTestID("logout-submit")),
		chromedp.Click(byTestID("logout-submit")),
		chromedp.WaitVisible(byTestID("logout-done")),
	)
	check(rp.URL, client.ClientID+" "+state, "changed")

	// Signed in again, the new session_state is unchanged; bob signing in
	// on the same browser changes it.
	state = authorize("alice signs in again", "alice", password)
	check(rp.URL, client.ClientID+" "+state, "unchanged")
	authorize("bob signs in", "bob", "bob password 1")
	check(rp.URL, client.ClientID+" "+state, "changed")
	b.do("screenshot", screenshot(t, "check-session-iframe"))
	b.wantNoDialogs()
}
