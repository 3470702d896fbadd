package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"oidcd/admin"
	"oidcd/handlers/oauth"
	"oidcd/models"
)

// The admin site's first run, its access rules and the client pages,
// driven through the full router with the harness's cookie-jar browser.

const (
	acAdminPassword = "admin password 1"
	acUserPassword  = "user password 1"
	acRedirect      = "http://127.0.0.1/rp/cb"
)

// TestSetupFirstAdmin walks the first-run link: a wrong token is a 404, a
// form with errors creates nothing, a valid one creates an active
// superuser, signs them in, and kills the link.
func TestSetupFirstAdmin(t *testing.T) {
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
		f := acClone(form)
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

	f := acClone(form)
	f.Set("username", "root")
	f.Set("email", "root@example.org")
	f.Set("password", acAdminPassword)
	f.Set("password_confirm", acAdminPassword)
	p = b.post("/admin/setup", f)
	if p.status != http.StatusOK || p.url.Path != "/admin" || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Fatalf("valid setup: got %d at %s, want the dashboard:\n%s", p.status, p.url, p.body)
	}
	u, err := env.store.UserByUsername(ctx, "root")
	if err != nil || !u.Active || !u.Superuser || u.Email != "root@example.org" || !models.CheckPassword(u, acAdminPassword) {
		t.Fatalf("created admin = %+v, %v; want an active superuser with the password", u, err)
	}
	if p := b.get("/admin"); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Errorf("GET /admin after setup: got %d, want the dashboard", p.status)
	}

	if p := b.get(link); p.status != http.StatusNotFound || strings.Contains(p.body, "setup-form") {
		t.Errorf("used link: got %d, want 404", p.status)
	}
	f.Set("username", "second")
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
	env := newTestEnv(t)
	env.createUser("root", acAdminPassword, func(u *models.User) { u.Superuser = true })
	env.createUser("bob", acUserPassword)

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
	p = b.submitLogin(p, "root", acAdminPassword)
	if p.status != http.StatusOK || p.url.Path != "/admin" || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Fatalf("after login: %d at %s, want the dashboard at /admin:\n%s", p.status, p.url, p.body)
	}

	for _, next := range []string{"https://evil.example", "//evil.example/admin", "/\\evil.example/admin", "/authorize?x=1"} {
		b := env.browser()
		p := b.get("/login?next=" + url.QueryEscape(next))
		form := hiddenFields(p.body)
		form.Set("username", "root")
		form.Set("password", acAdminPassword)
		form.Set("next", next) // as a forged form would carry it
		p = b.post("/login", form)
		if p.url.Host != strings.TrimPrefix(env.issuer, "http://") || p.url.Path != "/" {
			t.Errorf("login with next=%q ended at %s, want %s/", next, p.url, env.issuer)
		}
	}

	bob := env.browser()
	p = bob.submitLogin(bob.get("/login"), "bob", acUserPassword)
	if p.url.Path != "/" {
		t.Fatalf("bob's login ended at %s", p.url)
	}
	for _, path := range []string{"/admin", "/admin/clients", "/admin/clients/new"} {
		p := bob.get(path)
		if p.status != http.StatusForbidden || strings.Contains(p.body, "dashboard-page") || strings.Contains(p.body, "clients-page") {
			t.Errorf("non-admin GET %s: %d, want 403 without the page", path, p.status)
		}
	}
	form := acClientFields("Sneaky", acRedirect)
	form.Set("_csrf", hiddenFields(bob.get("/").body).Get("_csrf"))
	if p := acPostMultipart(bob, "/admin/clients", form, nil); p.status != http.StatusForbidden {
		t.Errorf("non-admin POST /admin/clients: %d, want 403", p.status)
	}
	acWantClients(t, env, 0)
}

