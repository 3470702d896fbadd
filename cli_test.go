package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// cliResult is what one call of run left behind.
type cliResult struct {
	err    error
	code   int // exitCode(err)
	stdout string
	stderr string // run's own stderr plus exitCode's one-line report
}

// runCLI calls run as main does, with the environment in vars.
func runCLI(t *testing.T, vars map[string]string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return vars[k] }, strings.NewReader(""), &stdout, &stderr)
	code := exitCode(err, &stderr)
	return cliResult{err: err, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRunCLI is runCLI for a call that has to succeed.
func mustRunCLI(t *testing.T, vars map[string]string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, vars, args...)
	if r.err != nil {
		t.Fatalf("oidcd %s: %v\nstderr:\n%s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// openStore opens the database a command wrote, as another process would
// (with the key file the command left beside it).
func openStore(t *testing.T, path string) *models.Store {
	t.Helper()
	s, err := openDatabase(path, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// clientJSON parses createclient --json output, which must be one line
// holding one JSON object.
func clientJSON(t *testing.T, stdout string) map[string]string {
	t.Helper()
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("--json printed %q, want exactly one line", stdout)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("--json printed %q, which is not a JSON object of strings: %v", stdout, err)
	}
	return out
}

func TestCLICreateUser(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	const password = "wonderland-42"
	r := mustRunCLI(t, nil, "createuser", "--db", db, "--username", "alice", "--password", password,
		"--email", "alice@example.org", "--name", "Alice Liddell", "--given-name", "Alice", "--family-name", "Liddell")
	if r.code != 0 {
		t.Errorf("exit code = %d, want 0", r.code)
	}

	store := openStore(t, db)
	u, err := store.UserByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatalf("load alice: %v", err)
	}
	if got, want := r.stdout, "created user alice (sub "+u.Subject+")\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if u.Subject == "" || u.Subject == "alice" {
		t.Errorf("subject = %q, want an opaque generated id", u.Subject)
	}
	if u.PasswordHash == password || strings.Contains(u.PasswordHash, password) {
		t.Errorf("password hash %q holds the plaintext password", u.PasswordHash)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)); err != nil {
		t.Errorf("password hash does not verify with bcrypt: %v", err)
	}
	if ok, err := store.VerifyPassword(context.Background(), u, "wonderland-43"); ok || err != nil {
		t.Errorf("CheckPassword accepted a wrong password")
	}
	got := []string{u.Email, u.Name, u.GivenName, u.FamilyName}
	want := []string{"alice@example.org", "Alice Liddell", "Alice", "Liddell"}
	if !slices.Equal(got, want) {
		t.Errorf("email, name, given, family = %q, want %q", got, want)
	}
	if !u.Active || u.Superuser {
		t.Errorf("active, superuser = %v, %v; want true, false", u.Active, u.Superuser)
	}
}

// TestCLICreateSuperuser checks that --superuser makes an active superuser
// and that only then does serve stop offering the setup link: a plain
// user is not an administrator.
func TestCLICreateSuperuser(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	ctx := context.Background()
	mustRunCLI(t, nil, "createuser", "--db", db, "--username", "alice", "--password", "wonderland-42")
	store := openStore(t, db)
	alice, err := store.UserByUsername(ctx, "alice")
	if err != nil || alice.Superuser {
		t.Fatalf("alice = %+v, %v; want a user who is not a superuser", alice, err)
	}
	if has, err := store.HasSuperuser(ctx); err != nil || has {
		t.Fatalf("HasSuperuser after createuser without --superuser = %v, %v; want false", has, err)
	}
	p := startServe(t, nil, "--db", db)
	link := serveSetupURL(t, p.logs.String())
	if link == nil {
		t.Fatalf("serve with only a plain user logged no setup URL:\n%s", p.logs)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}

	r := mustRunCLI(t, nil, "createuser", "--db", db, "--username", "root", "--password", "wonderland-42", "--superuser")
	root, err := store.UserByUsername(ctx, "root")
	if err != nil || !root.Superuser || !root.Active {
		t.Fatalf("root = %+v, %v; want an active superuser", root, err)
	}
	if want := "created user root (sub " + root.Subject + ")\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if has, err := store.HasSuperuser(ctx); err != nil || !has {
		t.Errorf("HasSuperuser after createuser --superuser = %v, %v; want true", has, err)
	}

	p = startServe(t, nil, "--db", db)
	if u := serveSetupURL(t, p.logs.String()); u != nil || strings.Contains(p.logs.String(), "no administrator yet") {
		t.Errorf("serve with a superuser logged a setup link:\n%s", p.logs)
	}
	// The link the first start offered does not work now there is an admin.
	b := (&testEnv{t: t, issuer: p.base}).browser()
	if pg := b.get(p.base + link.RequestURI()); pg.status != http.StatusNotFound || strings.Contains(pg.body, "setup-form") {
		t.Errorf("earlier setup link with a superuser: got %d, want 404", pg.status)
	}
}

