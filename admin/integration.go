package admin

import (
	"bytes"
	"encoding/json"
	"go/format"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"oidcd/models"
	"oidcd/views"
)

// The libraries the integration panel fills in, by test id.
const (
	libOAuth2Proxy  = "oauth2-proxy"
	libOpenIDClient = "openid-client"
	libOIDCClientTS = "oidc-client-ts"
	libGoOIDC       = "go-oidc"
)

// oauth2ProxyCallback is where oauth2-proxy receives the code with its
// default --proxy-prefix.
const oauth2ProxyCallback = "/oauth2/callback"

// integrationValues are the settings every snippet is made from: one
// place decides them, so the libraries cannot disagree.
type integrationValues struct {
	Issuer       string
	ClientID     string
	RedirectURI  string   // the client's first redirect URI, or an example
	RedirectURIs []string // all of them
	LogoutURI    string   // the first post-logout redirect URI, or ""
	Scopes       []string
	Public       bool // no secret; PKCE (RFC 7636) is the proof instead
	InsecureHTTP bool // the issuer is plain http (a test or local setup)
}

func newIntegrationValues(issuer, redirect string, cl *models.Client) integrationValues {
	v := integrationValues{
		Issuer: issuer, ClientID: cl.ClientID, RedirectURI: redirect, RedirectURIs: cl.RedirectURIs,
		Scopes: cl.Scopes, Public: cl.IsPublic(), InsecureHTTP: strings.HasPrefix(issuer, "http://"),
	}
	if len(cl.PostLogoutRedirectURIs) > 0 {
		v.LogoutURI = cl.PostLogoutRedirectURIs[0]
	}
	return v
}

func (v integrationValues) scope() string { return strings.Join(v.Scopes, " ") }

// librarySnippets are the panel's ready-to-paste settings for each
// library, filled in for cl. The secret is never in them (it is shown
// once, when made): each reads it from CLIENT_SECRET. Every client gets
// PKCE (S256), which a public client must use.
func librarySnippets(issuer, redirect string, cl *models.Client) []views.LibrarySnippet {
	v := newIntegrationValues(issuer, redirect, cl)
	return []views.LibrarySnippet{
		oauth2ProxySnippet(v),
		openIDClientSnippet(v),
		oidcClientTSSnippet(v),
		goOIDCSnippet(v),
	}
}

// oauth2ProxySnippet is an oauth2-proxy command line. oauth2-proxy always
// authenticates with a client secret, so a public client gets a note
// instead; it refuses users whose email_verified is not true unless told
// otherwise, and takes the code at <proxy-prefix>/callback.
func oauth2ProxySnippet(v integrationValues) views.LibrarySnippet {
	s := views.LibrarySnippet{ID: libOAuth2Proxy, Name: "oauth2-proxy (reverse proxy)", Label: "Command line"}
	if v.Public {
		s.Notes = []string{"oauth2-proxy authenticates to the token endpoint with a client secret: register a confidential client for it."}
		return s
	}
	redirect := ""
	for _, u := range v.RedirectURIs {
		if p, err := url.Parse(u); err == nil && p.Path == oauth2ProxyCallback && p.RawQuery == "" {
			redirect = u
			break
		}
	}
	s.Notes = append(s.Notes,
		"Set CLIENT_SECRET to the secret you stored, and COOKIE_SECRET to 32 random bytes that stay the same across restarts, such as the output of: openssl rand -base64 32 | tr -- '+/' '-_'. Point UPSTREAM at the application to protect.",
		"oauth2-proxy signs in only users whose email is verified: tick “Email verified” on the user's page, or create users with: oidcd createuser --email-verified.")
	if redirect == "" {
		redirect = v.RedirectURI
		s.Notes = append(s.Notes, "oauth2-proxy receives the code at "+oauth2ProxyCallback+" on its own address, and this client has no redirect URI with that path: add one, such as https://app.example"+oauth2ProxyCallback+", and put it in --redirect-url.")
	}
	if !slices.Contains(v.Scopes, "email") {
		s.Notes = append(s.Notes, "This client may not ask for the email scope, which oauth2-proxy needs: add it to the client's scopes.")
	}
	flags := []string{
		"--provider=oidc",
		"--oidc-issuer-url=" + shellQuote(v.Issuer),
		"--client-id=" + shellQuote(v.ClientID),
		`--client-secret="$CLIENT_SECRET"`,
		"--redirect-url=" + shellQuote(redirect),
		"--scope=" + shellQuote(v.scope()),
		"--code-challenge-method=S256",
		"--email-domain='*'",
		`--cookie-secret="$COOKIE_SECRET"`,
	}
	if strings.HasPrefix(redirect, "http://") {
		// A Secure cookie would never come back over plain http.
		flags = append(flags, "--cookie-secure=false")
	}
	flags = append(flags, `--upstream="$UPSTREAM"`)
	s.Code = "oauth2-proxy \\\n  " + strings.Join(flags, " \\\n  ")
	return s
}

