package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oidcd/admin"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// The admin site's first run, its access rules and the client pages,
// driven through the full router with the harness's cookie-jar browser.

const rpRedirect = "http://127.0.0.1/rp/cb"

// TestSetupFirstAdmin walks the first-run link: a wrong token is a 404, a
// form with errors creates nothing, a valid one creates an active
// superuser, signs them in, and kills the link.
func TestSetupFirstAdmin(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	older, err := admin.PrepareSetup(ctx, env.store)
	if err != nil || older == "" {
		t.Fatalf("PrepareSetup = %q, %v; want a token", older, err)
	}
	token, err := admin.PrepareSetup(ctx, env.store)
	if err != nil || token == "" || token == older {
		t.Fatalf("second PrepareSetup = %q, %v; want a new token", token, err)
	}
	b := env.browser()

	for name, link := range map[string]string{
		"wrong token":    "/admin/setup?token=WRONG",
		"no token":       "/admin/setup",
		"replaced token": "/admin/setup?token=" + url.QueryEscape(older),
	} {
		p := b.get(link)
		if p.status != http.StatusNotFound || !strings.Contains(p.body, `data-testid="error-page"`) || strings.Contains(p.body, "setup-form") {
			t.Errorf("%s: got %d, want the 404 error page without the form:\n%s", name, p.status, p.body)
		}
	}

	link := "/admin/setup?token=" + url.QueryEscape(token)
	p := b.get(link)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="setup-form"`) {
		t.Fatalf("setup link: got %d, want the form:\n%s", p.status, p.body)
	}
	form := hiddenFields(p.body)
	if form.Get("_csrf") == "" || form.Get("token") != token {
		t.Fatalf("setup form fields = %v, want _csrf and the token", form)
	}

	bad := []struct {
		name, password, confirm, field string
	}{
		{"short password", "short", "short", "password"},
		{"mismatched confirmation", "long enough 1", "long enough 2", "password_confirm"},
	}
	for _, tc := range bad {
		f := cloneValues(form)
		f.Set("username", "root")
		f.Set("password", tc.password)
		f.Set("password_confirm", tc.confirm)
		p := b.post("/admin/setup", f)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-`+tc.field+`"`) {
			t.Errorf("%s: got %d, want 422 with error-%s:\n%s", tc.name, p.status, tc.field, p.body)
		}
		if has, err := env.store.HasSuperuser(ctx); err != nil || has {
			t.Fatalf("%s: HasSuperuser = %v, %v; want false", tc.name, has, err)
		}
		if _, err := env.store.UserByUsername(ctx, "root"); err == nil {
			t.Fatalf("%s: user root was created", tc.name)
		}
	}

	f := cloneValues(form)
	f.Set("username", "root")
	f.Set("email", "root@example.org")
	f.Set("password", adminPassword)
	f.Set("password_confirm", adminPassword)
	p = b.post("/admin/setup", f)
	if p.status != http.StatusOK || p.url.Path != "/admin" || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Fatalf("valid setup: got %d at %s, want the dashboard:\n%s", p.status, p.url, p.body)
	}
	u, err := env.store.UserByUsername(ctx, "root")
	if err != nil || !u.Active || !u.Superuser || u.Email != "root@example.org" || !verifyPassword(t, env.store, u, adminPassword) {
		t.Fatalf("created admin = %+v, %v; want an active superuser with the password", u, err)
	}
	if p := b.get("/admin"); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Errorf("GET /admin after setup: got %d, want the dashboard", p.status)
	}

	if p := b.get(link); p.status != http.StatusNotFound || strings.Contains(p.body, "setup-form") {
		t.Errorf("used link: got %d, want 404", p.status)
	}
	f.Set("username", "second")
	// Signing in renewed the session, and with it the CSRF token.
	f.Set("_csrf", hiddenFields(b.get("/admin").body).Get("_csrf"))
	if p := b.post("/admin/setup", f); p.status != http.StatusNotFound {
		t.Errorf("POST with the used link: got %d, want 404", p.status)
	}
	if _, err := env.store.UserByUsername(ctx, "second"); err == nil {
		t.Errorf("the used link created a second admin")
	}
	// The link is spent, not only shut while an admin exists: with the only
	// admin deactivated it still does not work.
	if err := env.store.SetUserActive(ctx, u.ID, false); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	if p := b.get(link); p.status != http.StatusNotFound {
		t.Errorf("used link with no active admin: got %d, want 404", p.status)
	}
	if err := env.store.SetUserActive(ctx, u.ID, true); err != nil {
		t.Fatalf("reactivate: %v", err)
	}
	if again, err := admin.PrepareSetup(ctx, env.store); err != nil || again != "" {
		t.Errorf("PrepareSetup with a superuser = %q, %v; want \"\"", again, err)
	}
}