func TestCLICreateUserRefusals(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	mustRunCLI(t, nil, "createuser", "--db", db, "--username", "alice", "--password", "wonderland-42")

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // a line stderr must contain
	}{
		{"duplicate username", []string{"--username", "alice", "--password", "another-password"}, 1,
			"oidcd: createuser: username \"alice\" is taken\n"},
		{"short password", []string{"--username", "bob", "--password", "short"}, 1,
			"oidcd: createuser: password: use at least 8 characters\n"},
		{"password over 72 bytes", []string{"--username", "bob", "--password", strings.Repeat("p", 73)}, 1,
			"oidcd: createuser: password: use at most 72 bytes\n"},
		{"username with a space", []string{"--username", "bob smith", "--password", "wonderland-42"}, 1,
			"oidcd: createuser: username: a username cannot contain spaces\n"},
		{"bad email", []string{"--username", "bob", "--password", "wonderland-42", "--email", "not an email"}, 1,
			"oidcd: createuser: email: enter a valid email address\n"},
		{"missing username", []string{"--password", "wonderland-42"}, 2, "flag --username is required\n"},
		{"missing password", []string{"--username", "bob"}, 2, "flag --password is required, or the password as one line on standard input\n"},
		{"unknown flag", []string{"--username", "bob", "--password", "wonderland-42", "--colour", "red"}, 2,
			"flag provided but not defined: -colour\n"},
		{"stray argument", []string{"--username", "bob", "--password", "wonderland-42", "extra"}, 2,
			"unexpected argument \"extra\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"createuser", "--db", db}, tt.args...)...)
			if r.err == nil {
				t.Fatalf("createuser %v succeeded, want an error", tt.args)
			}
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (err %v)", r.code, tt.wantCode, r.err)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantStderr)
			}
			if tt.wantCode == 2 && !strings.Contains(r.stderr, "usage: oidcd createuser ") {
				t.Errorf("stderr = %q, want the createuser usage", r.stderr)
			}
			if tt.wantCode == 1 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want a one-line reason", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}

	store := openStore(t, db)
	if _, err := store.UserByUsername(context.Background(), "bob"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("bob after refused commands: got err %v, want models.ErrNotFound", err)
	}
	alice, err := store.UserByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatalf("load alice: %v", err)
	}
	if ok, err := store.VerifyPassword(context.Background(), alice, "wonderland-42"); !ok || err != nil {
		t.Errorf("the duplicate createuser changed alice's password")
	}
}

func TestCLICreateClientConfidentialJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "oidcd.db")
	r := mustRunCLI(t, nil, "createclient", "--db", db, "--name", "Example RP", "--type", "confidential",
		"--redirect-uri", "http://example.org/", "--json")
	out := clientJSON(t, r.stdout)
	if got, want := slices.Sorted(maps.Keys(out)), []string{"client_id", "client_secret"}; !slices.Equal(got, want) {
		t.Fatalf("--json keys = %v, want %v", got, want)
	}
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing", r.stderr)
	}
	secret := out["client_secret"]
	if len(secret) < 43 {
		t.Errorf("client_secret %q is %d characters, want at least 43 (256 bits)", secret, len(secret))
	}

	store := openStore(t, db)
	c, err := store.ClientByClientID(context.Background(), out["client_id"])
	if err != nil {
		t.Fatalf("load client %q: %v", out["client_id"], err)
	}
	if c.SecretHash != oauth.HashToken(secret) {
		t.Errorf("SecretHash = %q, want oauth.HashToken(secret) = %q", c.SecretHash, oauth.HashToken(secret))
	}
	if c.Name != "Example RP" || c.ClientType != models.ClientConfidential || c.JWTAlg != jose.RS256 {
		t.Errorf("name, type, alg = %q, %q, %q; want %q, %q, %q", c.Name, c.ClientType, c.JWTAlg,
			"Example RP", models.ClientConfidential, jose.RS256)
	}
	if !slices.Equal(c.RedirectURIs, []string{"http://example.org/"}) {
		t.Errorf("redirect URIs = %q, want [http://example.org/]", c.RedirectURIs)
	}
	if !slices.Equal(c.ResponseTypes, []string{"code"}) {
		t.Errorf("response types = %q, want [code]", c.ResponseTypes)
	}
	if !slices.Equal(c.Scopes, []string{"openid", "profile", "email"}) {
		t.Errorf("scopes = %q, want [openid profile email]", c.Scopes)
	}
	if !c.RequireConsent || !c.ReuseConsent {
		t.Errorf("require, reuse consent = %v, %v; want the defaults true, true", c.RequireConsent, c.ReuseConsent)
	}

	// The plaintext secret is nowhere in the database files.
	if err := store.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "oidcd.db*"))
	if len(files) == 0 {
		t.Fatalf("no database files in %s", dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the plaintext client secret", filepath.Base(f))
		}
	}
}

