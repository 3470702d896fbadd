package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"oidcd/models"
)

// TestInvalidUTF8Refused: bytes that are not UTF-8 are refused where they
// enter, as NUL bytes are: in the path, the query string, a form field and
// the HTTP Basic credentials. PostgreSQL refuses them in a query (a 500
// before) and SQLite stored them as they came (a user named "bad\xffname"),
// so each is the sender's 4xx here, and nothing is saved or logged as an
// error. Run on PostgreSQL with OIDC_TEST_DATABASE=postgres.
func TestInvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	alice := env.createUser("alice", "alice password 1")
	client, secret := env.createClient(models.ClientConfidential, []string{rpRedirect})

	for _, path := range []string{
		"/consent?req=%ff", "/authorize/resume?req=%ff", "/logos/%FF", "/logos/a%c3", "/login?req=%ff",
		"/admin/users?q=%ff", "/admin/clients?q=bad%fename", "/admin/audit?user=%ff", "/admin/consents?back=%ff",
		"/userinfo?access_token=%ff", "/static/%ff.css",
	} {
		if p := b.get(path); p.status != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400:\n%.300s", path, p.status, p.body)
		}
	}

	user := url.Values{"_csrf": {csrf}, "username": {"bad\xffname"}, "password": {"bob password 1"}, "password_confirm": {"bob password 1"}}
	if p := b.post("/admin/users", user); p.status != http.StatusBadRequest || !strings.Contains(p.body, `data-testid="error-page"`) {
		t.Errorf("POST /admin/users with username bad\\xffname: %d, want the 400 page:\n%.300s", p.status, p.body)
	}
	if n := countRows(t, &models.User{}, "username NOT IN ?", []string{"root", "alice"}); n != 0 {
		t.Errorf("%d users created from the refused form, want 0", n)
	}
	claims := url.Values{"_csrf": {csrf}, "name": {"Alice \xe2\x28\xa1"}}
	if p := b.post(fmt.Sprintf("/admin/users/%d", alice.ID), claims); p.status != http.StatusBadRequest {
		t.Errorf("POST the claims form with an invalid name: %d, want 400", p.status)
	}
	if u, err := env.store.UserByID(t.Context(), alice.ID); err != nil || u.Name != "" {
		t.Errorf("alice after the refused claims form: name %q, err %v; want it unchanged", u.Name, err)
	}
	form := clientFields("Bad\xffRP", "https://rp.example/cb")
	form.Set("_csrf", csrf)
	if p := b.postMultipart("/admin/clients", form, nil); p.status != http.StatusBadRequest {
		t.Errorf("POST /admin/clients (multipart) with an invalid name: %d, want 400", p.status)
	}
	wantClientCount(t, env, 1)

	// /token answers in JSON: invalid_client for the Basic header,
	// invalid_request for the rest.
	tokenForm := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {rpRedirect}}
	for _, tt := range []struct {
		name, target string
		form         url.Values
		user         string // Basic user, before base64; "" for none
		wantStatus   int
		wantError    string
	}{
		{"Basic user %ff", "/token", tokenForm, "%ff:" + url.QueryEscape(secret), http.StatusUnauthorized, "invalid_client"},
		{"Basic user with a raw 0xff byte", "/token", tokenForm, "\xff:" + url.QueryEscape(secret), http.StatusUnauthorized, "invalid_client"},
		{"Basic secret %ff", "/token", tokenForm, url.QueryEscape(client.ClientID) + ":%ff", http.StatusUnauthorized, "invalid_client"},
		{"query %ff", "/token?x=%ff", tokenForm, url.QueryEscape(client.ClientID) + ":" + url.QueryEscape(secret), http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postForm(t, env.issuer+tt.target, tt.form, func(r *http.Request) {
				r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(tt.user)))
			})
			wantTokenError(t, resp, body, tt.wantStatus, tt.wantError)
		})
	}

	// A raw (unencoded) 0xff in the request line, as a hand-made client
	// can send it.
	for _, target := range []string{"/consent?req=\xff", "/logos/\xff"} {
		if status := rawGet(t, env, target); status != http.StatusBadRequest {
			t.Errorf("GET %q: %d, want 400", target, status)
		}
	}
	if logs := env.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("the server logged an error for invalid UTF-8:\n%s", logs)
	}
}

// rawGet sends a GET whose request line holds target byte for byte and
// returns the status.
func rawGet(t *testing.T, env *testEnv, target string) int {
	t.Helper()
	conn := dialServer(t, env)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, env.srv.Listener.Addr())
	status, _ := readStatus(t, conn)
	return status
}

// readStatus reads the status code of the response on conn, or 0 when the
// server closed the connection without one.
func readStatus(t *testing.T, conn io.Reader) (int, string) {
	t.Helper()
	raw, _ := io.ReadAll(conn)
	var status int
	if _, err := fmt.Sscanf(string(raw), "HTTP/1.1 %d", &status); err != nil {
		return 0, string(raw)
	}
	return status, string(raw)
}