// TestAdminClientAccess checks who gets into the admin site and where the
// login page sends them afterwards.
func TestAdminClientAccess(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("root", adminPassword, func(u *models.User) { u.Superuser = true })
	env.createUser("bob", userPassword)

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/admin", "/admin/clients", "/admin/clients/new"} {
		resp, err := noFollow.Get(env.issuer + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		want := "/login?next=" + url.QueryEscape(path)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("anonymous GET %s: %d to %q, want 302 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}

	b := env.browser()
	p := b.get("/admin")
	if p.url.Path != "/login" || p.url.RawQuery != "next=%2Fadmin" {
		t.Fatalf("anonymous /admin ended at %s, want /login?next=%%2Fadmin", p.url)
	}
	p = b.submitLogin(p, "root", adminPassword)
	if p.status != http.StatusOK || p.url.Path != "/admin" || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Fatalf("after login: %d at %s, want the dashboard at /admin:\n%s", p.status, p.url, p.body)
	}

	for _, next := range []string{"https://evil.example", "//evil.example/admin", "/\\evil.example/admin", "/authorize?x=1"} {
		b := env.browser()
		p := b.get("/login?next=" + url.QueryEscape(next))
		form := hiddenFields(p.body)
		form.Set("username", "root")
		form.Set("password", adminPassword)
		form.Set("next", next) // as a forged form would carry it
		p = b.post("/login", form)
		if p.url.Host != strings.TrimPrefix(env.issuer, "http://") || p.url.Path != "/" {
			t.Errorf("login with next=%q ended at %s, want %s/", next, p.url, env.issuer)
		}
	}

	bob := env.browser()
	p = bob.submitLogin(bob.get("/login"), "bob", userPassword)
	if p.url.Path != "/" {
		t.Fatalf("bob's login ended at %s", p.url)
	}
	for _, path := range []string{"/admin", "/admin/clients", "/admin/clients/new"} {
		p := bob.get(path)
		if p.status != http.StatusForbidden || strings.Contains(p.body, "dashboard-page") || strings.Contains(p.body, "clients-page") {
			t.Errorf("non-admin GET %s: %d, want 403 without the page", path, p.status)
		}
	}
	form := clientFields("Sneaky", rpRedirect)
	form.Set("_csrf", hiddenFields(bob.get("/").body).Get("_csrf"))
	if p := bob.postMultipart("/admin/clients", form, nil); p.status != http.StatusForbidden {
		t.Errorf("non-admin POST /admin/clients: %d, want 403", p.status)
	}
	wantClientCount(t, env, 0)
}

// TestAdminClientFormRejects sends invalid client forms: each is a 422 with
// the message beside the field, and nothing is saved.
func TestAdminClientFormRejects(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	textFile := &logoFile{name: "logo.png", data: []byte("this is not an image, whatever its name says")}
	tests := []struct {
		name  string
		edit  func(url.Values)
		file  *logoFile
		field string
	}{
		{"empty name", func(f url.Values) { f.Set("name", "  ") }, nil, "name"},
		{"public client with client_credentials", func(f url.Values) {
			f.Set("client_type", models.ClientPublic)
			f["grant_types"] = []string{"authorization_code", "client_credentials"}
		}, nil, "grant_types"},
		{"public client with password", func(f url.Values) {
			f.Set("client_type", models.ClientPublic)
			f["grant_types"] = []string{"authorization_code", "password"}
		}, nil, "grant_types"},
		{"no redirect URI", func(f url.Values) { f.Set("redirect_uris", "") }, nil, "redirect_uris"},
		{"relative redirect URI", func(f url.Values) { f.Set("redirect_uris", "/rp/cb") }, nil, "redirect_uris"},
		{"redirect URI with fragment", func(f url.Values) { f.Set("redirect_uris", rpRedirect+"#frag") }, nil, "redirect_uris"},
		{"second redirect URI bad", func(f url.Values) { f.Set("redirect_uris", rpRedirect+"\nnot a uri") }, nil, "redirect_uris"},
		{"javascript redirect URI", func(f url.Values) { f.Set("redirect_uris", "javascript:alert(1)") }, nil, "redirect_uris"},
		{"data redirect URI", func(f url.Values) { f.Set("redirect_uris", "data:text/html,<script>alert(1)</script>") }, nil, "redirect_uris"},
		{"http redirect URI without host", func(f url.Values) { f.Set("redirect_uris", "http:foo") }, nil, "redirect_uris"},
		{"redirect URI with user info", func(f url.Values) { f.Set("redirect_uris", "http://evil.example@127.0.0.1/rp/cb") }, nil, "redirect_uris"},
		{"vbscript post-logout URI", func(f url.Values) { f.Set("post_logout_redirect_uris", "vbscript:msgbox(1)") }, nil, "post_logout_redirect_uris"},
		{"backchannel URI with fragment", func(f url.Values) { f.Set("backchannel_logout_uri", "http://127.0.0.1/rp/bc#f") }, nil, "backchannel_logout_uri"},
		{"relative backchannel URI", func(f url.Values) { f.Set("backchannel_logout_uri", "/rp/bc") }, nil, "backchannel_logout_uri"},
		{"private-scheme backchannel URI", func(f url.Values) { f.Set("backchannel_logout_uri", "com.example.app:/bc") }, nil, "backchannel_logout_uri"},
		{"bad website URL", func(f url.Values) { f.Set("website_url", "javascript:alert(1)") }, nil, "website_url"},
		{"bad terms URL", func(f url.Values) { f.Set("terms_url", "example.org/terms") }, nil, "terms_url"},
		{"bad contact email", func(f url.Values) { f.Set("contact_email", "not-an-email") }, nil, "contact_email"},
		{"unknown client type", func(f url.Values) { f.Set("client_type", "superclient") }, nil, "client_type"},
		{"no scopes", func(f url.Values) { f.Set("scopes", " ") }, nil, "scopes"},
		{"non-image logo", func(url.Values) {}, textFile, "logo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := clientFields("Good name", rpRedirect)
			form.Set("_csrf", csrf)
			tc.edit(form)
			p := b.postMultipart("/admin/clients", form, tc.file)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422:\n%s", p.status, p.body)
			}
			if !strings.Contains(p.body, `data-testid="error-`+tc.field+`"`) || !strings.Contains(p.body, `data-testid="form-errors"`) {
				t.Errorf("no error-%s on the page:\n%s", tc.field, p.body)
			}
			if n := strings.Count(p.body, `class="field-error"`); n != 1 {
				t.Errorf("%d field errors on the page, want 1", n)
			}
			wantClientCount(t, env, 0)
		})
	}
}

