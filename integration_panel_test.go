package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/models"
)

// panelClient creates a client of clientType through the admin form with
// the given redirect URIs, and returns the client page (the panel) with
// the stored client and its one-time secret ("" for a public client).
func panelClient(t *testing.T, env *testEnv, b *browser, clientType string, redirectURIs ...string) (page, *models.Client, string) {
	t.Helper()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	form := clientFields("Panel "+clientType, strings.Join(redirectURIs, "\n"))
	form.Set("_csrf", csrf)
	form.Set("client_type", clientType)
	p := b.postMultipart("/admin/clients", form, nil)
	cl, err := env.store.ClientByID(context.Background(), clientPK(t, p))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return p, cl, oneTimeSecret(p.body)
}

// goSnippet is what the panel's go-oidc program says: its constants, the
// scopes in its oauth2.Config, whether it reads CLIENT_SECRET, the path
// of its callback handler and the address it listens on, all read from
// the parsed Go source.
type goSnippet struct {
	consts     map[string]string
	scopes     []string
	secretEnv  bool
	handlers   []string
	listenAddr string
}

func parseGoSnippet(t *testing.T, src string) goSnippet {
	t.Helper()
	if formatted, err := format.Source([]byte(src)); err != nil || string(formatted) != src {
		t.Errorf("the go-oidc snippet is not gofmt'ed Go (%v):\n%s", err, src)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
	if err != nil {
		t.Fatalf("parse the go-oidc snippet: %v\n%s", err, src)
	}
	str := func(e ast.Expr) string {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Fatalf("want a string literal, got %T in\n%s", e, src)
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatalf("unquote %s: %v", lit.Value, err)
		}
		return s
	}
	g := goSnippet{consts: map[string]string{}}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if i < len(n.Values) {
					g.consts[name.Name] = str(n.Values[i])
				}
			}
		case *ast.KeyValueExpr:
			switch key, _ := n.Key.(*ast.Ident); {
			case key == nil:
			case key.Name == "Scopes":
				for _, e := range n.Value.(*ast.CompositeLit).Elts {
					g.scopes = append(g.scopes, str(e))
				}
			case key.Name == "ClientSecret":
				call, ok := n.Value.(*ast.CallExpr)
				g.secretEnv = ok && len(call.Args) == 1 && str(call.Args[0]) == "CLIENT_SECRET"
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch pkg.Name + "." + sel.Sel.Name {
			case "http.HandleFunc":
				g.handlers = append(g.handlers, str(n.Args[0]))
			case "http.ListenAndServe":
				g.listenAddr = str(n.Args[0])
			}
		}
		return true
	})
	return g
}