// openIDClientSnippet is Node's openid-client (v6): discovery, the
// authorization URL with PKCE, and the code grant on the callback.
func openIDClientSnippet(v integrationValues) views.LibrarySnippet {
	s := views.LibrarySnippet{ID: libOpenIDClient, Name: "openid-client (Node.js)", Label: "JavaScript (ES module), openid-client 6"}
	var b strings.Builder
	b.WriteString("import * as client from \"openid-client\";\n\n")
	b.WriteString("const issuer = new URL(" + jsString(v.Issuer) + ");\n")
	b.WriteString("const redirectURI = " + jsString(v.RedirectURI) + ";\n")
	b.WriteString("const scope = " + jsString(v.scope()) + ";\n")
	args := "issuer, " + jsString(v.ClientID)
	if v.Public {
		args += ", undefined, client.None()"
	} else {
		args += ", process.env.CLIENT_SECRET"
	}
	if v.InsecureHTTP {
		if !v.Public {
			args += ", undefined"
		}
		args += ", {\n  // The issuer is plain http: allowed for local testing only.\n  execute: [client.allowInsecureRequests],\n}"
	}
	b.WriteString("const config = await client.discovery(" + args + ");\n\n")
	b.WriteString(`// Sign-in: session is where this user's session keeps values between
// requests; redirect the browser to the URL returned.
export async function signIn(session) {
  session.codeVerifier = client.randomPKCECodeVerifier();
  session.state = client.randomState();
  session.nonce = client.randomNonce();
  return client.buildAuthorizationUrl(config, {
    redirect_uri: redirectURI,
    scope,
    state: session.state,
    nonce: session.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(session.codeVerifier),
    code_challenge_method: "S256",
  });
}

// Callback: currentURL is the URL the browser came back to.
export async function callback(session, currentURL) {
  const tokens = await client.authorizationCodeGrant(config, currentURL, {
    pkceCodeVerifier: session.codeVerifier,
    expectedState: session.state,
    expectedNonce: session.nonce,
  });
  return { tokens, claims: tokens.claims() }; // claims: the verified ID token's
}
`)
	s.Code = b.String()
	if !v.Public {
		s.Notes = []string{"Set CLIENT_SECRET in the environment to the secret you stored."}
	}
	return s
}

// oidcClientTSSnippet is oidc-client-ts's UserManager settings, for a
// single-page app: a public client (it does PKCE by itself).
func oidcClientTSSnippet(v integrationValues) views.LibrarySnippet {
	s := views.LibrarySnippet{ID: libOIDCClientTS, Name: "oidc-client-ts (browser app)", Label: "JavaScript, oidc-client-ts"}
	if !v.Public {
		s.Notes = []string{"oidc-client-ts runs in the browser, where a secret cannot be kept: register a public client for it."}
		return s
	}
	var b strings.Builder
	b.WriteString("import { UserManager } from \"oidc-client-ts\";\n\n")
	b.WriteString("export const userManager = new UserManager({\n")
	b.WriteString("  authority: " + jsString(v.Issuer) + ",\n")
	b.WriteString("  client_id: " + jsString(v.ClientID) + ",\n")
	b.WriteString("  redirect_uri: " + jsString(v.RedirectURI) + ",\n")
	if v.LogoutURI != "" {
		b.WriteString("  post_logout_redirect_uri: " + jsString(v.LogoutURI) + ",\n")
	}
	b.WriteString("  response_type: \"code\",\n")
	b.WriteString("  scope: " + jsString(v.scope()) + ",\n")
	b.WriteString("});\n\n")
	b.WriteString("// Sign in: await userManager.signinRedirect();\n")
	b.WriteString("// On the redirect URI's page: const user = await userManager.signinRedirectCallback();\n")
	s.Code = b.String()
	s.Notes = []string{"The token endpoint and userinfo answer the browser (CORS) from the origin of any of the client's redirect URIs."}
	return s
}