// TestAdminClientFormRejects sends invalid client forms: each is a 422 with
// the message beside the field, and nothing is saved.
func TestAdminClientFormRejects(t *testing.T) {
	env := newTestEnv(t)
	b, csrf := acAdmin(t, env)
	textFile := &acUpload{name: "logo.png", data: []byte("this is not an image, whatever its name says")}
	tests := []struct {
		name  string
		edit  func(url.Values)
		file  *acUpload
		field string
	}{
		{"empty name", func(f url.Values) { f.Set("name", "  ") }, nil, "name"},
		{"no redirect URI", func(f url.Values) { f.Set("redirect_uris", "") }, nil, "redirect_uris"},
		{"relative redirect URI", func(f url.Values) { f.Set("redirect_uris", "/rp/cb") }, nil, "redirect_uris"},
		{"redirect URI with fragment", func(f url.Values) { f.Set("redirect_uris", acRedirect+"#frag") }, nil, "redirect_uris"},
		{"second redirect URI bad", func(f url.Values) { f.Set("redirect_uris", acRedirect+"\nnot a uri") }, nil, "redirect_uris"},
		{"bad website URL", func(f url.Values) { f.Set("website_url", "javascript:alert(1)") }, nil, "website_url"},
		{"bad terms URL", func(f url.Values) { f.Set("terms_url", "example.org/terms") }, nil, "terms_url"},
		{"bad contact email", func(f url.Values) { f.Set("contact_email", "not-an-email") }, nil, "contact_email"},
		{"unknown client type", func(f url.Values) { f.Set("client_type", "superclient") }, nil, "client_type"},
		{"no scopes", func(f url.Values) { f.Set("scopes", " ") }, nil, "scopes"},
		{"non-image logo", func(url.Values) {}, textFile, "logo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := acClientFields("Good name", acRedirect)
			form.Set("_csrf", csrf)
			tc.edit(form)
			p := acPostMultipart(b, "/admin/clients", form, tc.file)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422:\n%s", p.status, p.body)
			}
			if !strings.Contains(p.body, `data-testid="error-`+tc.field+`"`) || !strings.Contains(p.body, `data-testid="form-errors"`) {
				t.Errorf("no error-%s on the page:\n%s", tc.field, p.body)
			}
			if n := strings.Count(p.body, `class="field-error"`); n != 1 {
				t.Errorf("%d field errors on the page, want 1", n)
			}
			acWantClients(t, env, 0)
		})
	}
}

