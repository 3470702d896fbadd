package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"oidcd/admin"
	"oidcd/models"
)

// The first-run setup link under pressure: one link, one admin, however
// many requests race with it, and the admin it creates is signed in as by
// any other login.

// setupForm opens the setup link in b and returns the form's pre-filled
// fields (_csrf and the token), completed with an admin's details.
func setupForm(t *testing.T, b *browser, token, username, password string) url.Values {
	t.Helper()
	p := b.get("/admin/setup?token=" + url.QueryEscape(token))
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="setup-form"`) {
		t.Fatalf("setup link: got %d, want the form:\n%s", p.status, p.body)
	}
	f := hiddenFields(p.body)
	if f.Get("_csrf") == "" || f.Get("token") != token {
		t.Fatalf("setup form fields = %v, want _csrf and the token", f)
	}
	f.Set("username", username)
	f.Set("password", password)
	f.Set("password_confirm", password)
	return f
}

// storedSuperusers lists every superuser in the store.
func storedSuperusers(t *testing.T, store *models.Store) []models.User {
	t.Helper()
	users, _, err := store.ListUsers(context.Background(), "", models.Page{Limit: 1000})
	if err != nil {
		t.Fatalf("list users: %v", err)
	}
	var out []models.User
	for _, u := range users {
		if u.Superuser {
			out = append(out, u)
		}
	}
	return out
}

// eventsOf lists the audit events of one kind, newest first.
func eventsOf(t *testing.T, store *models.Store, kind string) []models.EventRow {
	t.Helper()
	events, _, err := store.ListEvents(context.Background(), models.EventFilter{Kind: kind}, models.Page{Limit: 1000})
	if err != nil {
		t.Fatalf("list %s events: %v", kind, err)
	}
	return events
}

// setupResult is what one racing POST got back.
type setupResult struct {
	status int
	path   string // where the browser ended up
	body   string
	err    error
}

// TestSetupConcurrentPostsHaveOneWinner races one valid link: each of n
// browsers loads the form (its own cookies and CSRF token), then all post
// at once, each for a different username. Exactly one gets the dashboard,
// the rest the page for a used link, and one superuser exists.
func TestSetupConcurrentPostsHaveOneWinner(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	token, err := admin.PrepareSetup(ctx, env.store)
	if err != nil || token == "" {
		t.Fatalf("PrepareSetup = %q, %v; want a token", token, err)
	}

	const n = 10
	browsers := make([]*browser, n)
	forms := make([]url.Values, n)
	for i := range n {
		browsers[i] = env.browser()
		forms[i] = setupForm(t, browsers[i], token, fmt.Sprintf("admin%d", i), adminPassword)
	}

	// b.post would call t.Fatalf off the test goroutine, so the requests
	// are sent here and checked afterwards. Each request hashes a password
	// with bcrypt; n of them at once under -race on a busy machine can
	// outlast the browser's usual timeout.
	results := make([]setupResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, env.issuer+"/admin/setup", strings.NewReader(forms[i].Encode()))
			if err != nil {
				results[i].err = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "text/html")
			<-start
			client := *browsers[i].client
			client.Timeout = 2 * time.Minute
			resp, err := client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			results[i] = setupResult{status: resp.StatusCode, path: resp.Request.URL.Path, body: string(body), err: err}
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("POST %d: %v", i, r.err)
		case r.status == http.StatusOK && r.path == "/admin" && strings.Contains(r.body, `data-testid="dashboard-page"`):
			if winner >= 0 {
				t.Errorf("POSTs %d and %d both got the dashboard, want one winner", winner, i)
			}
			winner = i
		case r.status == http.StatusNotFound && strings.Contains(r.body, `data-testid="error-page"`) &&
			strings.Contains(r.body, "Setup link not valid"):
		default:
			t.Errorf("POST %d: got %d at %s, want the dashboard or the used-link page:\n%s", i, r.status, r.path, r.body)
		}
	}
	if winner < 0 {
		t.Fatalf("no POST got the dashboard, want one winner")
	}

	admins := storedSuperusers(t, env.store)
	if want := fmt.Sprintf("admin%d", winner); len(admins) != 1 || admins[0].Username != want {
		var names []string
		for _, u := range admins {
			names = append(names, u.Username)
		}
		t.Fatalf("superusers = %q, want only %q", names, want)
	}
	if _, total, err := env.store.ListUsers(ctx, "", models.Page{Limit: 1}); err != nil || total != 1 {
		t.Errorf("users after the race = %d (err %v), want 1", total, err)
	}
	if got := eventsOf(t, env.store, models.EventLoginSucceeded); len(got) != 1 || got[0].UserID == nil || *got[0].UserID != admins[0].ID {
		t.Errorf("login_succeeded events = %+v, want one, for the winner", got)
	}
	if got := eventsOf(t, env.store, models.EventAdminChange); len(got) != 1 || got[0].Detail != "create first admin" {
		t.Errorf("admin_change events = %+v, want one \"create first admin\"", got)
	}

	// The winner is signed in; a loser is not, and its link stays dead.
	if p := browsers[winner].get("/admin"); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Errorf("winner's GET /admin: got %d, want the dashboard", p.status)
	}
	loser := browsers[(winner+1)%n]
	if p := loser.get("/admin"); p.url.Path != "/login" {
		t.Errorf("loser's GET /admin: got %d at %s, want the login page", p.status, p.url)
	}
	if p := loser.post("/admin/setup", forms[(winner+1)%n]); p.status != http.StatusNotFound {
		t.Errorf("loser posting again: got %d, want 404", p.status)
	}
}

// TestSetupRecordsLogin checks that the first admin, signed in by the setup
// link, is logged in as by the login form: a login_succeeded event with the
// user and address, and a last login time. A taken username is refused
// without spending the link.
func TestSetupRecordsLogin(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	env.createUser("taken", userPassword)
	token, err := admin.PrepareSetup(ctx, env.store)
	if err != nil || token == "" {
		t.Fatalf("PrepareSetup = %q, %v; want a token", token, err)
	}
	b := env.browser()

	f := setupForm(t, b, token, "taken", adminPassword)
	if p := b.post("/admin/setup", f); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="error-username"`) {
		t.Fatalf("setup with a taken username: got %d, want 422 with error-username:\n%s", p.status, p.body)
	}
	if got := eventsOf(t, env.store, models.EventLoginSucceeded); len(got) != 0 {
		t.Fatalf("login_succeeded events after a refused setup = %+v, want none", got)
	}

	f.Set("username", "root")
	p := b.post("/admin/setup", f)
	if p.status != http.StatusOK || p.url.Path != "/admin" || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Fatalf("setup after the refusal: got %d at %s, want the dashboard (the link still good):\n%s", p.status, p.url, p.body)
	}
	u, err := env.store.UserByUsername(ctx, "root")
	if err != nil || !u.Superuser || !u.Active {
		t.Fatalf("root = %+v, %v; want an active superuser", u, err)
	}
	if u.LastLogin == nil || u.LastLogin.IsZero() {
		t.Errorf("root's last login = %v, want the setup time", u.LastLogin)
	}
	got := eventsOf(t, env.store, models.EventLoginSucceeded)
	if len(got) != 1 {
		t.Fatalf("login_succeeded events = %+v, want one", got)
	}
	if e := got[0]; e.Username != "root" || e.UserID == nil || *e.UserID != u.ID || e.RemoteIP != "127.0.0.1" {
		t.Errorf("login_succeeded = user %q id %v ip %q; want root, %d, 127.0.0.1", e.Username, e.UserID, e.RemoteIP, u.ID)
	}
	// The audit page shows it beside the admin change.
	if p := b.get("/admin/audit?kind=" + models.EventLoginSucceeded); p.status != http.StatusOK || countTestIDs(p.body, "event-row") != 1 {
		t.Errorf("audit log filtered to login_succeeded: got %d with %d rows, want 200 with 1", p.status, countTestIDs(p.body, "event-row"))
	}
}