// TestIntegrationPanelGoOIDC reads the go-oidc program the panel prints
// for a confidential and a public client, checks that it is gofmt'ed Go,
// and does what it does with the values it holds (parsed from its source,
// not written here): discovery with go-oidc, the code flow with PKCE and
// a nonce through oidcd's login and consent, the exchange (with the
// secret from CLIENT_SECRET, or none), and the ID token's verification.
func TestIntegrationPanelGoOIDC(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	alice := env.createUser("alice", userPassword)
	for _, clientType := range []string{models.ClientConfidential, models.ClientPublic} {
		t.Run(clientType, func(t *testing.T) {
			appAddr := freeLoopbackAddr(t)
			redirect := "http://" + appAddr + "/auth/callback?from=panel"
			p, cl, secret := panelClient(t, env, b, clientType, redirect)
			src := testIDText(p.body, "int-go-oidc")
			if src == "" {
				t.Fatalf("no go-oidc snippet on the client page:\n%s", p.body)
			}
			g := parseGoSnippet(t, src)
			if g.consts["issuer"] != env.issuer || g.consts["clientID"] != cl.ClientID || g.consts["redirectURL"] != redirect {
				t.Errorf("snippet constants %v, want the issuer %s, client_id %s and redirect URI %s", g.consts, env.issuer, cl.ClientID, redirect)
			}
			if !slices.Equal(g.scopes, cl.Scopes) {
				t.Errorf("snippet scopes %v, want the client's %v", g.scopes, cl.Scopes)
			}
			if want := clientType == models.ClientConfidential; g.secretEnv != want {
				t.Errorf("snippet reads CLIENT_SECRET: %v, want %v", g.secretEnv, want)
			}
			if !slices.Equal(g.handlers, []string{"/login", "/auth/callback"}) || g.listenAddr != appAddr {
				t.Errorf("snippet serves %v on %q, want /login and the redirect URI's path on its loopback address", g.handlers, g.listenAddr)
			}
			if strings.Contains(src, secret) && secret != "" {
				t.Errorf("the snippet holds the one-time secret")
			}

			ctx := context.Background()
			provider, err := oidc.NewProvider(ctx, g.consts["issuer"])
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			config := oauth2.Config{
				ClientID: g.consts["clientID"], RedirectURL: g.consts["redirectURL"],
				Endpoint: provider.Endpoint(), Scopes: g.scopes,
			}
			if g.secretEnv {
				config.ClientSecret = secret // what CLIENT_SECRET holds
			}
			state, nonce, pkce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
			back := env.browser().authorize(config.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)), "alice", userPassword, "allow")
			if back.Path != "/auth/callback" || back.Query().Get("state") != state {
				t.Fatalf("came back to %s, want the snippet's callback with its state", back)
			}
			tok, err := config.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			rawID, _ := tok.Extra("id_token").(string)
			id, err := provider.Verifier(&oidc.Config{ClientID: g.consts["clientID"]}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("verify the ID token: %v", err)
			}
			if id.Nonce != nonce || id.Subject != alice.Subject {
				t.Errorf("ID token nonce %q, sub %q; want %q and alice's %q", id.Nonce, id.Subject, nonce, alice.Subject)
			}

			// The program itself, built against this module's go-oidc and
			// x/oauth2 and run: its /login sends the user to us, and its
			// callback says who signed in.
			app := buildGoSnippet(t, src)
			stop := startRP(t, exec.Command(app), []string{"CLIENT_SECRET=" + secret}, "http://"+appAddr+"/auth/callback")
			defer stop()
			u := followingBrowser(env)
			lp := u.get("http://" + appAddr + "/login")
			lp = u.submitLogin(lp, "alice", userPassword)
			if strings.Contains(lp.body, `data-testid="consent-page"`) {
				lp = u.decide(lp, "allow")
			}
			if want := "signed in as " + alice.Subject + "\n"; lp.status != http.StatusOK || lp.body != want {
				t.Errorf("the program's callback answered %d %q, want %q", lp.status, lp.body, want)
			}
		})
	}
}

var jsPropRE = regexp.MustCompile(`(?m)^\s*(\w+): ("(?:[^"\\]|\\.)*"),$`)

// jsProps reads the `name: "string",` lines of a JavaScript object literal.
func jsProps(t *testing.T, src string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range jsPropRE.FindAllStringSubmatch(src, -1) {
		var s string
		if err := json.Unmarshal([]byte(m[2]), &s); err != nil {
			t.Fatalf("%s: %v", m[2], err)
		}
		out[m[1]] = s
	}
	return out
}

// TestIntegrationPanelBrowserSettings checks the oidc-client-ts settings
// the panel prints for a public client against what the server serves:
// the authority is the discovery document's issuer, the redirect URI and
// post-logout URI are the client's, the scopes its scopes, the response
// type one the discovery document lists, and no secret anywhere. A
// confidential client gets no oidc-client-ts settings, and a public one
// no oauth2-proxy command, each with the reason.
func TestIntegrationPanelBrowserSettings(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	const redirect = "http://127.0.0.1:5173/callback"
	p, cl, _ := panelClient(t, env, b, models.ClientPublic, redirect)
	src := testIDText(p.body, "int-oidc-client-ts")
	props := jsProps(t, src)
	_, disco := doJSON(t, mustRequest(t, http.MethodGet, env.issuer+"/.well-known/openid-configuration", nil))
	if props["authority"] != disco["issuer"] || props["client_id"] != cl.ClientID {
		t.Errorf("oidc-client-ts authority %q, client_id %q; want the issuer %v and %q:\n%s", props["authority"], props["client_id"], disco["issuer"], cl.ClientID, src)
	}
	if !cl.HasRedirectURI(props["redirect_uri"]) || props["scope"] != strings.Join(cl.Scopes, " ") {
		t.Errorf("oidc-client-ts redirect_uri %q, scope %q; want a registered one and %q", props["redirect_uri"], props["scope"], strings.Join(cl.Scopes, " "))
	}
	if types, _ := disco["response_types_supported"].([]any); props["response_type"] != "code" || !slices.Contains(types, any("code")) {
		t.Errorf("response_type %q (server lists %v), want code", props["response_type"], types)
	}
	if strings.Contains(strings.ToLower(src), "secret") {
		t.Errorf("the public client's oidc-client-ts settings mention a secret:\n%s", src)
	}
	if countTestIDs(p.body, "int-oauth2-proxy") != 0 || !strings.Contains(p.body, "register a confidential client") {
		t.Errorf("a public client's panel offers an oauth2-proxy command, or does not say why not")
	}

	p, _, _ = panelClient(t, env, b, models.ClientConfidential, redirect)
	if countTestIDs(p.body, "int-oidc-client-ts") != 0 || !strings.Contains(p.body, "register a public client") {
		t.Errorf("a confidential client's panel offers oidc-client-ts settings, or does not say why not")
	}
	for _, id := range []string{"lib-oauth2-proxy", "lib-openid-client", "lib-oidc-client-ts", "lib-go-oidc"} {
		if countTestIDs(p.body, id) != 1 {
			t.Errorf("no %s section on the panel", id)
		}
	}
}