func TestCLICreateClientPublicJSON(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	r := mustRunCLI(t, nil, "createclient", "--db", db, "--name", "SPA", "--type", "public",
		"--redirect-uri", "http://127.0.0.1/cb", "--json")
	out := clientJSON(t, r.stdout)
	if got, want := slices.Sorted(maps.Keys(out)), []string{"client_id"}; !slices.Equal(got, want) {
		t.Fatalf("--json keys = %v, want %v", got, want)
	}
	c, err := openStore(t, db).ClientByClientID(context.Background(), out["client_id"])
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	if c.ClientType != models.ClientPublic || c.SecretHash != "" {
		t.Errorf("type, secret hash = %q, %q; want %q and no hash", c.ClientType, c.SecretHash, models.ClientPublic)
	}
}

func TestCLICreateClientOptions(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	r := mustRunCLI(t, nil, "createclient", "--db", db, "--name", "Many", "--type", "confidential",
		"--redirect-uri", "https://rp.example/b", "--redirect-uri", "https://rp.example/a",
		"--redirect-uri", "http://127.0.0.1:9000/cb", "--redirect-uri", "com.example.app:/oauth2redirect",
		"--post-logout-redirect-uri", "https://rp.example/bye",
		"--scope", "openid email", "--require-consent=false", "--reuse-consent=false", "--json")
	out := clientJSON(t, r.stdout)
	c, err := openStore(t, db).ClientByClientID(context.Background(), out["client_id"])
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	if want := []string{"https://rp.example/b", "https://rp.example/a", "http://127.0.0.1:9000/cb", "com.example.app:/oauth2redirect"}; !slices.Equal(c.RedirectURIs, want) {
		t.Errorf("redirect URIs = %q, want %q (in the order given)", c.RedirectURIs, want)
	}
	if want := []string{"https://rp.example/bye"}; !slices.Equal(c.PostLogoutRedirectURIs, want) {
		t.Errorf("post-logout redirect URIs = %q, want %q", c.PostLogoutRedirectURIs, want)
	}
	if want := []string{"openid", "email"}; !slices.Equal(c.Scopes, want) {
		t.Errorf("scopes = %q, want %q", c.Scopes, want)
	}
	if c.RequireConsent {
		t.Errorf("RequireConsent = true, want false (--require-consent=false)")
	}
	if c.ReuseConsent {
		t.Errorf("ReuseConsent = true, want false (--reuse-consent=false)")
	}
}

func TestCLICreateClientHumanOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		vars      map[string]string
		args      []string
		discovery string
	}{
		{"default issuer", nil, nil, "http://localhost:8000/.well-known/openid-configuration"},
		{"issuer from env", map[string]string{"OIDC_ISSUER": "https://id.example.org/"}, nil,
			"https://id.example.org/.well-known/openid-configuration"},
		{"flag wins over env", map[string]string{"OIDC_ISSUER": "https://id.example.org"},
			[]string{"--issuer", "https://login.example.net"}, "https://login.example.net/.well-known/openid-configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "oidcd.db")
			args := append([]string{"createclient", "--db", db, "--name", "Human", "--type", "confidential",
				"--redirect-uri", "http://example.org/"}, tt.args...)
			r := mustRunCLI(t, tt.vars, args...)
			c, err := openStore(t, db).ClientByClientID(context.Background(), clientIDFromHuman(t, r.stdout))
			if err != nil {
				t.Fatalf("load client: %v", err)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if len(lines) != 5 {
				t.Fatalf("stdout has %d lines, want 5:\n%s", len(lines), r.stdout)
			}
			secret := strings.TrimPrefix(lines[2], "client_secret: ")
			want := []string{
				`created confidential client "Human"`,
				"client_id:     " + c.ClientID,
				"client_secret: " + secret,
				"(the secret is shown only now; store it safely)",
				"discovery:     " + tt.discovery,
			}
			if !slices.Equal(lines, want) {
				t.Errorf("stdout lines = %q, want %q", lines, want)
			}
			if c.SecretHash != oauth.HashToken(secret) {
				t.Errorf("the printed secret does not match the stored hash")
			}
		})
	}
}

func clientIDFromHuman(t *testing.T, stdout string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^client_id:\s+(\S+)$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no client_id line in:\n%s", stdout)
	}
	return m[1]
}

func TestCLICreateClientRefusals(t *testing.T) {
	t.Parallel()
	base := []string{"--name", "RP", "--type", "confidential"}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"missing redirect uri", base, 2, "flag --redirect-uri is required\n"},
		{"missing type", []string{"--name", "RP", "--redirect-uri", "http://example.org/"}, 2, "flag --type is required\n"},
		{"missing name", []string{"--type", "public", "--redirect-uri", "http://example.org/"}, 2, "flag --name is required\n"},
		{"name too long", []string{"--name", strings.Repeat("n", 201), "--type", "public", "--redirect-uri", "http://example.org/"}, 1,
			"oidcd: createclient: name: use at most 200 characters\n"},
		{"bad type", []string{"--name", "RP", "--type", "secret", "--redirect-uri", "http://example.org/"}, 2,
			"flag --type must be confidential or public, not \"secret\"\n"},
		{"unknown flag", append(slices.Clone(base), "--redirect-uri", "http://example.org/", "--grant", "x"), 2,
			"flag provided but not defined: -grant\n"},
		{"relative redirect uri", append(slices.Clone(base), "--redirect-uri", "/callback"), 1,
			"oidcd: createclient: redirect URI \"/callback\" must be absolute and have no fragment\n"},
		{"redirect uri with fragment", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb#frag"), 1,
			"oidcd: createclient: redirect URI \"https://rp.example/cb#frag\" must be absolute and have no fragment\n"},
		{"redirect uri with empty fragment", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb#"), 1,
			"oidcd: createclient: redirect URI \"https://rp.example/cb#\" must be absolute and have no fragment\n"},
		{"second redirect uri relative", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb", "--redirect-uri", "cb"), 1,
			"oidcd: createclient: redirect URI \"cb\" must be absolute and have no fragment\n"},
		{"post-logout uri with fragment", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb",
			"--post-logout-redirect-uri", "https://rp.example/#x"), 1,
			"oidcd: createclient: redirect URI \"https://rp.example/#x\" must be absolute and have no fragment\n"},
		{"javascript redirect uri", append(slices.Clone(base), "--redirect-uri", "javascript:alert(1)"), 1,
			"oidcd: createclient: redirect URI \"javascript:alert(1)\" must not use the javascript: scheme\n"},
		{"http redirect uri without host", append(slices.Clone(base), "--redirect-uri", "http:foo"), 1,
			"oidcd: createclient: redirect URI \"http:foo\" must name a host (http://host/path)\n"},
		{"post-logout data uri", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb",
			"--post-logout-redirect-uri", "data:text/html,hi"), 1,
			"oidcd: createclient: redirect URI \"data:text/html,hi\" must not use the data: scheme\n"},
		// RFC 9700 §2.1.2: plain token is known, never served.
		{"unserved response type", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb", "--response-type", "token"), 1,
			"oidcd: createclient: response type \"token\" is not served; use code, id_token, id_token token, code id_token, code token, code id_token token\n"},
		{"response type twice, in another order", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb",
			"--response-type", "code id_token", "--response-type", "id_token code"), 1,
			"oidcd: createclient: response type \"code id_token\" is given twice\n"},
		{"unserved alg", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb", "--jwt-alg", "HS512"), 1,
			"oidcd: createclient: signing algorithm \"HS512\" is not served; use one of [RS256 ES256 EdDSA HS256]\n"},
		{"HS256 for a public client", []string{"--name", "RP", "--type", "public", "--redirect-uri", "https://rp.example/cb", "--jwt-alg", "HS256"}, 1,
			"oidcd: createclient: a public client has no secret, so it cannot use HS256\n"},
		{"empty scope", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb", "--scope", " "), 1,
			"oidcd: createclient: --scope must name at least one scope\n"},
		{"unknown grant type", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb", "--grant-type", "implicit"), 1,
			"oidcd: createclient: \"implicit\" is not a grant type this server serves ([authorization_code refresh_token client_credentials password])\n"},
		{"public client with client_credentials", []string{"--name", "RP", "--type", "public", "--redirect-uri", "https://rp.example/cb",
			"--grant-type", "client_credentials"}, 1,
			"oidcd: createclient: a public client cannot use client_credentials\n"},
		{"grant type twice", append(slices.Clone(base), "--redirect-uri", "https://rp.example/cb",
			"--grant-type", "refresh_token", "--grant-type", "refresh_token"), 1,
			"oidcd: createclient: grant type \"refresh_token\" is given twice\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "oidcd.db")
			r := runCLI(t, nil, append([]string{"createclient", "--db", db}, tt.args...)...)
			if r.err == nil {
				t.Fatalf("createclient %v succeeded, want an error", tt.args)
			}
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (err %v)", r.code, tt.wantCode, r.err)
			}
			if tt.wantCode == 1 {
				if r.stderr != tt.wantStderr {
					t.Errorf("stderr = %q, want exactly the one line %q", r.stderr, tt.wantStderr)
				}
			} else {
				if !strings.Contains(r.stderr, tt.wantStderr) {
					t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantStderr)
				}
				if !strings.Contains(r.stderr, "usage: oidcd createclient ") {
					t.Errorf("stderr = %q, want the createclient usage", r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			// A refused command leaves no database behind.
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("stat %s: got %v, want not exist", db, err)
			}
		})
	}
}

