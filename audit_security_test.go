package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// eventsOf is every audit event of kind in db, oldest first.
func eventsOfKind(t testing.TB, db *gorm.DB, kind string) []models.Event {
	t.Helper()
	var out []models.Event
	if err := db.Where("kind = ?", kind).Order("id").Find(&out).Error; err != nil {
		t.Fatalf("events of kind %s: %v", kind, err)
	}
	return out
}

// oneEvent is the only audit event of kind in db.
func oneEvent(t testing.TB, db *gorm.DB, kind string) models.Event {
	t.Helper()
	events := eventsOfKind(t, db, kind)
	if len(events) != 1 {
		t.Fatalf("%s events: %d, want 1: %+v", kind, len(events), events)
	}
	return events[0]
}

// wantNoSecretInEvents fails the test if any column of any audit event
// holds one of the secret values.
func wantNoSecretInEvents(t testing.TB, db *gorm.DB, secrets ...string) {
	t.Helper()
	var all []models.Event
	if err := db.Order("id").Find(&all).Error; err != nil {
		t.Fatalf("read events: %v", err)
	}
	if len(all) == 0 {
		t.Fatalf("no events at all; the secret check would prove nothing")
	}
	for _, e := range all {
		row := strings.Join([]string{e.Kind, e.Username, e.RemoteIP, e.Detail, e.Target, e.Before, e.After}, "\x00")
		for _, s := range secrets {
			if s != "" && strings.Contains(row, s) {
				t.Errorf("event %d (%s) holds a secret value (%.6s…)", e.ID, e.Kind, s)
			}
		}
	}
}

func wantIDs(t testing.TB, e models.Event, clientID, userID *uint) {
	t.Helper()
	eq := func(a, b *uint) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
	show := func(p *uint) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	if !eq(e.ClientID, clientID) || !eq(e.UserID, userID) {
		t.Errorf("%s event: client %s user %s, want client %s user %s", e.Kind, show(e.ClientID), show(e.UserID), show(clientID), show(userID))
	}
}

// TestAuditCodeReplay: a code presented again revokes its tokens and is
// recorded as code_replay with its client, user and the number revoked.
func TestAuditCodeReplay(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	code := r.codeFor(b, r.conf, nil)
	form := r.codeForm(r.conf, r.secret, code)
	resp, first := r.postToken(form)
	wantTokenSuccess(t, resp, first, "openid profile email")
	if n := countEvents(t, "kind = ?", models.EventCodeReplay); n != 0 {
		t.Fatalf("code_replay events after the first use: %d, want 0", n)
	}
	resp, second := r.postToken(form)
	wantTokenError(t, resp, second, http.StatusBadRequest, "invalid_grant")

	e := oneEvent(t, r.db, models.EventCodeReplay)
	wantIDs(t, e, &r.conf.ID, &r.user.ID)
	if e.Detail != "1 token revoked" {
		t.Errorf("code_replay detail = %q, want %q", e.Detail, "1 token revoked")
	}
	if e.RemoteIP == "" {
		t.Errorf("code_replay event has no remote address")
	}
	wantNoSecretInEvents(t, r.db, code, r.secret, testPassword, first["access_token"].(string), first["refresh_token"].(string))
}

// TestAuditRefreshReuse: a rotated-out refresh token presented again
// revokes its family and is recorded as refresh_reuse with the count.
func TestAuditRefreshReuse(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	b := r.env.browser()
	first := r.tokens(b, r.conf, r.secret, nil)
	old, _ := first["refresh_token"].(string)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old},
		"client_id": {r.conf.ClientID}, "client_secret": {r.secret}}
	resp, second := r.postToken(refresh)
	wantTokenSuccess(t, resp, second, "openid profile email")
	if n := countEvents(t, "kind = ?", models.EventRefreshReuse); n != 0 {
		t.Fatalf("refresh_reuse events after a rotation: %d, want 0", n)
	}
	resp, body := r.postToken(refresh)
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	e := oneEvent(t, r.db, models.EventRefreshReuse)
	wantIDs(t, e, &r.conf.ID, &r.user.ID)
	// The first pair was revoked by its rotation; the second is the one
	// the reuse revokes.
	if e.Detail != "1 token revoked" {
		t.Errorf("refresh_reuse detail = %q, want %q", e.Detail, "1 token revoked")
	}
	wantNoSecretInEvents(t, r.db, old, r.secret, testPassword, second["access_token"].(string), second["refresh_token"].(string))
}

// TestAuditLoginThrottled: an attempt the login throttle refuses is
// recorded as login_throttled with the username and address; the attempts
// it let through are login_failed, not login_throttled.
func TestAuditLoginThrottled(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "2")
	env.createUser("alice", "alice password 1")
	statuses := []int{}
	for i := range 3 {
		b := env.browser()
		p := b.submitLogin(b.get("/login"), "alice", fmt.Sprintf("guess %d", i))
		statuses = append(statuses, p.status)
	}
	if statuses[2] != http.StatusTooManyRequests {
		t.Fatalf("login statuses %v, want the third refused with 429", statuses)
	}
	db := testDB(t)
	e := oneEvent(t, db, models.EventLoginThrottled)
	if e.Username != "alice" || e.RemoteIP == "" || e.UserID != nil || e.ClientID != nil {
		t.Errorf("login_throttled event = %+v, want username alice, an address, no user or client id", e)
	}
	wantNoSecretInEvents(t, db, "guess 0", "guess 1", "guess 2", "alice password 1")
}