// TestAdminClientLifecycle creates a client through the form, uses it in a
// code flow, rotates its secret, edits and deletes it.
func TestAdminClientLifecycle(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	env.createUser("alice", userPassword)

	form := clientFields("Lifecycle RP", rpRedirect)
	form.Set("_csrf", csrf)
	p := b.postMultipart("/admin/clients", form, nil)
	id := clientPK(t, p)
	secret := oneTimeSecret(p.body)
	if secret == "" {
		t.Fatalf("no one-time secret after create:\n%s", p.body)
	}
	if !strings.Contains(p.body, `data-testid="integration-panel"`) {
		t.Errorf("no integration panel on the client page")
	}
	cl, err := env.store.ClientByID(ctx, id)
	if err != nil {
		t.Fatalf("client %d: %v", id, err)
	}
	if cl.SecretHash != oauth.HashToken(secret) {
		t.Errorf("stored SecretHash does not hash the shown secret")
	}
	if strings.Contains(cl.SecretHash, secret) {
		t.Errorf("the secret is stored in the clear")
	}
	if got := testIDText(p.body, "client-id"); got != cl.ClientID {
		t.Errorf("client-id on the page = %q, want %q", got, cl.ClientID)
	}
	if cl.Name != "Lifecycle RP" || !cl.HasRedirectURI(rpRedirect) || cl.IsPublic() || !cl.RequireConsent {
		t.Errorf("stored client = %+v", cl)
	}
	if again := b.get(fmt.Sprintf("/admin/clients/%d", id)); again.status != http.StatusOK || oneTimeSecret(again.body) != "" || strings.Contains(again.body, secret) {
		t.Errorf("reload of the client page still shows the secret (%d)", again.status)
	}
	if strings.Contains(env.logs.String(), secret) {
		t.Errorf("the server log contains the client secret")
	}

	rp := newRelyingParty(t, env, cl.ClientID, secret)
	tok := rp.flow(t, env, "alice")
	rp.wantUserinfo(t, tok, true)

	// Rotate: the old secret is refused at /token, the new one works.
	p = b.post(fmt.Sprintf("/admin/clients/%d/secret", id), url.Values{"_csrf": {csrf}})
	newSecret := oneTimeSecret(p.body)
	if p.status != http.StatusOK || newSecret == "" || newSecret == secret {
		t.Fatalf("rotate: %d, new secret %q, want a fresh one:\n%s", p.status, newSecret, p.body)
	}
	code, verifier := rp.code(t, env, "alice")
	resp, body := postForm(t, env.issuer+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect},
		"code_verifier": {verifier}, "client_id": {cl.ClientID}, "client_secret": {secret},
	})
	if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("old secret after rotation: %d %v, want 401 invalid_client", resp.StatusCode, body)
	}
	rp.cfg.ClientSecret = newSecret
	tok2, err := rp.cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange with the new secret: %v", err)
	}
	rp.wantUserinfo(t, tok2, true)

	// Edit: saved and audited.
	edit := b.get(fmt.Sprintf("/admin/clients/%d/edit", id))
	if edit.status != http.StatusOK || !strings.Contains(edit.body, `value="Lifecycle RP"`) {
		t.Fatalf("edit page: %d", edit.status)
	}
	form = clientFields("Renamed RP", rpRedirect+"\nhttp://127.0.0.1/rp/cb2")
	form.Set("_csrf", csrf)
	form.Set("website_url", "https://rp.example/")
	p = b.postMultipart(fmt.Sprintf("/admin/clients/%d", id), form, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) || testIDText(p.body, "client-title") != "Renamed RP" {
		t.Fatalf("edit: %d, want the client page with a success flash:\n%s", p.status, p.body)
	}
	cl, err = env.store.ClientByID(ctx, id)
	if err != nil || cl.Name != "Renamed RP" || len(cl.RedirectURIs) != 2 || cl.WebsiteURL != "https://rp.example/" || cl.SecretHash != oauth.HashToken(newSecret) {
		t.Errorf("after edit: %+v, %v", cl, err)
	}
	if n := countEvents(t, "kind = ? AND detail = ? AND target = ?", models.EventAdminChange, "update client", "client "+cl.ClientID); n != 1 {
		t.Errorf("%d admin_change events for the edit, want 1", n)
	}
	if n := countEvents(t, "kind = ? AND detail = ?", models.EventAdminChange, "create client"); n != 1 {
		t.Errorf("%d admin_change events for the create, want 1", n)
	}
	if n := countEvents(t, `"before" LIKE ? OR "after" LIKE ?`, "%"+newSecret+"%", "%"+newSecret+"%"); n != 0 {
		t.Errorf("the audit log holds the client secret")
	}

	// Delete: the confirmation lists what goes with it; then its tokens die.
	deps, err := env.store.ClientDependents(ctx, id)
	if err != nil || deps.Codes != 2 || deps.Tokens != 2 || deps.Consents != 1 {
		t.Fatalf("dependents = %+v, %v; want 2 codes, 2 tokens, 1 consent", deps, err)
	}
	confirm := b.get(fmt.Sprintf("/admin/clients/%d/delete", id))
	for _, want := range []string{"2 authorization codes", "2 tokens", "1 consent", `data-testid="confirm-submit"`} {
		if !strings.Contains(confirm.body, want) {
			t.Errorf("delete confirmation lacks %q:\n%s", want, confirm.body)
		}
	}
	if _, err := env.store.ClientByID(ctx, id); err != nil {
		t.Fatalf("the confirmation page deleted the client: %v", err)
	}
	if p := b.post(fmt.Sprintf("/admin/clients/%d/delete", id), url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("delete without _csrf: %d, want 403", p.status)
	}
	p = b.post(fmt.Sprintf("/admin/clients/%d/delete", id), url.Values{"_csrf": {csrf}})
	if p.url.Path != "/admin/clients" || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Errorf("delete ended at %s (%d), want the list with a flash", p.url, p.status)
	}
	if _, err := env.store.ClientByID(ctx, id); err == nil {
		t.Errorf("client still stored after delete")
	}
	rp.wantUserinfo(t, tok2, false)
	if _, err := rp.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); err == nil {
		t.Errorf("refresh after delete: want an error")
	}
	if n := countEvents(t, "kind = ? AND detail = ?", models.EventAdminChange, "delete client"); n != 1 {
		t.Errorf("%d admin_change events for the delete, want 1", n)
	}
}

// TestAdminClientCSRF refuses admin writes without the form token.
func TestAdminClientCSRF(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	form := clientFields("No token", rpRedirect)
	if p := b.postMultipart("/admin/clients", form, nil); p.status != http.StatusForbidden {
		t.Errorf("POST /admin/clients without _csrf: %d, want 403", p.status)
	}
	form.Set("_csrf", "forged"+csrf)
	if p := b.postMultipart("/admin/clients", form, nil); p.status != http.StatusForbidden {
		t.Errorf("POST /admin/clients with a wrong _csrf: %d, want 403", p.status)
	}
	wantClientCount(t, env, 0)
	cl, _ := env.createClient(models.ClientConfidential, []string{rpRedirect})
	if p := b.post(fmt.Sprintf("/admin/clients/%d/secret", cl.ID), url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("rotate without _csrf: %d, want 403", p.status)
	}
	if got, _ := env.store.ClientByID(context.Background(), cl.ID); got.SecretHash != cl.SecretHash {
		t.Errorf("rotate without _csrf changed the secret")
	}
}

