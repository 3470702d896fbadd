package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/models/modelstest"
)

// runCLIInput is runCLI with stdin as the command's standard input (not a
// terminal, as under `echo pw | oidcd createuser ...`).
func runCLIInput(t *testing.T, vars map[string]string, stdin string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return vars[k] }, strings.NewReader(stdin), &stdout, &stderr)
	code := exitCode(err, &stderr)
	return cliResult{err: err, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// TestCLICreateUserPasswordFromStdin checks that createuser without
// --password takes the first line of standard input as the password, line
// end removed, and that --password, when given, wins over it.
func TestCLICreateUserPasswordFromStdin(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	tests := []struct {
		name, stdin, want string
		args              []string
	}{
		{"line", "wonderland-42\n", "wonderland-42", nil},
		{"CRLF line", "wonderland-42\r\n", "wonderland-42", nil},
		{"no line end", "wonderland-42", "wonderland-42", nil},
		{"first line only", "wonderland-42\nsecond line\n", "wonderland-42", nil},
		{"spaces kept", " with spaces \n", " with spaces ", nil},
		{"flag wins", "from-stdin-42\n", "from-the-flag", []string{"--password", "from-the-flag"}},
	}
	for i, tt := range tests {
		username := "user" + string(rune('a'+i))
		args := append([]string{"createuser", "--db", db, "--username", username}, tt.args...)
		r := runCLIInput(t, nil, tt.stdin, args...)
		if r.err != nil {
			t.Errorf("%s: createuser: %v\n%s", tt.name, r.err, r.stderr)
			continue
		}
		if strings.Contains(r.stdout+r.stderr, strings.TrimSpace(tt.want)) {
			t.Errorf("%s: the password was printed: stdout %q stderr %q", tt.name, r.stdout, r.stderr)
		}
		store := openStore(t, db)
		u, err := store.UserByUsername(context.Background(), username)
		if err != nil {
			t.Fatalf("%s: load %s: %v", tt.name, username, err)
		}
		if !verifyPassword(t, store, u, tt.want) {
			t.Errorf("%s: stdin %q: password %q does not verify", tt.name, tt.stdin, tt.want)
		}
		if tt.stdin != tt.want && verifyPassword(t, store, u, tt.stdin) {
			t.Errorf("%s: the whole of stdin %q became the password", tt.name, tt.stdin)
		}
	}

	refusals := []struct {
		name, stdin string
		wantCode    int
		wantStderr  string
	}{
		{"empty stdin", "", 2, "flag --password is required, or the password as one line on standard input\n"},
		{"empty line", "\nwonderland-42\n", 2, "flag --password is required, or the password as one line on standard input\n"},
		{"short", "short\n", 1, "oidcd: createuser: password: use at least 8 characters\n"},
		{"over 72 bytes", strings.Repeat("p", 73) + "\n", 1, "oidcd: createuser: password: use at most 72 bytes\n"},
		{"endless line", strings.Repeat("p", 1<<20), 1, "oidcd: createuser: password: use at most 72 bytes\n"},
	}
	for _, tt := range refusals {
		r := runCLIInput(t, nil, tt.stdin, "createuser", "--db", db, "--username", "refused")
		if r.err == nil || r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
			t.Errorf("%s: code %d err %v stderr %q; want code %d and %q", tt.name, r.code, r.err, r.stderr, tt.wantCode, tt.wantStderr)
		}
	}
	if _, err := openStore(t, db).UserByUsername(context.Background(), "refused"); err == nil {
		t.Errorf("a refused createuser made the user")
	}
}

// TestCLICreateUserDerivesName checks the admin form's rule: no --name, the
// name claim is the given and family names.
func TestCLICreateUserDerivesName(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	tests := []struct {
		username string
		args     []string
		want     string
	}{
		{"both", []string{"--given-name", "Ada", "--family-name", "Lovelace"}, "Ada Lovelace"},
		{"given", []string{"--given-name", "Ada"}, "Ada"},
		{"family", []string{"--family-name", "Lovelace"}, "Lovelace"},
		{"explicit", []string{"--given-name", "Ada", "--family-name", "Lovelace", "--name", "Countess of Lovelace"}, "Countess of Lovelace"},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		mustRunCLI(t, nil, append([]string{"createuser", "--db", db, "--username", tt.username, "--password", "wonderland-42"}, tt.args...)...)
	}
	store := openStore(t, db)
	for _, tt := range tests {
		u, err := store.UserByUsername(context.Background(), tt.username)
		if err != nil {
			t.Fatalf("load %s: %v", tt.username, err)
		}
		if u.Name != tt.want {
			t.Errorf("%s %v: name = %q, want %q", tt.username, tt.args, u.Name, tt.want)
		}
	}
}

var commandRE = regexp.MustCompile(`(?m)^  ([a-z]+) `)

