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
			const redirect = "http://127.0.0.1:5556/auth/callback?from=panel"
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
			if !slices.Equal(g.handlers, []string{"/login", "/auth/callback"}) || g.listenAddr != "127.0.0.1:5556" {
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
// env, else on PATH. Under CI=true it must be there (.ci/run installs
// it); elsewhere the test is skipped without it.
func requireTool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
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
// (OIDC_TEST_OAUTH2_PROXY, or oauth2-proxy on PATH), with CLIENT_SECRET,
// COOKIE_SECRET and UPSTREAM set as the panel says. The test only adds
// where it listens and to skip its sign-in button (OAUTH2_PROXY_*
// environment variables, which its flags would override). oauth2-proxy
// reads our discovery document as it starts; then a user goes through
// it: the proxy sends them to /authorize, they sign in and allow, the
// proxy redeems the code with the secret and PKCE, checks the ID token,
// and the application behind it sees the user's verified email. A user
// whose email is not verified is turned away.
func TestIntegrationPanelOAuth2Proxy(t *testing.T) {
	t.Parallel()
	binary := requireTool(t, "OIDC_TEST_OAUTH2_PROXY", "oauth2-proxy")
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
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-c", script.String())
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"OAUTH2_PROXY_HTTP_ADDRESS=" + addr, "OAUTH2_PROXY_SKIP_PROVIDER_BUTTON=true"}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oauth2-proxy: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("oauth2-proxy said:\n%s", out.String())
		}
	}()

	// Ready when /ping answers: it has read the discovery document by then.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(proxyURL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("oauth2-proxy exited with the panel's flags: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy did not answer /ping within 60 s:\n%s", out.String())
		}
	}

	through := func(username string) page {
		u := env.browser()
		u.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return nil
		}
		p := u.get(proxyURL + "/app/page")
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