// TestAdminClientEscapesName shows a hostile client name as text on the
// admin list, the client page, the login page and the consent page.
func TestAdminClientEscapesName(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	env.createUser("alice", userPassword)
	const evil = `<script>alert(1)</script>`
	const escaped = `&lt;script&gt;alert(1)&lt;/script&gt;`
	form := clientFields(evil, rpRedirect)
	form.Set("_csrf", csrf)
	p := b.postMultipart("/admin/clients", form, nil)
	id := clientPK(t, p)
	secret := oneTimeSecret(p.body)
	cl, err := env.store.ClientByID(context.Background(), id)
	if err != nil || cl.Name != evil {
		t.Fatalf("stored name = %q, %v", cl.Name, err)
	}
	pages := map[string]string{"client page": p.body, "client list": b.get("/admin/clients").body, "edit page": b.get(fmt.Sprintf("/admin/clients/%d/edit", id)).body}

	rp := newRelyingParty(t, env, cl.ClientID, secret)
	user := env.browser()
	login := user.get(rp.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	pages["login page"] = login.body
	consent := user.submitLogin(login, "alice", userPassword)
	if !strings.Contains(consent.body, `data-testid="consent-page"`) {
		t.Fatalf("expected the consent page, got %d:\n%s", consent.status, consent.body)
	}
	pages["consent page"] = consent.body
	for name, body := range pages {
		if strings.Contains(body, evil) || strings.Contains(body, "<script>alert") {
			t.Errorf("%s: the name appears raw", name)
		}
		if !strings.Contains(body, escaped) {
			t.Errorf("%s: the escaped name is missing", name)
		}
	}
}

// TestAdminClientLogo uploads a PNG logo: it is served publicly as
// image/png at the client's Logo URL and shown on the consent page.
func TestAdminClientLogo(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	env.createUser("alice", userPassword)
	img := noisePNG(t, 32, 32)
	form := clientFields("Logo RP", rpRedirect)
	form.Set("_csrf", csrf)
	p := b.postMultipart("/admin/clients", form, &logoFile{name: "logo.bin", data: img})
	id := clientPK(t, p)
	secret := oneTimeSecret(p.body)
	cl, err := env.store.ClientByID(context.Background(), id)
	if err != nil || !strings.HasPrefix(cl.Logo, "/logos/"+cl.ClientID) {
		t.Fatalf("Logo = %q, %v; want /logos/%s...", cl.Logo, err, cl.ClientID)
	}
	resp, err := http.Get(env.issuer + cl.Logo)
	if err != nil {
		t.Fatalf("GET logo: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got, img) {
		t.Errorf("logo: %d %q, %d bytes; want 200 image/png with the upload", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
	if r, err := http.Get(env.issuer + "/logos/nope"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown logo: %v %v, want 404", r, err)
	} else {
		r.Body.Close()
	}

	rp := newRelyingParty(t, env, cl.ClientID, secret)
	user := env.browser()
	consent := user.submitLogin(user.get(rp.cfg.AuthCodeURL("st")), "alice", userPassword)
	if !strings.Contains(consent.body, `data-testid="client-logo"`) || !strings.Contains(consent.body, `src="`+html.EscapeString(cl.Logo)+`"`) {
		t.Errorf("consent page does not show the logo %s:\n%s", cl.Logo, consent.body)
	}

	// A larger logo, still within the documented 256 KiB, is accepted too.
	big := noisePNG(t, 250, 250)
	if len(big) < 100<<10 || len(big) > 256<<10 {
		t.Fatalf("big logo is %d bytes, want 100-256 KiB", len(big))
	}
	form = clientFields("Logo RP", rpRedirect)
	form.Set("_csrf", csrf)
	p = b.postMultipart(fmt.Sprintf("/admin/clients/%d", id), form, &logoFile{name: "big.png", data: big})
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("edit with a %d-byte logo: %d, want the client page:\n%s", len(big), p.status, p.body)
	}
	cl2, _ := env.store.ClientByID(context.Background(), id)
	if cl2.Logo == cl.Logo {
		t.Errorf("Logo URL did not change with the content")
	}

	// Over 256 KiB: the form says so, and the stored logo stays.
	tooBig := noisePNG(t, 300, 300)
	if len(tooBig) <= 256<<10 {
		t.Fatalf("too-big logo is only %d bytes", len(tooBig))
	}
	p = b.postMultipart(fmt.Sprintf("/admin/clients/%d", id), form, &logoFile{name: "huge.png", data: tooBig})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-logo"`) {
		t.Errorf("edit with a %d-byte logo: %d, want 422 with error-logo", len(tooBig), p.status)
	}
	if cl3, _ := env.store.ClientByID(context.Background(), id); cl3.Logo != cl2.Logo {
		t.Errorf("a refused logo replaced the stored one")
	}
}

// TestAdminClientListSearchAndPages filters the list by q and pages it
// after 25 rows.
func TestAdminClientListSearchAndPages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	for i := range 25 {
		env.createClient(models.ClientConfidential, []string{rpRedirect}, func(c *models.Client) { c.Name = fmt.Sprintf("Beta %02d", i) })
	}
	p := b.get("/admin/clients")
	if n := strings.Count(p.body, `data-testid="client-row"`); n != 25 || strings.Contains(p.body, `data-testid="pager"`) {
		t.Errorf("25 clients: %d rows, pager shown %v; want 25 rows and no pager", n, strings.Contains(p.body, "pager"))
	}
	alpha, _ := env.createClient(models.ClientPublic, []string{rpRedirect}, func(c *models.Client) { c.Name = "Alpha 100%_app" })

	p = b.get("/admin/clients")
	if n := strings.Count(p.body, `data-testid="client-row"`); n != 25 || !strings.Contains(p.body, `data-testid="pager"`) || !strings.Contains(p.body, "Page 1 of 2") {
		t.Errorf("26 clients, page 1: %d rows; want 25 and a pager with Page 1 of 2:\n%s", n, p.body)
	}
	if !strings.Contains(p.body, "Alpha 100%_app") {
		t.Errorf("page 1 lacks the newest client")
	}
	p = b.get("/admin/clients?page=2")
	if n := strings.Count(p.body, `data-testid="client-row"`); n != 1 || !strings.Contains(p.body, "Page 2 of 2") || !strings.Contains(p.body, `rel="prev"`) {
		t.Errorf("page 2: %d rows, want 1 with a link back", n)
	}

	for _, tc := range []struct {
		q    string
		want int
		has  string
	}{
		{"alpha", 1, "Alpha 100%_app"},
		{"BETA 0", 10, "Beta 05"},
		{"100%_", 1, "Alpha"},
		{"%", 1, "Alpha"},
		{"_", 1, "Alpha"},
		{alpha.ClientID, 1, "Alpha"},
		{"nothing like this", 0, ""},
	} {
		p := b.get("/admin/clients?q=" + url.QueryEscape(tc.q))
		if n := strings.Count(p.body, `data-testid="client-row"`); n != tc.want || !strings.Contains(p.body, tc.has) {
			t.Errorf("q=%q: %d rows, want %d with %q", tc.q, n, tc.want, tc.has)
		}
		if tc.want == 0 && !strings.Contains(p.body, `class="empty"`) {
			t.Errorf("q=%q: no empty-list note", tc.q)
		}
	}
	p = b.get("/admin/clients?q=beta")
	if n := strings.Count(p.body, `data-testid="client-row"`); n != 25 || strings.Contains(p.body, `data-testid="pager"`) {
		t.Errorf("q=beta: %d rows, want 25 and no pager", n)
	}
}

// TestAdminClientIDAndSecret checks what a create hands out: a client_id
// from models.NewID (26 characters of base32, 130 random bits), different
// for every client, and the secret once, with a copy button beside it.
func TestAdminClientIDAndSecret(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	idRE := regexp.MustCompile(`^[A-Z2-7]{26}$`)
	var ids []string
	for _, name := range []string{"First RP", "Second RP"} {
		form := clientFields(name, rpRedirect)
		form.Set("_csrf", csrf)
		p := b.postMultipart("/admin/clients", form, nil)
		cl, err := env.store.ClientByID(context.Background(), clientPK(t, p))
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		if !idRE.MatchString(cl.ClientID) || regexp.MustCompile(`^\d{6}$`).MatchString(cl.ClientID) {
			t.Errorf("%s: client_id %q, want 26 characters of [A-Z2-7]", name, cl.ClientID)
		}
		if got := testIDText(p.body, "client-id"); got != cl.ClientID {
			t.Errorf("%s: client-id on the page = %q, want %q", name, got, cl.ClientID)
		}
		if oneTimeSecret(p.body) == "" {
			t.Errorf("%s: no one-time secret on the page", name)
		}
		button := regexp.MustCompile(`<button[^>]*data-testid="copy-secret"[^>]*>`).FindString(p.body)
		if !strings.Contains(button, `data-copy="one-time-secret"`) {
			t.Errorf("%s: copy button for the secret = %q, want one with data-copy=\"one-time-secret\"", name, button)
		}
		ids = append(ids, cl.ClientID)
	}
	if ids[0] == ids[1] {
		t.Errorf("two clients share the client_id %q", ids[0])
	}
}

// TestAdminClientEditRejectsAndSavesNothing sends invalid edits: each is a
// 422 with the message beside the field, and the stored client, every
// field of it, and its logo stay as they were.
func TestAdminClientEditRejectsAndSavesNothing(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	img := noisePNG(t, 16, 16)
	form := clientFields("Kept RP", rpRedirect)
	form.Set("_csrf", csrf)
	form.Set("post_logout_redirect_uris", "http://127.0.0.1/rp/bye")
	form.Set("terms_url", "https://rp.example/terms")
	form.Set("contact_email", "ops@rp.example")
	id := clientPK(t, b.postMultipart("/admin/clients", form, &logoFile{name: "logo.png", data: img}))
	before, err := env.store.ClientByID(ctx, id)
	if err != nil || before.Logo == "" {
		t.Fatalf("client before = %+v, %v; want one with a logo", before, err)
	}

	other := noisePNG(t, 24, 24)
	tests := []struct {
		name  string
		edit  func(url.Values)
		file  *logoFile
		field string
	}{
		{"empty name with a new logo", func(f url.Values) { f.Set("name", "") }, &logoFile{name: "new.png", data: other}, "name"},
		{"javascript redirect URI, logo removed", func(f url.Values) {
			f.Set("redirect_uris", rpRedirect+"\njavascript:alert(1)")
			f.Set("remove_logo", "on")
		}, nil, "redirect_uris"},
		{"data post-logout URI", func(f url.Values) { f.Set("post_logout_redirect_uris", "data:text/html,bye") }, nil, "post_logout_redirect_uris"},
		{"bad terms URL", func(f url.Values) { f.Set("terms_url", "javascript:alert(1)") }, nil, "terms_url"},
		{"bad contact email", func(f url.Values) { f.Set("contact_email", "not-an-email") }, nil, "contact_email"},
		{"unserved response type", func(f url.Values) { f["response_types"] = []string{"code", "token"} }, nil, "response_types"},
		{"no scopes", func(f url.Values) { f.Set("scopes", "") }, nil, "scopes"},
		{"no grant type", func(f url.Values) { f.Del("grant_types") }, nil, "grant_types"},
		{"unserved grant type", func(f url.Values) { f["grant_types"] = []string{"authorization_code", "implicit"} }, nil, "grant_types"},
		{"grant type twice", func(f url.Values) { f["grant_types"] = []string{"refresh_token", "refresh_token"} }, nil, "grant_types"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := clientFields("Changed RP", "http://127.0.0.1/rp/other")
			f.Set("_csrf", csrf)
			f.Set("post_logout_redirect_uris", "http://127.0.0.1/rp/changed")
			f.Set("terms_url", "https://rp.example/changed")
			f.Set("contact_email", "changed@rp.example")
			f.Del("require_consent")
			tc.edit(f)
			p := b.postMultipart(fmt.Sprintf("/admin/clients/%d", id), f, tc.file)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422:\n%s", p.status, p.body)
			}
			if !strings.Contains(p.body, `data-testid="error-`+tc.field+`"`) || !strings.Contains(p.body, `data-testid="form-errors"`) {
				t.Errorf("no error-%s on the page:\n%s", tc.field, p.body)
			}
			after, err := env.store.ClientByID(ctx, id)
			if err != nil {
				t.Fatalf("reload: %v", err)
			}
			if !reflect.DeepEqual(after, before) {
				t.Errorf("stored client changed:\n got %+v\nwant %+v", after, before)
			}
			if got := getLogo(t, env, before.Logo); !bytes.Equal(got, img) {
				t.Errorf("served logo is %d bytes, want the original %d", len(got), len(img))
			}
		})
	}
}