func TestCLICreateRSAKey(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	first := strings.TrimSuffix(mustRunCLI(t, nil, "creatersakey", "--db", db).stdout, "\n")
	second := strings.TrimSuffix(mustRunCLI(t, nil, "creatersakey", "--db", db).stdout, "\n")
	if first == "" || strings.Contains(first, "\n") {
		t.Fatalf("first kid = %q, want one non-empty line", first)
	}
	if second == first {
		t.Fatalf("second kid = %q, want a different kid from the first", second)
	}
	store := openStore(t, db)
	keys, err := store.PublishedSigningKeys(context.Background(), time.Time{})
	if err != nil {
		t.Fatalf("published keys: %v", err)
	}
	var kids []string
	for _, k := range keys {
		kids = append(kids, k.KID)
		if k.Alg != jose.RS256 || !strings.Contains(k.PrivateKeyPEM, "PRIVATE KEY") {
			t.Errorf("key %s: alg %q, PEM %.30q; want RS256 and a PEM private key", k.KID, k.Alg, k.PrivateKeyPEM)
		}
	}
	if want := []string{second, first}; !slices.Equal(kids, want) {
		t.Errorf("stored kids (newest first) = %q, want %q", kids, want)
	}
	// The first key signs at once (there was none); the second is
	// published now and signs after OIDC_KEY_PREPUBLISH, when the first
	// retires.
	now := time.Now()
	active, err := store.ActiveSigningKey(context.Background(), jose.RS256)
	if err != nil || active.KID != first {
		t.Errorf("active key = %v, %v; want the first, %q", active, err, first)
	}
	later := now.Add(24*time.Hour + time.Minute)
	if next, err := store.SigningKeyAt(context.Background(), jose.RS256, later); err != nil || next.KID != second {
		t.Errorf("key signing after the default pre-publication (a day) = %v, %v; want the second, %q", next, err, second)
	}
	if r := runCLI(t, nil, "creatersakey", "--db", db); r.code != 1 || !strings.Contains(r.stderr, "already next") {
		t.Errorf("a third key while the second waits: exit %d, stderr %q; want 1 naming the pending key", r.code, r.stderr)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{"unknown command", []string{"frobnicate"}, []string{"oidcd: unknown command \"frobnicate\"\n", "usage: oidcd [command] [flags]"}},
		{"unknown serve flag", []string{"serve", "--port", "80"}, []string{"flag provided but not defined: -port\n", "usage: oidcd serve "}},
		{"unknown flag without command", []string{"--bogus"}, []string{"flag provided but not defined: -bogus\n", "usage: oidcd serve "}},
		{"creatersakey stray argument", []string{"creatersakey", "now"}, []string{"unexpected argument \"now\"\n", "usage: oidcd creatersakey "}},
		{"serve help", []string{"serve", "-h"}, []string{"usage: oidcd serve ", "-addr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != 2 {
				t.Errorf("exit code = %d, want 2 (err %v)", r.code, r.err)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
				}
			}
			if strings.Contains(r.stderr, "oidcd: flag") || strings.Contains(r.stderr, "oidcd: missing") {
				t.Errorf("stderr = %q: a usage error must not also be reported as a failure", r.stderr)
			}
		})
	}

	r := runCLI(t, nil, "help")
	if r.err != nil || r.code != 0 || !strings.HasPrefix(r.stdout, "usage: oidcd [command] [flags]\n") {
		t.Errorf("help: err %v, code %d, stdout %q; want the usage on stdout and exit 0", r.err, r.code, r.stdout)
	}
}

func TestCLIDatabaseFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envDB, flagDB := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
	vars := map[string]string{"OIDC_DATABASE": envDB}

	mustRunCLI(t, vars, "createuser", "--username", "env-user", "--password", "wonderland-42")
	mustRunCLI(t, vars, "createuser", "--db", flagDB, "--username", "flag-user", "--password", "wonderland-42")

	ctx := context.Background()
	envStore, flagStore := openStore(t, envDB), openStore(t, flagDB)
	if _, err := envStore.UserByUsername(ctx, "env-user"); err != nil {
		t.Errorf("env-user in OIDC_DATABASE: %v, want found", err)
	}
	if _, err := envStore.UserByUsername(ctx, "flag-user"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("flag-user in OIDC_DATABASE: got %v, want models.ErrNotFound (--db wins)", err)
	}
	if _, err := flagStore.UserByUsername(ctx, "flag-user"); err != nil {
		t.Errorf("flag-user in --db: %v, want found", err)
	}
	if _, err := flagStore.UserByUsername(ctx, "env-user"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("env-user in --db: got %v, want models.ErrNotFound", err)
	}
}

func TestCLIServeRefusesMalformedSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"token expire not a number", map[string]string{"OIDC_TOKEN_EXPIRE": "abc"}, nil,
			`setting OIDC_TOKEN_EXPIRE="abc": must be a positive whole number`},
		{"code expire zero", map[string]string{"OIDC_CODE_EXPIRE": "0"}, nil,
			`setting OIDC_CODE_EXPIRE="0": must be a positive whole number`},
		{"refresh expire negative", map[string]string{"OIDC_REFRESH_TOKEN_EXPIRE": "-5"}, nil,
			`setting OIDC_REFRESH_TOKEN_EXPIRE="-5": must be a positive whole number`},
		{"query token not a bool", map[string]string{"OIDC_USERINFO_QUERY_TOKEN": "sometimes"}, nil,
			`setting OIDC_USERINFO_QUERY_TOKEN="sometimes": must be true or false`},
		{"max failures fraction", map[string]string{"OIDC_LOGIN_MAX_FAILURES": "2.5"}, nil,
			`setting OIDC_LOGIN_MAX_FAILURES="2.5": must be a positive whole number`},
		{"issuer with query", map[string]string{"OIDC_ISSUER": "https://id.example.org/?x=1"}, nil,
			`issuer "https://id.example.org/?x=1" must be an http or https URL without query or fragment`},
		{"issuer flag not http", nil, []string{"--issuer", "ftp://id.example.org"},
			`issuer "ftp://id.example.org" must be an http or https URL without query or fragment`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "oidcd.db")
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tt.args...)
			r := runCLI(t, tt.vars, args...)
			if r.err == nil {
				t.Fatalf("serve started with %v %v, want a refusal", tt.vars, tt.args)
			}
			if r.code != 1 {
				t.Errorf("exit code = %d, want 1", r.code)
			}
			if got := r.err.Error(); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
			if want := "oidcd: " + tt.want + "\n"; r.stderr != want {
				t.Errorf("stderr = %q, want %q", r.stderr, want)
			}
		})
	}
}