// TestAdminClientLifecycle creates a client through the form, uses it in a
// code flow, rotates its secret, edits and deletes it.
func TestAdminClientLifecycle(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	b, csrf := acAdmin(t, env)
	env.createUser("alice", acUserPassword)

	form := acClientFields("Lifecycle RP", acRedirect)
	form.Set("_csrf", csrf)
	p := acPostMultipart(b, "/admin/clients", form, nil)
	id := acClientPK(t, p)
	secret := acOneTimeSecret(p.body)
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
	if got := acTestIDText(p.body, "client-id"); got != cl.ClientID {
		t.Errorf("client-id on the page = %q, want %q", got, cl.ClientID)
	}
	if cl.Name != "Lifecycle RP" || !cl.HasRedirectURI(acRedirect) || cl.IsPublic() || !cl.RequireConsent {
		t.Errorf("stored client = %+v", cl)
	}
	if again := b.get(fmt.Sprintf("/admin/clients/%d", id)); again.status != http.StatusOK || acOneTimeSecret(again.body) != "" || strings.Contains(again.body, secret) {
		t.Errorf("reload of the client page still shows the secret (%d)", again.status)
	}
	if strings.Contains(env.logs.String(), secret) {
		t.Errorf("the server log contains the client secret")
	}

	rp := acRP(t, env, cl.ClientID, secret)
	tok := rp.flow(t, env, "alice")
	rp.wantUserinfo(t, tok, true)

	// Rotate: the old secret is refused at /token, the new one works.
	p = b.post(fmt.Sprintf("/admin/clients/%d/secret", id), url.Values{"_csrf": {csrf}})
	newSecret := acOneTimeSecret(p.body)
	if p.status != http.StatusOK || newSecret == "" || newSecret == secret {
		t.Fatalf("rotate: %d, new secret %q, want a fresh one:\n%s", p.status, newSecret, p.body)
	}
	code, verifier := rp.code(t, env, "alice")
	resp, body := postForm(t, env.issuer+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {acRedirect},
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
	form = acClientFields("Renamed RP", acRedirect+"\nhttp://127.0.0.1/rp/cb2")
	form.Set("_csrf", csrf)
	form.Set("website_url", "https://rp.example/")
	p = acPostMultipart(b, fmt.Sprintf("/admin/clients/%d", id), form, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) || acTestIDText(p.body, "client-title") != "Renamed RP" {
		t.Fatalf("edit: %d, want the client page with a success flash:\n%s", p.status, p.body)
	}
	cl, err = env.store.ClientByID(ctx, id)
	if err != nil || cl.Name != "Renamed RP" || len(cl.RedirectURIs) != 2 || cl.WebsiteURL != "https://rp.example/" || cl.SecretHash != oauth.HashToken(newSecret) {
		t.Errorf("after edit: %+v, %v", cl, err)
	}
	if n := acCountEvents(t, "kind = ? AND detail = ? AND target = ?", models.EventAdminChange, "update client", "client "+cl.ClientID); n != 1 {
		t.Errorf("%d admin_change events for the edit, want 1", n)
	}
	if n := acCountEvents(t, "kind = ? AND detail = ?", models.EventAdminChange, "create client"); n != 1 {
		t.Errorf("%d admin_change events for the create, want 1", n)
	}
	if n := acCountEvents(t, `"before" LIKE ? OR "after" LIKE ?`, "%"+newSecret+"%", "%"+newSecret+"%"); n != 0 {
		t.Errorf("the audit log holds the client secret")
	}

	// Delete: the confirmation lists what goes with it; then its tokens die.
	deps, err := env.store.ClientDependents(ctx, id)
	if err != nil || deps.Codes != 2 || deps.Tokens != 2 || deps.Consents != 1 {
		t.Fatalf("dependents = %+v, %v; want 2 codes, 2 tokens, 1 consent", deps, err)
	}
	confirm := b.get(fmt.Sprintf("/admin/clients/%d/delete", id))
	for _, want := range []string{"2 authorization code(s)", "2 token(s)", "1 consent(s)", `data-testid="confirm-delete"`} {
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
	if n := acCountEvents(t, "kind = ? AND detail = ?", models.EventAdminChange, "delete client"); n != 1 {
		t.Errorf("%d admin_change events for the delete, want 1", n)
	}
}

// TestAdminClientCSRF refuses admin writes without the form token.
func TestAdminClientCSRF(t *testing.T) {
	env := newTestEnv(t)
	b, csrf := acAdmin(t, env)
	form := acClientFields("No token", acRedirect)
	if p := acPostMultipart(b, "/admin/clients", form, nil); p.status != http.StatusForbidden {
		t.Errorf("POST /admin/clients without _csrf: %d, want 403", p.status)
	}
	form.Set("_csrf", "forged"+csrf)
	if p := acPostMultipart(b, "/admin/clients", form, nil); p.status != http.StatusForbidden {
		t.Errorf("POST /admin/clients with a wrong _csrf: %d, want 403", p.status)
	}
	acWantClients(t, env, 0)
	cl, _ := env.createClient(models.ClientConfidential, []string{acRedirect})
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
	env := newTestEnv(t)
	b, csrf := acAdmin(t, env)
	env.createUser("alice", acUserPassword)
	const evil = `<script>alert(1)</script>`
	const escaped = `&lt;script&gt;alert(1)&lt;/script&gt;`
	form := acClientFields(evil, acRedirect)
	form.Set("_csrf", csrf)
	p := acPostMultipart(b, "/admin/clients", form, nil)
	id := acClientPK(t, p)
	secret := acOneTimeSecret(p.body)
	cl, err := env.store.ClientByID(context.Background(), id)
	if err != nil || cl.Name != evil {
		t.Fatalf("stored name = %q, %v", cl.Name, err)
	}
	pages := map[string]string{"client page": p.body, "client list": b.get("/admin/clients").body, "edit page": b.get(fmt.Sprintf("/admin/clients/%d/edit", id)).body}

	rp := acRP(t, env, cl.ClientID, secret)
	user := env.browser()
	login := user.get(rp.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	pages["login page"] = login.body
	consent := user.submitLogin(login, "alice", acUserPassword)
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
	env := newTestEnv(t)
	b, csrf := acAdmin(t, env)
	env.createUser("alice", acUserPassword)
	img := acPNG(t, 32, 32)
	form := acClientFields("Logo RP", acRedirect)
	form.Set("_csrf", csrf)
	p := acPostMultipart(b, "/admin/clients", form, &acUpload{name: "logo.bin", data: img})
	id := acClientPK(t, p)
	secret := acOneTimeSecret(p.body)
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

	rp := acRP(t, env, cl.ClientID, secret)
	user := env.browser()
	consent := user.submitLogin(user.get(rp.cfg.AuthCodeURL("st")), "alice", acUserPassword)
	if !strings.Contains(consent.body, `data-testid="client-logo"`) || !strings.Contains(consent.body, `src="`+html.EscapeString(cl.Logo)+`"`) {
		t.Errorf("consent page does not show the logo %s:\n%s", cl.Logo, consent.body)
	}

	// A larger logo, still within the documented 256 KiB, is accepted too.
	big := acPNG(t, 250, 250)
	if len(big) < 100<<10 || len(big) > 256<<10 {
		t.Fatalf("big logo is %d bytes, want 100-256 KiB", len(big))
	}
	form = acClientFields("Logo RP", acRedirect)
	form.Set("_csrf", csrf)
	p = acPostMultipart(b, fmt.Sprintf("/admin/clients/%d", id), form, &acUpload{name: "big.png", data: big})
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="flash-success"`) {
		t.Fatalf("edit with a %d-byte logo: %d, want the client page:\n%s", len(big), p.status, p.body)
	}
	cl2, _ := env.store.ClientByID(context.Background(), id)
	if cl2.Logo == cl.Logo {
		t.Errorf("Logo URL did not change with the content")
	}

	// Over 256 KiB: the form says so, and the stored logo stays.
	tooBig := acPNG(t, 300, 300)
	if len(tooBig) <= 256<<10 {
		t.Fatalf("too-big logo is only %d bytes", len(tooBig))
	}
	p = acPostMultipart(b, fmt.Sprintf("/admin/clients/%d", id), form, &acUpload{name: "huge.png", data: tooBig})
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
	env := newTestEnv(t)
	b, _ := acAdmin(t, env)
	for i := range 25 {
		env.createClient(models.ClientConfidential, []string{acRedirect}, func(c *models.Client) { c.Name = fmt.Sprintf("Beta %02d", i) })
	}
	p := b.get("/admin/clients")
	if n := strings.Count(p.body, `data-testid="client-row"`); n != 25 || strings.Contains(p.body, `data-testid="pager"`) {
		t.Errorf("25 clients: %d rows, pager shown %v; want 25 rows and no pager", n, strings.Contains(p.body, "pager"))
	}
	alpha, _ := env.createClient(models.ClientPublic, []string{acRedirect}, func(c *models.Client) { c.Name = "Alpha 100%_app" })

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

// acAdmin makes a superuser and signs a browser in as them through the
// login page; it returns the browser and its CSRF token.
func acAdmin(t *testing.T, env *testEnv) (*browser, string) {
	t.Helper()
	env.createUser("root", acAdminPassword, func(u *models.User) { u.Superuser = true })
	b := env.browser()
	p := b.submitLogin(b.get("/admin/clients/new"), "root", acAdminPassword)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="client-form-page"`) {
		t.Fatalf("admin login: %d at %s, want the new-client form", p.status, p.url)
	}
	csrf := hiddenFields(p.body).Get("_csrf")
	if csrf == "" {
		t.Fatalf("no _csrf on the client form")
	}
	return b, csrf
}

// acClientFields is a valid new-client form, without _csrf.
func acClientFields(name, redirectURIs string) url.Values {
	return url.Values{
		"name": {name}, "client_type": {models.ClientConfidential}, "response_types": {"code"},
		"redirect_uris": {redirectURIs}, "scopes": {"openid profile email offline_access"}, "jwt_alg": {"RS256"},
		"require_consent": {"on"}, "reuse_consent": {"on"},
	}
}

func acClone(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// acUpload is a file for the logo field.
type acUpload struct {
	name string
	data []byte
}

// acPostMultipart posts a form as multipart/form-data, as the client form
// is sent.
func acPostMultipart(b *browser, path string, fields url.Values, file *acUpload) page {
	b.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				b.t.Fatalf("multipart: %v", err)
			}
		}
	}
	if file != nil {
		fw, err := w.CreateFormFile("logo", file.name)
		if err != nil {
			b.t.Fatalf("multipart: %v", err)
		}
		fw.Write(file.data)
	}
	if err := w.Close(); err != nil {
		b.t.Fatalf("multipart: %v", err)
	}
	req, err := http.NewRequest(http.MethodPost, b.abs(path), &buf)
	if err != nil {
		b.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

var acClientPathRE = regexp.MustCompile(`^/admin/clients/(\d+)$`)

// acClientPK reads the client's primary key from the page the browser
// landed on after a create.
func acClientPK(t *testing.T, p page) uint {
	t.Helper()
	m := acClientPathRE.FindStringSubmatch(p.url.Path)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("expected a client page, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	n, _ := strconv.ParseUint(m[1], 10, 32)
	return uint(n)
}

var acSecretRE = regexp.MustCompile(`<input[^>]*data-testid="one-time-secret"[^>]*>`)
var acValueRE = regexp.MustCompile(`value="([^"]*)"`)

// acOneTimeSecret is the secret shown once on a page, or "".
func acOneTimeSecret(body string) string {
	tag := acSecretRE.FindString(body)
	if m := acValueRE.FindStringSubmatch(tag); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// acTestIDText is the text inside the element with the test id.
func acTestIDText(body, testID string) string {
	re := regexp.MustCompile(`data-testid="` + regexp.QuoteMeta(testID) + `"[^>]*>([^<]*)<`)
	if m := re.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func acWantClients(t *testing.T, env *testEnv, want int64) {
	t.Helper()
	_, n, err := env.store.ListClients(context.Background(), "", models.Page{Limit: 1})
	if err != nil || n != want {
		t.Errorf("%d clients stored (%v), want %d", n, err, want)
	}
}

// acCountEvents counts audit rows matching a condition. The store has no
// audit query yet, so it reads the test's SQLite file directly:
// modelstest.Open put it in the test's first temp folder.
func acCountEvents(t *testing.T, cond string, args ...any) int64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "oidcd.db"))
	if len(files) != 1 {
		t.Fatalf("found databases %v, want one", files)
	}
	db, err := gorm.Open(sqlite.Open("file:"+files[0]+"?mode=ro&_busy_timeout=5000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	var n int64
	if err := db.Model(&models.Event{}).Where(cond, args...).Count(&n).Error; err != nil {
		t.Fatalf("count events: %v", err)
	}
	return n
}

func acPNG(t *testing.T, w, h int) []byte {
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

// acRelyingParty is a go-oidc relying party for a client made in the
// admin site.
type acRelyingParty struct {
	provider *oidc.Provider
	cfg      oauth2.Config
}

func acRP(t *testing.T, env *testEnv, clientID, secret string) *acRelyingParty {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), env.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &acRelyingParty{provider: provider, cfg: oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: acRedirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "offline_access"},
	}}
}

// code walks the user through login and consent and returns the code and
// its PKCE verifier.
func (rp *acRelyingParty) code(t *testing.T, env *testEnv, username string) (string, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	back := env.browser().authorize(rp.cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1")), username, acUserPassword, "allow")
	if got := back.Scheme + "://" + back.Host + back.Path; got != acRedirect || back.Query().Get("code") == "" {
		t.Fatalf("redirected to %s, want %s with a code", back, acRedirect)
	}
	return back.Query().Get("code"), verifier
}

// flow runs the whole code flow and verifies the ID token.
func (rp *acRelyingParty) flow(t *testing.T, env *testEnv, username string) *oauth2.Token {
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

func (rp *acRelyingParty) wantUserinfo(t *testing.T, tok *oauth2.Token, ok bool) {
	t.Helper()
	_, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if ok && err != nil {
		t.Errorf("userinfo: %v", err)
	}
	if !ok && err == nil {
		t.Errorf("userinfo: succeeded, want 401")
	}
}