// TestAdminClientSavedFieldsReadBack edits every optional field and reads
// the client back from the store and on the edit form.
func TestAdminClientSavedFieldsReadBack(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	form := clientFields("Read back RP", rpRedirect)
	form.Set("_csrf", csrf)
	form.Set("client_type", models.ClientPublic)
	id := clientPK(t, b.postMultipart("/admin/clients", form, nil))

	redirects := []string{rpRedirect, "com.example.app:/oauth2redirect", "http://127.0.0.1/rp/cb?a=1&b=2"}
	postLogout := []string{"http://127.0.0.1/rp/bye", "com.example.app:/logout"}
	form = clientFields("Read back RP 2", strings.Join(redirects, "\r\n")+"\n"+rpRedirect)
	form.Set("_csrf", csrf)
	form.Set("post_logout_redirect_uris", strings.Join(postLogout, "\n"))
	form.Set("terms_url", "https://rp.example/terms")
	form.Set("website_url", "https://rp.example/")
	form.Set("contact_email", "Ops <ops@rp.example>")
	form.Set("scopes", "openid email")
	form.Set("backchannel_logout_uri", "http://10.0.0.5:9000/rp/bc")
	form.Set("backchannel_logout_session_required", "on")
	form["grant_types"] = []string{"authorization_code"}
	form.Del("reuse_consent")
	p := b.postMultipart(fmt.Sprintf("/admin/clients/%d", id), form, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("edit: %d, want the client page with a success flash:\n%s", p.status, p.body)
	}
	cl, err := env.store.ClientByID(ctx, id)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"Name", cl.Name, "Read back RP 2"},
		{"ClientType", cl.ClientType, models.ClientPublic},
		{"ResponseTypes", cl.ResponseTypes, []string{"code"}},
		{"GrantTypes", cl.GrantTypes, []string{"authorization_code"}},
		{"RedirectURIs", cl.RedirectURIs, redirects},
		{"PostLogoutRedirectURIs", cl.PostLogoutRedirectURIs, postLogout},
		{"TermsURL", cl.TermsURL, "https://rp.example/terms"},
		{"WebsiteURL", cl.WebsiteURL, "https://rp.example/"},
		{"ContactEmail", cl.ContactEmail, "Ops <ops@rp.example>"},
		{"Scopes", cl.Scopes, []string{"openid", "email"}},
		{"RequireConsent", cl.RequireConsent, true},
		{"ReuseConsent", cl.ReuseConsent, false},
		{"BackchannelLogoutURI", cl.BackchannelLogoutURI, "http://10.0.0.5:9000/rp/bc"},
		{"BackchannelLogoutSessionRequired", cl.BackchannelLogoutSessionRequired, true},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.field, c.got, c.want)
		}
	}
	edit := b.get(fmt.Sprintf("/admin/clients/%d/edit", id))
	for _, want := range []string{
		html.EscapeString(strings.Join(redirects, "\n")) + "</textarea>",
		html.EscapeString(strings.Join(postLogout, "\n")) + "</textarea>",
		`value="https://rp.example/terms"`,
		`value="http://10.0.0.5:9000/rp/bc"`,
		`name="backchannel_logout_session_required" checked`,
		`value="` + html.EscapeString("Ops <ops@rp.example>") + `"`,
		`name="response_types" value="code" checked`,
		`name="grant_types" value="authorization_code" checked`,
		`name="grant_types" value="refresh_token" id=`,
	} {
		if !strings.Contains(edit.body, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}
}