// requireTool finds a program a test runs: from the environment variable
// env, else the last match of a glob in also (where .ci/run keeps it),
// else on PATH. Under CI=true it must be there; elsewhere the test is
// skipped without it.
func requireTool(t *testing.T, env, name string, also ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, pattern := range also {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			p, _ := filepath.Abs(m[len(m)-1])
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s must run in CI (.ci/run installs it, or set %s): %v", name, env, err)
		}
		t.Skipf("%s not found (set %s): %v", name, env, err)
	}
	return p
}

// freeLoopbackAddr is a 127.0.0.1 address with a port nobody listens on
// right now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestIntegrationPanelOAuth2Proxy runs the oauth2-proxy command the panel
// prints, as printed, through bash with a real oauth2-proxy binary
// (OIDC_TEST_OAUTH2_PROXY, the one .ci/run installs, or oauth2-proxy on
// PATH), with CLIENT_SECRET,
// COOKIE_SECRET and UPSTREAM set as the panel says. The test only adds
// where it listens and to skip its sign-in button (OAUTH2_PROXY_*
// environment variables, which its flags would override). oauth2-proxy
// reads our discovery document as it starts; then a user goes through
// it: the proxy sends them to /authorize (with PKCE), they sign in and allow, the
// proxy redeems the code with the secret and PKCE, checks the ID token,
// and the application behind it sees the user's verified email. A user
// whose email is not verified is turned away.
func TestIntegrationPanelOAuth2Proxy(t *testing.T) {
	t.Parallel()
	binary := requireTool(t, "OIDC_TEST_OAUTH2_PROXY", "oauth2-proxy", filepath.Join(".ci", "cache", "oauth2-proxy-*", "oauth2-proxy"))
	bash := requireTool(t, "OIDC_TEST_BASH", "bash")
	env := newTestEnv(t)
	b := env.signInAdmin()
	env.createUser("alice", userPassword, func(u *models.User) { u.Email, u.EmailVerified = "alice@example.org", true })
	env.createUser("bob", userPassword, func(u *models.User) { u.Email = "bob@example.org" })

	addr := freeLoopbackAddr(t)
	proxyURL := "http://" + addr
	p, _, secret := panelClient(t, env, b, models.ClientConfidential, "http://127.0.0.1/other/cb", proxyURL+"/oauth2/callback")
	command := testIDText(p.body, "int-oauth2-proxy")
	if !strings.HasPrefix(command, "oauth2-proxy \\\n") || !strings.Contains(command, "--redirect-url='"+proxyURL+"/oauth2/callback'") {
		t.Fatalf("panel's oauth2-proxy command does not start oauth2-proxy with the /oauth2/callback redirect URI:\n%s", command)
	}

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "email": r.Header.Get("X-Forwarded-Email"), "user": r.Header.Get("X-Forwarded-User")})
	}))
	defer upstream.Close()

	// The command runs as printed, its first word found on PATH.
	bin := t.TempDir()
	if err := os.Symlink(binary, filepath.Join(bin, "oauth2-proxy")); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	cookieSecret := make([]byte, 32)
	rand.Read(cookieSecret)
	vars := map[string]string{"CLIENT_SECRET": secret, "COOKIE_SECRET": base64.URLEncoding.EncodeToString(cookieSecret), "UPSTREAM": upstream.URL}
	var script strings.Builder
	for k, v := range vars {
		script.WriteString(k + "=" + shellQuoteTest(v) + "\n")
	}
	script.WriteString("exec " + command + "\n")
	// oauth2-proxy listens once it has read our discovery document.
	cmd := exec.Command(bash, "--noprofile", "--norc", "-c", script.String())
	stop := startRP(t, cmd, []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"OAUTH2_PROXY_HTTP_ADDRESS=" + addr, "OAUTH2_PROXY_SKIP_PROVIDER_BUTTON=true"}, proxyURL+"/ping")
	defer stop()

	through := func(username string) page {
		u := followingBrowser(env)
		// The first hop: the proxy sends the browser to /authorize with
		// PKCE (S256) and the redirect URL from the panel's flags.
		follow := u.client.CheckRedirect
		u.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		first := u.get(proxyURL + "/app/page")
		u.client.CheckRedirect = follow
		loc := first.location()
		if loc == nil || !strings.HasPrefix(loc.String(), env.issuer+"/authorize") || loc.Query().Get("code_challenge_method") != "S256" ||
			loc.Query().Get("code_challenge") == "" || loc.Query().Get("redirect_uri") != proxyURL+"/oauth2/callback" {
			t.Fatalf("the proxy answered %d, Location %v; want a redirect to our /authorize with S256 PKCE and its callback", first.status, loc)
		}
		p := u.get(loc.String())
		if !strings.Contains(p.body, `data-testid="login-page"`) || !strings.HasPrefix(p.url.String(), env.issuer+"/") {
			t.Fatalf("the proxy sent %s to %s (%d), want oidcd's login page", username, p.url, p.status)
		}
		p = u.submitLogin(p, username, userPassword)
		if strings.Contains(p.body, `data-testid="consent-page"`) {
			p = u.decide(p, "allow")
		}
		return p
	}
	p = through("alice")
	var seen map[string]string
	if err := json.Unmarshal([]byte(p.body), &seen); err != nil || p.status != http.StatusOK {
		t.Fatalf("after sign-in: %d at %s, want the application's answer: %v\n%s", p.status, p.url, err, p.body)
	}
	if seen["path"] != "/app/page" || seen["email"] != "alice@example.org" {
		t.Errorf("the application saw %v, want /app/page for alice@example.org", seen)
	}

	if p := through("bob"); p.status == http.StatusOK && strings.Contains(p.body, "bob@example.org") {
		t.Errorf("bob, whose email is not verified, reached the application: %s", p.body)
	}
}