// goOIDCSnippet is a small Go web app on go-oidc and x/oauth2: a /login
// handler that starts the code flow with PKCE, and the callback that
// exchanges the code and verifies the ID token, gofmt'ed.
func goOIDCSnippet(v integrationValues) views.LibrarySnippet {
	s := views.LibrarySnippet{ID: libGoOIDC, Name: "go-oidc (Go)", Label: "Go, github.com/coreos/go-oidc/v3 and golang.org/x/oauth2"}
	callback, listen := "/callback", "127.0.0.1:8080"
	if u, err := url.Parse(v.RedirectURI); err == nil {
		if u.Path != "" {
			callback = u.Path
		}
		// On a loopback redirect URI (a local setup) the app listens
		// where the browser comes back to; elsewhere behind TLS.
		if host := u.Hostname(); u.Port() != "" && (host == "127.0.0.1" || host == "localhost" || host == "::1") {
			listen = u.Host
		}
	}
	scopes := make([]string, len(v.Scopes))
	for i, sc := range v.Scopes {
		scopes[i] = strconv.Quote(sc)
	}
	secret := "\t\tClientSecret: os.Getenv(\"CLIENT_SECRET\"),\n"
	imports := "\t\"net/http\"\n\t\"os\"\n"
	if v.Public {
		secret = ""
		imports = "\t\"net/http\"\n"
	}
	s.Code = `package main

import (
	"context"
	"fmt"
	"log"
` + imports + `
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	issuer      = ` + strconv.Quote(v.Issuer) + `
	clientID    = ` + strconv.Quote(v.ClientID) + `
	redirectURL = ` + strconv.Quote(v.RedirectURI) + `
)

func main() {
	provider, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		log.Fatal(err)
	}
	config := oauth2.Config{
		ClientID:     clientID,
` + secret + `		RedirectURL:  redirectURL,
		Endpoint:     provider.Endpoint(),
		Scopes:       []string{` + strings.Join(scopes, ", ") + `},
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})

	http.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		state, nonce, pkce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		for name, value := range map[string]string{"state": state, "nonce": nonce, "pkce": pkce} {
			http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: 600,
				HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
		}
		http.Redirect(w, r, config.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)), http.StatusFound)
	})
	http.HandleFunc(` + strconv.Quote(callback) + `, func(w http.ResponseWriter, r *http.Request) {
		state, err1 := r.Cookie("state")
		nonce, err2 := r.Cookie("nonce")
		pkce, err3 := r.Cookie("pkce")
		if err1 != nil || err2 != nil || err3 != nil || r.URL.Query().Get("state") != state.Value {
			http.Error(w, "bad state", http.StatusBadRequest)
			return
		}
		token, err := config.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(pkce.Value))
		if err != nil {
			http.Error(w, "exchange failed", http.StatusBadGateway)
			return
		}
		rawIDToken, _ := token.Extra("id_token").(string)
		idToken, err := verifier.Verify(r.Context(), rawIDToken)
		if err != nil || idToken.Nonce != nonce.Value {
			http.Error(w, "bad ID token", http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "signed in as %s\n", idToken.Subject)
	})
	log.Fatal(http.ListenAndServe(` + strconv.Quote(listen) + `, nil))
}
`
	// gofmt aligns the fields by the longest key, which the secret's
	// presence changes; every value is a quoted literal, so it parses.
	if formatted, err := format.Source([]byte(s.Code)); err == nil {
		s.Code = string(formatted)
	}
	s.Notes = []string{"Open /login on the app to sign in. It listens on " + listen + ": put it behind TLS at the redirect URI's host."}
	if !v.Public {
		s.Notes = append(s.Notes, "Set CLIENT_SECRET in the environment to the secret you stored.")
	}
	return s
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // templ escapes the page; the code stays readable
	_ = enc.Encode(s)        // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