// TestAdminClientRemoveLogo ticks "Remove the logo": the logo is no
// longer served, nor stored, and the consent page no longer shows it.
func TestAdminClientRemoveLogo(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	img := noisePNG(t, 16, 16)
	form := clientFields("Logo RP", rpRedirect)
	form.Set("_csrf", csrf)
	id := clientPK(t, b.postMultipart("/admin/clients", form, &logoFile{name: "logo.png", data: img}))
	cl, _ := env.store.ClientByID(ctx, id)
	logoURL := cl.Logo
	if got := getLogo(t, env, logoURL); !bytes.Equal(got, img) {
		t.Fatalf("logo before removal: %d bytes, want %d", len(got), len(img))
	}

	// Saving without ticking the box keeps the logo.
	p := b.postMultipart(fmt.Sprintf("/admin/clients/%d", id), form, nil)
	if p.status != http.StatusOK {
		t.Fatalf("edit: %d", p.status)
	}
	if got := getLogo(t, env, logoURL); !bytes.Equal(got, img) {
		t.Errorf("logo after an edit without removal: %d bytes, want %d", len(got), len(img))
	}

	form.Set("remove_logo", "on")
	p = b.postMultipart(fmt.Sprintf("/admin/clients/%d", id), form, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("remove logo: %d, want the client page:\n%s", p.status, p.body)
	}
	if cl, _ := env.store.ClientByID(ctx, id); cl.Logo != "" {
		t.Errorf("Logo = %q after removal, want \"\"", cl.Logo)
	}
	for _, path := range []string{logoURL, "/logos/" + cl.ClientID} {
		resp, err := http.Get(env.issuer + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s after removal: %d, want 404", path, resp.StatusCode)
		}
	}
	if n := countRows(t, &models.ClientLogo{}, "client_id = ?", id); n != 0 {
		t.Errorf("%d logo rows stored after removal, want 0", n)
	}
}

// TestAdminClientLogoFailureStoresNothing makes storing the logo fail
// (a SQLite trigger refuses it): a create then stores no client, so there
// is none whose secret was never shown, and an edit changes nothing.
func TestAdminClientLogoFailureStoresNothing(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	cl, _ := env.createClient(models.ClientConfidential, []string{rpRedirect})
	refuseWrites(t, "client_logos", "INSERT", "UPDATE")
	logo := &logoFile{name: "logo.png", data: noisePNG(t, 16, 16)}

	form := clientFields("Doomed RP", rpRedirect)
	form.Set("_csrf", csrf)
	p := b.postMultipart("/admin/clients", form, logo)
	if p.status != http.StatusInternalServerError {
		t.Errorf("create with a failing logo: %d, want 500", p.status)
	}
	if _, n, err := env.store.ListClients(ctx, "Doomed", models.Page{Limit: 10}); err != nil || n != 0 {
		t.Errorf("%d clients named Doomed stored (%v), want 0", n, err)
	}
	if p := b.get("/admin/clients"); oneTimeSecret(p.body) != "" {
		t.Errorf("a secret was queued for a client that was not stored")
	}

	form = clientFields("Renamed", rpRedirect)
	form.Set("_csrf", csrf)
	if p := b.postMultipart(fmt.Sprintf("/admin/clients/%d", cl.ID), form, logo); p.status != http.StatusInternalServerError {
		t.Errorf("edit with a failing logo: %d, want 500", p.status)
	}
	if got, _ := env.store.ClientByID(ctx, cl.ID); got.Name != cl.Name || got.Logo != "" {
		t.Errorf("after a failed edit: name %q, logo %q; want %q and no logo", got.Name, got.Logo, cl.Name)
	}
}

// TestAdminClientSecretNotQueuedStoresNothing makes queueing the one-time
// secret fail (a SQLite trigger refuses to save the session): the client
// just stored is taken back, since nobody could ever see its secret.
func TestAdminClientSecretNotQueuedStoresNothing(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	refuseWrites(t, "sessions", "UPDATE")
	form := clientFields("Secretless RP", rpRedirect)
	form.Set("_csrf", csrf)
	if p := b.postMultipart("/admin/clients", form, nil); p.status != http.StatusInternalServerError {
		t.Errorf("create with a failing session: %d, want 500", p.status)
	}
	wantClientCount(t, env, 0)
}