// TestAuditClientAuthFailed: a wrong client secret at /token and at
// /introspect, and an unknown client_id, are recorded as
// client_auth_failed with the endpoint and the client_id as sent, never
// the secret.
func TestAuditClientAuthFailed(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	client, secret := env.createClient(models.ClientConfidential, []string{"https://rp.example/cb"})
	const wrong = "wrong-secret-value-1234"
	post := func(path, id, secret string) {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "token": {"x"}}
		resp, body := postForm(t, env.issuer+path, form, func(r *http.Request) {
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		})
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Fatalf("%s with a wrong secret: %d %v, want 401 invalid_client", path, resp.StatusCode, body)
		}
	}
	db := testDB(t)
	// The right secret records nothing.
	postForm(t, env.issuer+"/introspect", url.Values{"token": {"x"}}, func(r *http.Request) { r.SetBasicAuth(client.ClientID, secret) })
	if n := countEvents(t, "kind = ?", models.EventClientAuthFailed); n != 0 {
		t.Fatalf("client_auth_failed events after a right secret: %d, want 0", n)
	}

	post("/token", client.ClientID, wrong)
	post("/introspect", client.ClientID, wrong)
	post("/token", "no-such-client", wrong)
	events := eventsOfKind(t, db, models.EventClientAuthFailed)
	if len(events) != 3 {
		t.Fatalf("client_auth_failed events: %d, want 3: %+v", len(events), events)
	}
	want := []struct {
		detail string
		client *uint
	}{
		{`/token client_id "` + client.ClientID + `"`, &client.ID},
		{`/introspect client_id "` + client.ClientID + `"`, &client.ID},
		{`/token client_id "no-such-client"`, nil},
	}
	for i, w := range want {
		if events[i].Detail != w.detail {
			t.Errorf("event %d detail = %q, want %q", i, events[i].Detail, w.detail)
		}
		wantIDs(t, events[i], w.client, nil)
		if events[i].RemoteIP == "" {
			t.Errorf("event %d has no remote address", i)
		}
	}

	// An over-long client_id is cut, not stored whole.
	long := strings.Repeat("x", 5000)
	post("/token", long, wrong)
	events = eventsOfKind(t, db, models.EventClientAuthFailed)
	if got := events[len(events)-1].Detail; len(got) > 200 || !strings.HasPrefix(got, `/token client_id "xxxx`) {
		t.Errorf("over-long client_id stored as %d bytes (%.60q), want it cut to a bounded length", len(got), got)
	}
	wantNoSecretInEvents(t, db, wrong, secret)
}

// TestAuditCLIChanges: createuser, createclient and rotatekeys on a
// database are recorded as admin changes by the actor "cli".
func TestAuditCLIChanges(t *testing.T) {
	t.Parallel()
	d := modelstest.New(t)
	vars := map[string]string{"OIDC_SECRET_KEY": b64Key(d.Key)}
	const password = "wonderland-42-cli"
	mustRunCLI(t, vars, "createuser", "--db", d.DSN, "--username", "alice", "--password", password)
	out := mustRunCLI(t, vars, "createclient", "--db", d.DSN, "--name", "RP", "--type", "confidential", "--redirect-uri", "https://rp.example/cb", "--json").stdout
	got := clientJSON(t, out)
	mustRunCLI(t, vars, "createkey", "--alg", "ES256", "--db", d.DSN)
	mustRunCLI(t, vars, "rotatekeys", "--db", d.DSN)

	store := d.Open(t)
	ctx := context.Background()
	db := store.DB()
	u, err := store.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatalf("load alice: %v", err)
	}
	c, err := store.ClientByClientID(ctx, got["client_id"])
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	events := eventsOfKind(t, db, models.EventAdminChange)
	byDetail := map[string]models.Event{}
	for _, e := range events {
		if e.Username != actorCLI {
			t.Errorf("admin_change %q by %q, want the actor %q", e.Detail, e.Username, actorCLI)
		}
		byDetail[e.Detail] = e
	}
	for _, detail := range []string{"create user", "create client", "create signing key", "rotate signing key"} {
		if _, ok := byDetail[detail]; !ok {
			t.Errorf("no admin_change %q by cli among %+v", detail, events)
		}
	}
	if e := byDetail["create user"]; e.Target != "user alice" || e.UserID == nil || *e.UserID != u.ID {
		t.Errorf("create user event = %+v, want target user alice and its user id", e)
	}
	if e := byDetail["create client"]; e.Target != "client "+c.ClientID || e.ClientID == nil || *e.ClientID != c.ID {
		t.Errorf("create client event = %+v, want target client %s and its id", e, c.ClientID)
	}
	wantNoSecretInEvents(t, db, password, got["client_secret"])
}