// serveProcess is `oidcd serve` running in a goroutine of the test.
type serveProcess struct {
	base   string // http://127.0.0.1:port
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

var servingRE = regexp.MustCompile(`msg="oidcd serving" addr=(127\.0\.0\.1:\d+) `)

// startServe runs `oidcd serve --addr 127.0.0.1:0 args...` and waits,
// polling a bounded number of times, until it logs its address.
func startServe(t *testing.T, vars map[string]string, args ...string) *serveProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &serveProcess{logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	args = append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	go func() {
		p.done <- run(ctx, args, func(k string) string { return vars[k] }, strings.NewReader(""), io.Discard, p.logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not return after its context was cancelled")
		}
	})
	for range 3000 {
		if m := servingRE.FindStringSubmatch(p.logs.String()); m != nil {
			p.base = "http://" + m[1]
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err // for Cleanup
			t.Fatalf("serve returned before serving: %v\nlog:\n%s", err, p.logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve never logged its address; log:\n%s", p.logs)
	return nil
}

// stop cancels serve's context and returns what run returned.
func (p *serveProcess) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		p.done <- err // for Cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not return after its context was cancelled")
		return nil
	}
}

func TestCLIServeStartsAndShutsDown(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	p := startServe(t, nil, "--db", db, "--issuer", "http://127.0.0.1:8000/")

	// A fresh database got a signing key before serving.
	store := openStore(t, db)
	key, err := store.ActiveSigningKey(context.Background(), jose.RS256)
	if err != nil {
		t.Fatalf("signing key after start: %v", err)
	}
	if want := "msg=\"created signing key\" kid=" + key.KID + " alg=RS256"; !strings.Contains(p.logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, p.logs)
	}
	if want := "issuer=http://127.0.0.1:8000 discovery=http://127.0.0.1:8000/.well-known/openid-configuration"; !strings.Contains(p.logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, p.logs)
	}

	resp, body := doJSON(t, mustRequest(t, http.MethodGet, p.base+"/.well-known/openid-configuration", nil))
	if resp.StatusCode != http.StatusOK || body["issuer"] != "http://127.0.0.1:8000" {
		t.Errorf("discovery: %d issuer %v, want 200 and http://127.0.0.1:8000", resp.StatusCode, body["issuer"])
	}

	if err := p.stop(t); err != nil {
		t.Fatalf("serve returned %v after cancel, want nil", err)
	}
	if !strings.Contains(p.logs.String(), `msg="oidcd shutting down"`) {
		t.Errorf("log lacks the shutdown line:\n%s", p.logs)
	}
	if _, err := http.Get(p.base + "/jwks"); err == nil {
		t.Errorf("GET /jwks after shutdown succeeded, want a connection error")
	}

	// A second start on the same database keeps the key it has.
	p2 := startServe(t, map[string]string{"OIDC_DATABASE": db})
	if strings.Contains(p2.logs.String(), "created signing key") {
		t.Errorf("second start created another signing key:\n%s", p2.logs)
	}
	if err := p2.stop(t); err != nil {
		t.Fatalf("second serve returned %v, want nil", err)
	}
	keys, err := store.PublishedSigningKeys(context.Background(), time.Time{})
	if err != nil || len(keys) != 3 {
		t.Errorf("keys after two starts: %d (err %v), want 3 (RS256, ES256, EdDSA)", len(keys), err)
	}
}

func TestCLIServeAddressInUse(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	p := startServe(t, nil, "--db", db)
	addr := strings.TrimPrefix(p.base, "http://")
	r := runCLI(t, nil, "serve", "--addr", addr, "--db", db)
	if r.code != 1 || r.err == nil || !strings.HasPrefix(r.err.Error(), "listen on "+addr+": ") {
		t.Errorf("second serve on %s: code %d, err %v; want 1 and \"listen on %s: …\"", addr, r.code, r.err, addr)
	}
}

// setupURLRE finds the setup link serve logs; slog quotes the value when
// it holds an "=".
var setupURLRE = regexp.MustCompile(`level=WARN msg="no administrator yet: open the setup link to create one" setup_url=("[^"]*"|\S+)`)