// TestAdminClientRotationNotQueuedKeepsOldSecret: when the rotated secret
// cannot be queued for the next page, nobody could ever learn it, so the
// rotation is withdrawn and the old secret keeps working.
func TestAdminClientRotationNotQueuedKeepsOldSecret(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	client, secret := env.createClient(models.ClientConfidential, []string{rpRedirect})
	refuseWrites(t, "sessions", "UPDATE")
	if p := b.post(fmt.Sprintf("/admin/clients/%d/secret", client.ID), url.Values{"_csrf": {csrf}}); p.status != http.StatusInternalServerError {
		t.Errorf("rotate with a failing session: %d, want 500", p.status)
	}
	cl, err := env.store.ClientByID(context.Background(), client.ID)
	if err != nil || cl.SecretHash != oauth.HashToken(secret) {
		t.Errorf("after a rotation that could not be shown: %v, secret hash kept = %v; want the old secret in force", err, err == nil && cl.SecretHash == oauth.HashToken(secret))
	}
}

// TestAdminClientIntegrationPanel reads the panel for clients whose
// redirect URI holds &, $ and ', and runs its commands as printed: the
// authorize URL in the browser, then the curl commands through bash with
// CODE, CLIENT_SECRET, ACCESS_TOKEN and REFRESH_TOKEN set as the panel
// says.
func TestAdminClientIntegrationPanel(t *testing.T) {
	t.Parallel()
	const redirect = `http://127.0.0.1/rp/cb?a=1&b=2&home=$HOME&q='x'`
	const quoted = `'redirect_uri=http://127.0.0.1/rp/cb?a=1&b=2&home=$HOME&q='\''x'\'''`
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	env.createUser("alice", userPassword)
	bash, bashErr := exec.LookPath("bash")
	_, curlErr := exec.LookPath("curl")

	for _, clientType := range []string{models.ClientConfidential, models.ClientPublic} {
		t.Run(clientType, func(t *testing.T) {
			form := clientFields("Panel "+clientType, redirect)
			form.Set("_csrf", csrf)
			form.Set("client_type", clientType)
			p := b.postMultipart("/admin/clients", form, nil)
			cl, err := env.store.ClientByID(context.Background(), clientPK(t, p))
			if err != nil || !slices.Equal(cl.RedirectURIs, []string{redirect}) {
				t.Fatalf("client = %+v, %v; want the redirect URI %q", cl, err, redirect)
			}
			secret := oneTimeSecret(p.body)

			if got, want := testIDText(p.body, "int-discovery"), env.issuer+"/.well-known/openid-configuration"; got != want {
				t.Errorf("discovery URL = %q, want %q", got, want)
			}
			if got := testIDText(p.body, "int-client-id"); got != cl.ClientID {
				t.Errorf("client_id = %q, want %q", got, cl.ClientID)
			}
			lines := []string{
				"curl -X POST",
				"  -H 'Cache-Control: no-cache'",
				"  '" + env.issuer + "/token/'",
				"  --data-urlencode 'client_id=" + cl.ClientID + "'",
			}
			if clientType == models.ClientConfidential {
				lines = append(lines, `  --data-urlencode "client_secret=$CLIENT_SECRET"`)
			}
			lines = append(lines, `  --data-urlencode "code=$CODE"`, "  --data-urlencode "+quoted)
			if clientType == models.ClientPublic {
				lines = append(lines, "  --data-urlencode 'code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'")
			}
			lines = append(lines, "  --data-urlencode 'grant_type=authorization_code'")
			tokenCmd := testIDText(p.body, "int-token")
			if want := strings.Join(lines, " \\\n"); tokenCmd != want {
				t.Errorf("token command:\n%s\nwant:\n%s", tokenCmd, want)
			}
			if !strings.Contains(p.body, "CODE=&#39;…&#39;") {
				t.Errorf("the panel does not say to set CODE='…'")
			}

			authorize := testIDText(p.body, "int-authorize")
			u, err := url.Parse(authorize)
			if err != nil || u.Query().Get("redirect_uri") != redirect || u.Query().Get("client_id") != cl.ClientID {
				t.Fatalf("authorize URL %q does not carry the client_id and redirect URI (%v)", authorize, err)
			}
			back := env.browser().authorize(authorize, "alice", userPassword, "allow")
			code := back.Query().Get("code")
			if code == "" || back.Query().Get("state") != "123123" || back.Query().Get("b") != "2" {
				t.Fatalf("authorize redirected to %s, want the redirect URI with a code and state", back)
			}

			if bashErr != nil || curlErr != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("bash and curl must run the panel's commands in CI (.ci/run installs curl): bash: %v, curl: %v", bashErr, curlErr)
				}
				t.Skipf("the commands are not run: bash: %v, curl: %v", bashErr, curlErr)
			}
			vars := map[string]string{"CODE": code}
			if secret != "" {
				vars["CLIENT_SECRET"] = secret
			}
			tok := runPanel(t, bash, vars, tokenCmd)
			access, _ := tok["access_token"].(string)
			refresh, _ := tok["refresh_token"].(string)
			if access == "" || tok["id_token"] == nil {
				t.Fatalf("token command answered %v, want tokens", tok)
			}
			info := runPanel(t, bash, map[string]string{"ACCESS_TOKEN": access}, testIDText(p.body, "int-userinfo"))
			if info["sub"] == nil {
				t.Errorf("userinfo command answered %v, want claims with sub", info)
			}
			if refresh == "" {
				if clientType == models.ClientConfidential {
					t.Errorf("no refresh_token for offline_access: %v", tok)
				}
				return
			}
			vars["REFRESH_TOKEN"] = refresh
			if next := runPanel(t, bash, vars, testIDText(p.body, "int-refresh")); next["access_token"] == nil || next["access_token"] == access {
				t.Errorf("refresh command answered %v, want a new access token", next)
			}
		})
	}
}

// runPanel runs a panel command with bash, after setting shell variables
// the way the panel says (NAME='value'), and decodes the JSON it prints.
// HOME is a fresh folder and no proxy is set, so neither a ~/.curlrc nor
// a proxy gets between curl and the loopback test server.
func runPanel(t *testing.T, bash string, vars map[string]string, command string) map[string]any {
	t.Helper()
	var script strings.Builder
	for k, v := range vars {
		fmt.Fprintf(&script, "%s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
	script.WriteString(command + "\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-c", script.String())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run %q: %v\n%s", command, err, stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%q printed %q, want JSON: %v", command, stdout.String(), err)
	}
	return out
}

