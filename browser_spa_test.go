package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"

	"oidcd/models"
)

// spaPage is a single-page app as a browser client writes one: it reads
// the provider's discovery document with fetch, starts the code flow with
// PKCE (S256, made with WebCrypto), and on its redirect URI exchanges the
// code at /token and calls /userinfo with fetch, writing what it got into
// the page. /probe only calls /token (with a code that does not exist) and
// /userinfo, to show whether this origin may read their answers at all.
const spaPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPA</title></head>
<body><main data-testid="spa-page">
<p data-testid="spa-status">starting</p>
<pre data-testid="spa-result"></pre>
</main>
<script>
const cfg = CONFIG;
const redirectURI = location.origin + "/callback";
const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
function show(status, result) {
  document.querySelector('[data-testid="spa-result"]').textContent = JSON.stringify(result);
  const p = document.querySelector('[data-testid="spa-status"]');
  p.textContent = status;
  p.setAttribute("data-testid", "spa-" + status);
}
async function discover() {
  const r = await fetch(cfg.issuer + "/.well-known/openid-configuration");
  return r.json();
}
async function start() {
  const meta = await discover();
  const verifier = random(32), state = random(16), nonce = random(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem("flow", JSON.stringify({verifier, state, nonce}));
  const q = new URLSearchParams({client_id: cfg.clientID, redirect_uri: redirectURI, response_type: "code",
    scope: "openid email", state, nonce, code_challenge: b64url(new Uint8Array(digest)), code_challenge_method: "S256"});
  location.assign(meta.authorization_endpoint + "?" + q);
}
async function callback() {
  const meta = await discover();
  const q = new URLSearchParams(location.search);
  const flow = JSON.parse(sessionStorage.getItem("flow"));
  if (q.get("state") !== flow.state) throw new Error("state mismatch");
  if (q.get("error")) throw new Error("authorization error " + q.get("error"));
  const tr = await fetch(meta.token_endpoint, {method: "POST",
    headers: {"Content-Type": "application/x-www-form-urlencoded"},
    body: new URLSearchParams({grant_type: "authorization_code", code: q.get("code"), redirect_uri: redirectURI,
      client_id: cfg.clientID, code_verifier: flow.verifier})});
  const tok = await tr.json();
  const ur = await fetch(meta.userinfo_endpoint, {headers: {Authorization: "Bearer " + tok.access_token}});
  const info = await ur.json();
  show("done", {iss: q.get("iss"), nonce: flow.nonce, token_status: tr.status, id_token: tok.id_token || "",
    refresh: Boolean(tok.refresh_token), userinfo_status: ur.status, userinfo: info});
}
async function probe() {
  const out = {};
  try {
    const r = await fetch(cfg.issuer + "/token", {method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams({grant_type: "authorization_code", code: "no-such-code",
        redirect_uri: redirectURI, client_id: cfg.clientID, code_verifier: random(32)})});
    out.token = r.status + " " + (await r.json()).error;
  } catch (e) { out.token = "failed: " + e; }
  try {
    const r = await fetch(cfg.issuer + "/userinfo", {headers: {Authorization: "Bearer no-such-token"}});
    out.userinfo = String(r.status);
  } catch (e) { out.userinfo = "failed: " + e; }
  show("done", out);
}
const run = {"/app": start, "/callback": callback, "/probe": probe}[location.pathname];
run().catch((e) => show("error", {error: String(e)}));
</script>
</body></html>`

// spaServer serves spaPage for issuer and the client whose ID *clientID
// holds when a page is asked for.
func spaServer(issuer string, clientID *string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/app" && r.URL.Path != "/callback" && r.URL.Path != "/probe" {
			http.NotFound(w, r)
			return
		}
		cfg, _ := json.Marshal(map[string]string{"issuer": issuer, "clientID": *clientID})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(strings.Replace(spaPage, "CONFIG", string(cfg), 1)))
	})
}

// spaResult waits for the page to finish and decodes what it wrote.
func spaResult(t *testing.T, c *chrome, step string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	finished := chromedp.CSS(`[data-testid="spa-done"], [data-testid="spa-error"]`)
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(finished)); err != nil {
		t.Fatalf("%s: the page did not finish: %v", step, err)
	}
	if status := chromeRead(c, step, chromedp.Text(finished)); status != "done" {
		t.Fatalf("%s: the page says %s: %s", step, status, chromeRead(c, step, chromedp.Text(byTestID("spa-result"))))
	}
	raw := chromeRead(c, step, chromedp.Text(byTestID("spa-result")))
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("%s: result %q: %v", step, raw, err)
	}
	return out
}

// TestBrowserSPAPublicClient: a single-page app on another loopback origin
// (a public client registered with a redirect URI there) does the code
// flow with PKCE in headless chromium: to /authorize, through the real
// login and consent pages, back to the app, whose fetch calls to /token
// and /userinfo may read their answers (CORS for the client's origin).
// The same page on an origin no client is registered for may not: its
// fetch fails, and the page says so.
//
// Not parallel: it runs before the parallel tests, so its chromium does
// not compete with TestAdminBrowserFlow's for the CPU.
func TestBrowserSPAPublicClient(t *testing.T) {
	exe := chromiumPath(t)
	env := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var clientID string
	app := httptest.NewServer(spaServer(env.issuer, &clientID))
	t.Cleanup(app.Close)
	stranger := httptest.NewServer(spaServer(env.issuer, &clientID))
	t.Cleanup(stranger.Close)
	client, _ := env.createClient(models.ClientPublic, []string{app.URL + "/callback"}, func(c *models.Client) {
		c.Name = "Browser SPA"
		c.Scopes = []string{"openid", "email"}
	})
	clientID = client.ClientID
	const password = "alice password 1"
	alice := env.createUser("alice", password, func(u *models.User) { u.Email, u.EmailVerified = "alice@example.org", true })

	b := newChrome(t, ctx, exe)
	b.do("the app sends the browser to log in",
		chromedp.Navigate(app.URL+"/app"),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), "alice"),
		chromedp.SendKeys(byTestID("password"), password),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("consent-page")),
	)
	if name := chromeRead(b, "read the client name", chromedp.Text(byTestID("client-name"))); name != "Browser SPA" {
		t.Errorf("consent page names %q, want Browser SPA", name)
	}
	b.do("allow", chromedp.Click(byTestID("consent-allow")))
	got := spaResult(t, b, "the app exchanges the code and calls userinfo")
	if loc := chromeRead(b, "read the location", chromedp.Location()); !strings.HasPrefix(loc, app.URL+"/callback?") {
		t.Errorf("the browser is at %s, want back at the app's redirect URI", loc)
	}
	if got["iss"] != env.issuer {
		t.Errorf("iss in the authorization response = %v, want %s", got["iss"], env.issuer)
	}
	if got["token_status"] != float64(http.StatusOK) || got["userinfo_status"] != float64(http.StatusOK) {
		t.Fatalf("the app got token %v, userinfo %v, want 200 and 200: %v", got["token_status"], got["userinfo_status"], got)
	}
	info, _ := got["userinfo"].(map[string]any)
	if info["sub"] != alice.Subject || info["email"] != "alice@example.org" {
		t.Errorf("userinfo = %v, want sub %s and alice's email", info, alice.Subject)
	}
	provider, err := oidc.NewProvider(ctx, env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rawID, _ := got["id_token"].(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: client.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("the app's id_token does not verify: %v", err)
	}
	if idToken.Subject != alice.Subject || idToken.Nonce != got["nonce"] {
		t.Errorf("id_token sub %q nonce %q, want %s and the app's nonce %v", idToken.Subject, idToken.Nonce, alice.Subject, got["nonce"])
	}

	// The registered origin reads /token's errors too; an origin no
	// client is registered for reads nothing: fetch fails.
	b.do("probe from the app's origin", chromedp.Navigate(app.URL+"/probe"))
	if got := spaResult(t, b, "probe from the app's origin"); got["token"] != "400 invalid_grant" {
		t.Errorf("/token from the client's origin: %v, want the 400 invalid_grant answer readable", got["token"])
	}
	b.do("probe from an unregistered origin", chromedp.Navigate(stranger.URL+"/probe"))
	got = spaResult(t, b, "probe from an unregistered origin")
	for _, endpoint := range []string{"token", "userinfo"} {
		if s, _ := got[endpoint].(string); !strings.HasPrefix(s, "failed: TypeError") {
			t.Errorf("%s from an unregistered origin: %v, want the fetch to fail (no CORS header)", endpoint, got[endpoint])
		}
	}
	b.do("screenshot", screenshot(t, "spa-unregistered-origin"))
	b.wantNoDialogs()
}