// shellQuoteTest quotes s for a POSIX shell (the test's own, so that it
// does not trust the code under test to set the variables).
func shellQuoteTest(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// openIDClientHarness runs the panel's openid-client module (snippet.mjs
// beside it) the way an app would: "start" calls its signIn with a fresh
// session and prints the URL and the session; "finish SESSION URL" calls
// its callback and prints the ID token's claims.
const openIDClientHarness = `import { signIn, callback } from "./snippet.mjs";
const [mode, session, currentURL] = process.argv.slice(2);
if (mode === "start") {
  const s = {};
  const url = await signIn(s);
  console.log(JSON.stringify({ url: url.href, session: s }));
} else {
  const { tokens, claims } = await callback(JSON.parse(session), new URL(currentURL));
  console.log(JSON.stringify({ claims, access_token: tokens.access_token }));
}
`

// nodeModules is a node_modules folder holding openid-client:
// OIDC_TEST_NODE_MODULES, or the one .ci/run installs under .ci/cache.
func nodeModules(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OIDC_TEST_NODE_MODULES")
	if dir == "" {
		dir, _ = filepath.Abs(filepath.Join(".ci", "cache", "node", "node_modules"))
	}
	if _, err := os.Stat(filepath.Join(dir, "openid-client", "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openid-client must be installed in CI (.ci/run does it, or set OIDC_TEST_NODE_MODULES): %v", err)
		}
		t.Skipf("openid-client not installed (run .ci/run or set OIDC_TEST_NODE_MODULES): %v", err)
	}
	return dir
}