// TestCLIHelpHasExamples checks that every command the top usage lists
// answers -h with its usage and at least one example command line.
func TestCLIHelpHasExamples(t *testing.T) {
	t.Parallel()
	commands := commandRE.FindAllStringSubmatch(topUsage, -1)
	if len(commands) < 8 {
		t.Fatalf("top usage lists %d commands, want 8 or more:\n%s", len(commands), topUsage)
	}
	for _, m := range commands {
		cmd := m[1]
		r := runCLI(t, nil, cmd, "-h")
		out := r.stdout + r.stderr
		if !strings.Contains(out, "usage: oidcd "+cmd+" ") {
			t.Errorf("oidcd %s -h: no usage line:\n%s", cmd, out)
		}
		_, ex, ok := strings.Cut(out, "\nExample:\n")
		if !ok || !strings.Contains(ex, "oidcd "+cmd) {
			t.Errorf("oidcd %s -h: no Example with an oidcd %s command line:\n%s", cmd, cmd, out)
		}
	}
	// createuser's help says where the password comes from without the flag.
	if r := runCLI(t, nil, "createuser", "-h"); !strings.Contains(r.stderr, "standard input") || !strings.Contains(r.stderr, "-email-verified") {
		t.Errorf("createuser -h does not tell of the password on standard input or --email-verified:\n%s", r.stderr)
	}
}

// TestCLIEmailVerifiedOAuth2Proxy is what oauth2-proxy does with an OIDC
// provider: discovery, a code flow with scope "openid email profile", the ID
// token verified by go-oidc, and email_verified read from its claims (it
// refuses a user whose email_verified is not true); userinfo agrees. A user
// made with `createuser --email-verified` passes; one made without does not.
// The ID token carries the scope's claims because the provider is served
// with OIDC_IDTOKEN_INCLUDE_CLAIMS=true, as the README tells for oauth2-proxy.
func TestCLIEmailVerifiedOAuth2Proxy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	vars := map[string]string{"OIDC_DATABASE": d.DSN, "OIDC_SECRET_KEY": base64.StdEncoding.EncodeToString(d.Key)}
	mustRunCLI(t, vars, "createuser", "--username", "ada", "--password", "wonderland-42",
		"--email", "ada@example.com", "--email-verified", "--given-name", "Ada", "--family-name", "Lovelace")
	mustRunCLI(t, vars, "createuser", "--username", "eve", "--password", "wonderland-42", "--email", "eve@example.com")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	issuer := "http://" + addr
	const redirect = "http://127.0.0.1:4180/oauth2/callback"
	created := clientJSON(t, mustRunCLI(t, vars, "createclient", "--name", "oauth2-proxy", "--type", "confidential",
		"--redirect-uri", redirect, "--issuer", issuer, "--json").stdout)
	vars["OIDC_IDTOKEN_INCLUDE_CLAIMS"] = "true"
	p := startServe(t, vars, "--addr", addr, "--issuer", issuer)
	if p.base != issuer {
		t.Fatalf("serve listens on %s, want %s", p.base, issuer)
	}

	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp := oauth2.Config{
		ClientID: created["client_id"], ClientSecret: created["client_secret"], RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: rp.ClientID})
	for _, tt := range []struct {
		username string
		verified bool
	}{{"ada", true}, {"eve", false}} {
		b := (&testEnv{t: t, issuer: issuer}).browser()
		back := b.authorize(rp.AuthCodeURL("state-"+tt.username, oidc.Nonce("nonce-"+tt.username)), tt.username, "wonderland-42", "allow")
		tok, err := rp.Exchange(ctx, back.Query().Get("code"))
		if err != nil {
			t.Fatalf("%s: code exchange: %v", tt.username, err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("%s: ID token: %v", tt.username, err)
		}
		// oauth2-proxy's claim: a JSON boolean, not the string "true".
		var claims struct {
			Email         string          `json:"email"`
			EmailVerified json.RawMessage `json:"email_verified"`
			Name          string          `json:"name"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatalf("%s: ID token claims: %v", tt.username, err)
		}
		if want := map[bool]string{true: "true", false: "false"}[tt.verified]; string(claims.EmailVerified) != want || claims.Email != tt.username+"@example.com" {
			t.Errorf("%s: ID token email %q email_verified %s, want %s@example.com and %s", tt.username, claims.Email, claims.EmailVerified, tt.username, want)
		}
		if tt.username == "ada" && claims.Name != "Ada Lovelace" {
			t.Errorf("ada: ID token name %q, want the derived %q", claims.Name, "Ada Lovelace")
		}

		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("%s: userinfo: %v", tt.username, err)
		}
		var uiClaims map[string]any
		if err := ui.Claims(&uiClaims); err != nil {
			t.Fatalf("%s: userinfo claims: %v", tt.username, err)
		}
		if ui.Subject != idt.Subject || ui.Email != tt.username+"@example.com" || uiClaims["email_verified"] != tt.verified {
			t.Errorf("%s: userinfo sub %q email %q email_verified %#v; want sub %q, %s@example.com, %v",
				tt.username, ui.Subject, ui.Email, uiClaims["email_verified"], idt.Subject, tt.username, tt.verified)
		}
	}
	if resp, err := http.Get(issuer + "/jwks"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /jwks: %v", err)
	} else {
		resp.Body.Close()
	}
}
