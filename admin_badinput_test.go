package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"oidcd/models"
)

// TestAdminRefusesNUL: a NUL byte in an admin search, a path or a form
// field is the sender's error (400), never a server error, and saves
// nothing. The PostgreSQL run (OIDC_TEST_DATABASE=postgres) runs it too,
// where a NUL would reach a query PostgreSQL refuses.
func TestAdminRefusesNUL(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	for _, path := range []string{
		"/admin/clients?q=a%00b", "/admin/users?q=%00", "/admin/audit?user=a%00", "/admin/clients/1%00",
		"/logos/a%00b", "/consent?req=a%00b", "/authorize/resume?req=%00", "/login?req=%00",
	} {
		if p := b.get(path); p.status != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", path, p.status)
		}
	}
	form := clientFields("Nul\x00RP", "https://rp.example/cb")
	form.Set("_csrf", csrf)
	if p := b.post("/admin/clients", form); p.status != http.StatusBadRequest || !strings.Contains(p.body, `data-testid="error-page"`) {
		t.Errorf("POST /admin/clients with a NUL in the name: %d, want the 400 page:\n%.400s", p.status, p.body)
	}
	wantClientCount(t, env, 0)
	user := url.Values{"_csrf": {csrf}, "username": {"bob\x00"}, "password": {"bob password 1"}, "password_confirm": {"bob password 1"}}
	if p := b.post("/admin/users", user); p.status != http.StatusBadRequest {
		t.Errorf("POST /admin/users with a NUL in the username: %d, want 400", p.status)
	}
	if n := countRows(t, &models.User{}, "username <> ?", "root"); n != 0 {
		t.Errorf("%d users besides root after the refused form, want 0", n)
	}
	if strings.Contains(env.logs.String(), "level=ERROR") {
		t.Errorf("the server logged an error:\n%s", env.logs.String())
	}
}
