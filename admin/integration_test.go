package admin

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"oidcd/models"
	"oidcd/views"
)

// hostile holds what a redirect URI, scope or issuer may carry that a
// snippet's quoting must keep as it is: shell, Go and JavaScript quotes,
// backslashes, $, backticks, and the line separators JavaScript once
// treated as line ends.
const hostile = `'"\` + "`$(id)\u2028\u2029"

func snippet(t *testing.T, libs []views.LibrarySnippet, id string) views.LibrarySnippet {
	t.Helper()
	for _, l := range libs {
		if l.ID == id {
			return l
		}
	}
	t.Fatalf("no %s snippet", id)
	return views.LibrarySnippet{}
}

func hostileClient(clientType string) *models.Client {
	return &models.Client{
		ClientID: "id-1", Name: "App", ClientType: clientType,
		RedirectURIs:           []string{"http://127.0.0.1:9/cb?x=" + hostile, "http://127.0.0.1:9/oauth2/callback"},
		PostLogoutRedirectURIs: []string{"http://127.0.0.1:9/bye?" + hostile},
		Scopes:                 []string{"openid", "email", "x" + hostile},
	}
}

// TestGoSnippetQuoting: the go-oidc program parses as Go and its
// constants and scopes are exactly the client's values.
func TestGoSnippetQuoting(t *testing.T) {
	const issuer = "https://id.example/t" + hostile
	for _, clientType := range []string{models.ClientConfidential, models.ClientPublic} {
		cl := hostileClient(clientType)
		src := snippet(t, librarySnippets(issuer, cl.RedirectURIs[0], cl), libGoOIDC).Code
		f, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
		if err != nil {
			t.Fatalf("%s: parse: %v\n%s", clientType, err, src)
		}
		got := map[string][]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				s, _ := strconv.Unquote(n.Values[0].(*ast.BasicLit).Value)
				got[n.Names[0].Name] = []string{s}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Scopes" {
					for _, e := range n.Value.(*ast.CompositeLit).Elts {
						s, _ := strconv.Unquote(e.(*ast.BasicLit).Value)
						got["Scopes"] = append(got["Scopes"], s)
					}
				}
			}
			return true
		})
		want := map[string][]string{"issuer": {issuer}, "clientID": {cl.ClientID}, "redirectURL": {cl.RedirectURIs[0]}, "Scopes": cl.Scopes}
		for k, w := range want {
			if !slices.Equal(got[k], w) {
				t.Errorf("%s: %s = %q, want %q", clientType, k, got[k], w)
			}
		}
		if hasSecret := strings.Contains(src, "CLIENT_SECRET"); hasSecret != (clientType == models.ClientConfidential) {
			t.Errorf("%s: reads CLIENT_SECRET: %v", clientType, hasSecret)
		}
	}
}

var jsLiteralRE = regexp.MustCompile(`(?m)(?:const (\w+) = (?:new URL\()?|^\s*(\w+): )("(?:[^"\\]|\\.)*")`)

// TestJSSnippetQuoting: the JavaScript snippets' string literals decode
// to the client's values.
func TestJSSnippetQuoting(t *testing.T) {
	const issuer = "https://id.example/t" + hostile
	cl := hostileClient(models.ClientPublic)
	libs := librarySnippets(issuer, cl.RedirectURIs[0], cl)
	scope := strings.Join(cl.Scopes, " ")
	for id, want := range map[string]map[string]string{
		libOpenIDClient: {"issuer": issuer, "redirectURI": cl.RedirectURIs[0], "scope": scope},
		libOIDCClientTS: {"authority": issuer, "client_id": cl.ClientID, "redirect_uri": cl.RedirectURIs[0],
			"post_logout_redirect_uri": cl.PostLogoutRedirectURIs[0], "scope": scope, "response_type": "code"},
	} {
		src := snippet(t, libs, id).Code
		got := map[string]string{}
		for _, m := range jsLiteralRE.FindAllStringSubmatch(src, -1) {
			var s string
			if err := json.Unmarshal([]byte(m[3]), &s); err != nil {
				t.Fatalf("%s: %s: %v", id, m[3], err)
			}
			got[m[1]+m[2]] = s
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s = %q, want %q", id, k, got[k], w)
			}
		}
		if strings.ContainsAny(src, "\u2028\u2029") {
			t.Errorf("%s: a raw line separator in a string literal", id)
		}
	}
}

// TestOAuth2ProxySnippet runs the command with bash, oauth2-proxy being a
// shell function that prints its arguments: each flag arrives whole, the
// redirect URL is the client's /oauth2/callback one, and the secrets come
// from the variables. A public client gets no command; a client without
// an /oauth2/callback redirect URI is told to add one.
func TestOAuth2ProxySnippet(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skipf("no bash: %v", err)
	}
	const issuer = "https://id.example/t" + hostile
	cl := hostileClient(models.ClientConfidential)
	s := snippet(t, librarySnippets(issuer, cl.RedirectURIs[0], cl), libOAuth2Proxy)
	script := "oauth2-proxy() { printf '%s\\n' \"$@\"; }\nCLIENT_SECRET=s1 COOKIE_SECRET=c1 UPSTREAM=u1\n" + s.Code + "\n"
	out, err := exec.Command(bash, "--noprofile", "--norc", "-c", script).Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, s.Code)
	}
	want := []string{
		"--provider=oidc", "--oidc-issuer-url=" + issuer, "--client-id=id-1", "--client-secret=s1",
		"--redirect-url=" + cl.RedirectURIs[1], "--scope=" + strings.Join(cl.Scopes, " "),
		"--code-challenge-method=S256", "--email-domain=*", "--cookie-secret=c1", "--cookie-secure=false", "--upstream=u1",
	}
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("arguments:\n%q\nwant:\n%q", got, want)
	}

	cl.RedirectURIs = []string{"https://app.example/cb"}
	s = snippet(t, librarySnippets(issuer, cl.RedirectURIs[0], cl), libOAuth2Proxy)
	if !strings.Contains(s.Code, "--redirect-url='https://app.example/cb'") || strings.Contains(s.Code, "--cookie-secure") ||
		!slices.ContainsFunc(s.Notes, func(n string) bool { return strings.Contains(n, "/oauth2/callback") }) {
		t.Errorf("without an /oauth2/callback redirect URI: %q\n%s", s.Notes, s.Code)
	}
	pub := hostileClient(models.ClientPublic)
	if s := snippet(t, librarySnippets(issuer, pub.RedirectURIs[0], pub), libOAuth2Proxy); s.Code != "" {
		t.Errorf("a public client got an oauth2-proxy command:\n%s", s.Code)
	}
}