// getLogo fetches a logo URL and returns the body, or nil when it is
// not a 200.
func getLogo(t *testing.T, env *testEnv, path string) []byte {
	t.Helper()
	resp, err := http.Get(env.issuer + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	return body
}

// clientFields is a valid new-client form, without _csrf.
func clientFields(name, redirectURIs string) url.Values {
	return url.Values{
		"name": {name}, "client_type": {models.ClientConfidential}, "response_types": {"code"}, "grant_types": {"authorization_code", "refresh_token"},
		"redirect_uris": {redirectURIs}, "scopes": {"openid profile email offline_access"}, "jwt_alg": {"RS256"},
		"require_consent": {"on"}, "reuse_consent": {"on"},
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

var clientPathRE = regexp.MustCompile(`^/admin/clients/(\d+)$`)

// clientPK reads the client's primary key from the page the browser
// landed on after a create.
func clientPK(t *testing.T, p page) uint {
	t.Helper()
	m := clientPathRE.FindStringSubmatch(p.url.Path)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("expected a client page, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	n, _ := strconv.ParseUint(m[1], 10, 32)
	return uint(n)
}

var oneTimeSecretRE = regexp.MustCompile(`<input[^>]*data-testid="one-time-secret"[^>]*>`)
var valueAttrRE = regexp.MustCompile(`value="([^"]*)"`)

// oneTimeSecret is the secret shown once on a page, or "".
func oneTimeSecret(body string) string {
	tag := oneTimeSecretRE.FindString(body)
	if m := valueAttrRE.FindStringSubmatch(tag); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func wantClientCount(t *testing.T, env *testEnv, want int64) {
	t.Helper()
	_, n, err := env.store.ListClients(context.Background(), "", models.Page{Limit: 1})
	if err != nil || n != want {
		t.Errorf("%d clients stored (%v), want %d", n, err, want)
	}
}

func noisePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	// Noise keeps a large image large after compression.
	seed := uint32(7)
	for y := range h {
		for x := range w {
			seed = seed*1664525 + 1013904223
			img.Set(x, y, color.NRGBA{uint8(seed >> 24), uint8(seed >> 16), uint8(seed >> 8), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("encode png: %v", err)
	}
	return buf.Bytes()
}

// relyingParty is a go-oidc relying party for a client made in the
// admin site.
type relyingParty struct {
	provider *oidc.Provider
	cfg      oauth2.Config
}

func newRelyingParty(t *testing.T, env *testEnv, clientID, secret string) *relyingParty {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &relyingParty{provider: provider, cfg: oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: rpRedirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "offline_access"},
	}}
}

// code walks the user through login and consent and returns the code and
// its PKCE verifier.
func (rp *relyingParty) code(t *testing.T, env *testEnv, username string) (string, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	back := env.browser().authorize(rp.cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1")), username, userPassword, "allow")
	if got := back.Scheme + "://" + back.Host + back.Path; got != rpRedirect || back.Query().Get("code") == "" {
		t.Fatalf("redirected to %s, want %s with a code", back, rpRedirect)
	}
	return back.Query().Get("code"), verifier
}

// flow runs the whole code flow and verifies the ID token.
func (rp *relyingParty) flow(t *testing.T, env *testEnv, username string) *oauth2.Token {
	t.Helper()
	code, verifier := rp.code(t, env, username)
	ctx := context.Background()
	tok, err := rp.cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.provider.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID}).Verify(ctx, raw)
	if err != nil || idt.Nonce != "n-1" {
		t.Fatalf("id token: %v (nonce %v)", err, idt)
	}
	return tok
}

func (rp *relyingParty) wantUserinfo(t *testing.T, tok *oauth2.Token, ok bool) {
	t.Helper()
	_, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if ok && err != nil {
		t.Errorf("userinfo: %v", err)
	}
	if !ok && err == nil {
		t.Errorf("userinfo: succeeded, want 401")
	}
}

// TestAdminClientSecretNeverStored: the one-time secret reaches the next
// page in an encrypted, short-lived cookie of its own, and is at no point
// written to the database, not even inside the session row that carries
// the flash message (PARITY §4, seed system issue #462).
func TestAdminClientSecretNeverStored(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	// The same cookie jar, stopping at each redirect, so the database can
	// be read between the POST and the page it redirects to.
	stop := &browser{t: t, env: env, client: &http.Client{Jar: b.client.Jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

	form := clientFields("Secret RP", rpRedirect)
	form.Set("_csrf", csrf)
	posted := stop.postMultipart("/admin/clients", form, nil)
	if posted.status != http.StatusSeeOther {
		t.Fatalf("create: %d, want 303", posted.status)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: posted.header}).Cookies() {
		if c.Name == "oidcd_secret" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Path != "/admin" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.MaxAge <= 0 || cookie.MaxAge > 300 {
		t.Fatalf("secret cookie = %+v, want HttpOnly, SameSite=Strict, Path=/admin, Max-Age at most 300", cookie)
	}
	stored := databaseText(t)

	shown := b.get(posted.location().String())
	secret := oneTimeSecret(shown.body)
	if secret == "" || len(secret) < 20 {
		t.Fatalf("no one-time secret on the client page:\n%s", shown.body)
	}
	if strings.Contains(cookie.Value, secret) {
		t.Errorf("the secret cookie holds the secret in the clear")
	}
	if strings.Contains(stored, secret) {
		t.Errorf("the database held the client secret between the create and the page that shows it")
	}
	for _, c := range b.client.Jar.Cookies(shown.url) {
		if c.Name == "oidcd_secret" {
			t.Errorf("the secret cookie is still set after the page showed it")
		}
	}
	if again := b.get(shown.url.Path); oneTimeSecret(again.body) != "" {
		t.Errorf("the secret shows a second time")
	}

	// Rotation takes the same way.
	id := clientPK(t, shown)
	rotated := stop.post(fmt.Sprintf("/admin/clients/%d/secret", id), url.Values{"_csrf": {csrf}})
	stored = databaseText(t)
	newSecret := oneTimeSecret(b.get(rotated.location().String()).body)
	if newSecret == "" || newSecret == secret {
		t.Fatalf("rotate: new secret %q", newSecret)
	}
	if strings.Contains(stored, newSecret) {
		t.Errorf("the database held the rotated secret")
	}
}