// TestIntegrationPanelOpenIDClient runs the openid-client module the
// panel prints, unchanged, with node and the real openid-client: its
// signIn discovers the server and builds the authorization URL with PKCE,
// state and nonce; a user signs in and allows; its callback redeems the
// code (with CLIENT_SECRET, or none for a public client) and verifies the
// ID token, whose claims come back.
func TestIntegrationPanelOpenIDClient(t *testing.T) {
	t.Parallel()
	node := requireTool(t, "OIDC_TEST_NODE", "node")
	modules := nodeModules(t)
	env := newTestEnv(t)
	b := env.signInAdmin()
	alice := env.createUser("alice", userPassword)
	for _, clientType := range []string{models.ClientConfidential, models.ClientPublic} {
		t.Run(clientType, func(t *testing.T) {
			const redirect = "http://127.0.0.1:3000/auth/callback"
			p, cl, secret := panelClient(t, env, b, clientType, redirect)
			src := testIDText(p.body, "int-openid-client")
			dir := t.TempDir()
			for name, text := range map[string]string{"snippet.mjs": src, "run.mjs": openIDClientHarness} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
				t.Fatal(err)
			}
			run := func(args ...string) map[string]any {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, node, append([]string{"run.mjs"}, args...)...)
				cmd.Dir = dir
				cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
				if secret != "" {
					cmd.Env = append(cmd.Env, "CLIENT_SECRET="+secret)
				}
				var stdout, stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("node run.mjs %s: %v\n%s\nsnippet:\n%s", args[0], err, stderr.String(), src)
				}
				var out map[string]any
				if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
					t.Fatalf("node printed %q: %v", stdout.String(), err)
				}
				return out
			}

			start := run("start")
			authURL, _ := start["url"].(string)
			session, _ := json.Marshal(start["session"])
			if !strings.HasPrefix(authURL, env.issuer+"/authorize") || !strings.Contains(authURL, "code_challenge_method=S256") {
				t.Fatalf("signIn built %q, want our /authorize with PKCE", authURL)
			}
			back := env.browser().authorize(authURL, "alice", userPassword, "allow")
			if got := back.Scheme + "://" + back.Host + back.Path; got != redirect {
				t.Fatalf("came back to %s, want %s", back, redirect)
			}
			done := run("finish", string(session), back.String())
			claims, _ := done["claims"].(map[string]any)
			sessionValues, _ := start["session"].(map[string]any)
			if claims["sub"] != alice.Subject || claims["aud"] != cl.ClientID || claims["iss"] != env.issuer || claims["nonce"] != sessionValues["nonce"] {
				t.Errorf("callback returned claims %v, want alice's sub, aud %s, iss %s and the session's nonce %v", claims, cl.ClientID, env.issuer, sessionValues["nonce"])
			}
			if done["access_token"] == "" || done["access_token"] == nil {
				t.Errorf("no access token: %v", done)
			}
		})
	}
}

// followingBrowser is a browser that follows redirects wherever they go,
// to an app or proxy on loopback and back.
func followingBrowser(env *testEnv) *browser {
	u := env.browser()
	u.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	return u
}

// buildGoSnippet compiles the panel's go-oidc program inside this module
// (an overlay adds it as a package that exists only for the build), so it
// builds against the go-oidc and x/oauth2 versions go.mod pins, and
// returns the binary.
func buildGoSnippet(t *testing.T, src string) string {
	t.Helper()
	goCmd := requireTool(t, "OIDC_TEST_GO", "go")
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mainGo, overlay, app := filepath.Join(dir, "main.go"), filepath.Join(dir, "overlay.json"), filepath.Join(dir, "app")
	ov, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, "internal", "panelsnippet", "main.go"): mainGo}})
	if err := os.WriteFile(mainGo, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(overlay, ov, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "build", "-mod=readonly", "-overlay", overlay, "-o", app, "./internal/panelsnippet")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the go-oidc snippet: %v\n%s\n%s", err, out, src)
	}
	return app
}