// serveSetupURL returns the setup link in serve's log, or nil when there
// is none. There is at most one.
func serveSetupURL(t *testing.T, logs string) *url.URL {
	t.Helper()
	if n := strings.Count(logs, "setup_url="); n > 1 {
		t.Fatalf("log has %d setup links, want at most one:\n%s", n, logs)
	}
	m := setupURLRE.FindStringSubmatch(logs)
	if m == nil {
		if strings.Contains(logs, "setup_url=") {
			t.Fatalf("log has a setup_url in an unexpected line:\n%s", logs)
		}
		return nil
	}
	raw := m[1]
	if unq, err := strconv.Unquote(raw); err == nil {
		raw = unq
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("setup_url %q: %v", raw, err)
	}
	return u
}

// TestCLIServeLogsSetupURL checks that serve on a database without an
// administrator logs a one-time setup link under its issuer, that the link
// works against the running server and creates the first admin, and that
// the next start logs no link.
func TestCLIServeLogsSetupURL(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	p := startServe(t, nil, "--db", db, "--issuer", "http://127.0.0.1:8000/")
	link := serveSetupURL(t, p.logs.String())
	if link == nil {
		t.Fatalf("serve on a fresh database logged no setup URL:\n%s", p.logs)
	}
	token := link.Query().Get("token")
	if link.Scheme != "http" || link.Host != "127.0.0.1:8000" || link.Path != "/admin/setup" || token == "" {
		t.Fatalf("setup URL = %s, want http://127.0.0.1:8000/admin/setup?token=…", link)
	}

	// The issuer is not where the test server listens, so the link's path
	// and query are opened at the real address.
	b := (&testEnv{t: t, issuer: p.base}).browser()
	if pg := b.get(p.base + "/admin/setup?token=" + url.QueryEscape(token+"x")); pg.status != http.StatusNotFound {
		t.Errorf("altered setup token: got %d, want 404", pg.status)
	}
	pg := b.get(p.base + link.RequestURI())
	if pg.status != http.StatusOK || !strings.Contains(pg.body, `data-testid="setup-form"`) {
		t.Fatalf("logged setup link: got %d, want the form:\n%s", pg.status, pg.body)
	}
	form := hiddenFields(pg.body)
	form.Set("username", "root")
	form.Set("password", "wonderland-42")
	form.Set("password_confirm", "wonderland-42")
	pg = b.post(p.base+"/admin/setup", form)
	if pg.status != http.StatusOK || pg.url.Path != "/admin" || !strings.Contains(pg.body, `data-testid="dashboard-page"`) {
		t.Fatalf("setup through the logged link: got %d at %s, want the dashboard:\n%s", pg.status, pg.url, pg.body)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	root, err := openStore(t, db).UserByUsername(context.Background(), "root")
	if err != nil || !root.Superuser || !root.Active {
		t.Fatalf("root = %+v, %v; want an active superuser", root, err)
	}

	p2 := startServe(t, nil, "--db", db, "--issuer", "http://127.0.0.1:8000/")
	if u := serveSetupURL(t, p2.logs.String()); u != nil || strings.Contains(p2.logs.String(), "no administrator yet") {
		t.Errorf("serve with an administrator logged a setup link:\n%s", p2.logs)
	}
	if pg := b.get(p2.base + link.RequestURI()); pg.status != http.StatusNotFound {
		t.Errorf("used setup link on the next start: got %d, want 404", pg.status)
	}
}

func mustRequest(t *testing.T, method, target string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	return req
}

// TestCLICreateClientGrantTypes: --grant-type sets the client's grant
// types, in the order given; without it the client gets the default ones.
func TestCLICreateClientGrantTypes(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{nil, models.DefaultGrantTypes},
		{[]string{"--grant-type", "authorization_code"}, []string{"authorization_code"}},
		{[]string{"--grant-type", "refresh_token", "--grant-type", "authorization_code"}, []string{"refresh_token", "authorization_code"}},
	} {
		args := append([]string{"createclient", "--db", db, "--name", "RP", "--type", "confidential",
			"--redirect-uri", "https://rp.example/cb", "--json"}, tt.args...)
		out := clientJSON(t, mustRunCLI(t, nil, args...).stdout)
		c, err := openStore(t, db).ClientByClientID(context.Background(), out["client_id"])
		if err != nil {
			t.Fatalf("load client: %v", err)
		}
		if !slices.Equal(c.GrantTypes, tt.want) {
			t.Errorf("%v: grant types %v, want %v", tt.args, c.GrantTypes, tt.want)
		}
	}
}