// startRP starts cmd (a relying party or a proxy) with a clean
// environment plus env, waits (at most 60 s) until readyURL answers
// anything, redirects not followed, and returns a function that kills it
// and waits for it. Its output is logged if the test fails.
func startRP(t *testing.T, cmd *exec.Cmd, env []string, readyURL string) (stop func()) {
	t.Helper()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s said:\n%s", filepath.Base(cmd.Path), out.String())
		}
	}
	probe := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := probe.Get(readyURL); err == nil {
			resp.Body.Close()
			return stop
		}
		select {
		case err := <-exited:
			exited <- err
			stop()
			t.Fatalf("%s exited before it answered: %v\n%s", filepath.Base(cmd.Path), err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("%s did not answer %s within 60 s", filepath.Base(cmd.Path), readyURL)
		}
	}
}

// TestIntegrationPanelInBrowser opens a public client's panel in
// chromium: each library is a closed section until its summary is
// clicked, the opened code shows whole (no scrolling inside its box),
// and its Copy button copies. Screenshots: the panel with oidc-client-ts
// open, and a confidential client's with oauth2-proxy open.
func TestIntegrationPanelInBrowser(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	env := newTestEnv(t)
	env.createUser(adminName, adminPassword, func(u *models.User) { u.Superuser = true })
	public, _ := env.createClient(models.ClientPublic, []string{"http://127.0.0.1:5173/callback"}, func(c *models.Client) { c.Name = "Browser app" })
	confidential, _ := env.createClient(models.ClientConfidential, []string{"https://app.example/oauth2/callback"}, func(c *models.Client) { c.Name = "Proxied app" })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newChrome(t, ctx, exe)
	c.do("sign in and open a public client",
		chromedp.Navigate(env.issuer+"/admin/clients/"+strconv.FormatUint(uint64(public.ID), 10)),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), adminName),
		chromedp.SendKeys(byTestID("password"), adminPassword),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("integration-panel")),
	)
	shown := `(id) => document.querySelector('[data-testid="' + id + '"]').checkVisibility()`
	if open := chromeRead(c, "before a click", chromedp.Evaluate[bool](`(`+shown+`)("int-oidc-client-ts")`)); open {
		t.Errorf("the oidc-client-ts code shows before its section is opened")
	}
	c.do("open oidc-client-ts",
		chromedp.Click(chromedp.CSS(`[data-testid="lib-oidc-client-ts"] > summary`)),
		chromedp.WaitVisible(byTestID("int-oidc-client-ts")),
		chromedp.Click(chromedp.CSS(`button[data-copy="int-oidc-client-ts"]`)),
	)
	// The button says Copied for 1.5 s.
	copied := ""
	for range 50 {
		if copied = chromeRead(c, "read the copy button", chromedp.Evaluate[string](`document.querySelector('button[data-copy="int-oidc-client-ts"]').textContent`)); copied == "Copied" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if copied != "Copied" {
		t.Errorf("the Copy button says %q after a click, want Copied", copied)
	}
	c.do("screenshot", screenshotOf(t, "admin-integration-oidc-client-ts", byTestID("integration-panel")))
	type box struct{ ScrollHeight, ClientHeight int }
	if b := chromeRead(c, "measure the code", chromedp.Evaluate[box](`(() => { const e = document.querySelector('[data-testid="int-oidc-client-ts"]'); return {ScrollHeight: e.scrollHeight, ClientHeight: e.clientHeight}; })()`)); b.ScrollHeight > b.ClientHeight {
		t.Errorf("the oidc-client-ts code box %+v scrolls: want it whole", b)
	}
	if open := chromeRead(c, "other sections", chromedp.Evaluate[bool](`(`+shown+`)("int-go-oidc")`)); open {
		t.Errorf("opening one library opened go-oidc too")
	}

	c.do("open oauth2-proxy on a confidential client",
		chromedp.Navigate(env.issuer+"/admin/clients/"+strconv.FormatUint(uint64(confidential.ID), 10)),
		chromedp.WaitVisible(byTestID("integration-panel")),
		chromedp.Click(chromedp.CSS(`[data-testid="lib-oauth2-proxy"] > summary`)),
		chromedp.WaitVisible(byTestID("int-oauth2-proxy")),
		screenshotOf(t, "admin-integration-oauth2-proxy", byTestID("integration-panel")),
	)
	c.wantNoDialogs()
}
