package main

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"oidcd/models"
)

// statementCounter counts the SQL statements the store runs, on every
// pool it has, through gorm's callbacks (BEGIN and COMMIT are not
// counted).
type statementCounter struct {
	n atomic.Int64
}

func countStatements(t *testing.T, store *models.Store) *statementCounter {
	t.Helper()
	sc := &statementCounter{}
	count := func(tx *gorm.DB) {
		sc.n.Add(1)
		if testing.Verbose() {
			t.Logf("sql: %s", tx.Statement.SQL.String())
		}
	}
	dbs := []*gorm.DB{store.DB()}
	if r := store.ReadDB(); r.Dialector.Name() == "sqlite" {
		dbs = append(dbs, r)
	}
	for _, db := range dbs {
		cb := db.Callback()
		for name, err := range map[string]error{
			"create": cb.Create().After("gorm:create").Register("test:count", count),
			"query":  cb.Query().After("gorm:query").Register("test:count", count),
			"update": cb.Update().After("gorm:update").Register("test:count", count),
			"delete": cb.Delete().After("gorm:delete").Register("test:count", count),
			"row":    cb.Row().After("gorm:row").Register("test:count", count),
			"raw":    cb.Raw().After("gorm:raw").Register("test:count", count),
		} {
			if err != nil {
				t.Fatalf("register %s: %v", name, err)
			}
		}
	}
	return sc
}

// since returns the statements counted since the last call.
func (sc *statementCounter) since(last *int64) int64 {
	n := sc.n.Load()
	d := n - *last
	*last = n
	return d
}

// TestStatementsPerFlow counts the statements of the hot flows: a silent
// SSO authorization (a signed-in user, consent not required), its code
// exchange, userinfo, and a refresh. Before: 4 + 9 + 3 = 16 statements
// (the client and user loaded by second queries, the audit row in a
// transaction of its own) and 9 for a refresh; now 3 + 6 + 1 and 6. The
// bounds are this version's counts; they keep a change from
// quietly adding round trips.
func TestStatementsPerFlow(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.createUser("stmts", "stmts password 1")
	redirect := "http://127.0.0.1/cb"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect},
		func(c *models.Client) { c.RequireConsent = false })
	q := url.Values{"client_id": {client.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid profile email offline_access"}}
	b := env.browser()
	b.authorize(env.issuer+"/authorize?"+q.Encode(), "stmts", "stmts password 1", "allow")
	token := func(form url.Values) map[string]any {
		form.Set("client_id", client.ClientID)
		form.Set("client_secret", secret)
		resp, body := postForm(t, env.issuer+"/token", form)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d %v", resp.StatusCode, body)
		}
		return body
	}
	// Warm: the first request of each kind loads what instances keep.
	warm := b.authorize(env.issuer+"/authorize?"+q.Encode(), "", "", "")
	warmed := token(url.Values{"grant_type": {"authorization_code"}, "code": {warm.Query().Get("code")}, "redirect_uri": {redirect}})

	sc := countStatements(t, env.store)
	var last int64
	back := b.authorize(env.issuer+"/authorize?"+q.Encode(), "", "", "")
	authorize := sc.since(&last)
	body := token(url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {redirect}})
	exchange := sc.since(&last)
	req, _ := http.NewRequest(http.MethodGet, env.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	if resp, info := doJSON(t, req); resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: %d %v", resp.StatusCode, info)
	}
	userinfo := sc.since(&last)
	token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {warmed["refresh_token"].(string)}})
	refresh := sc.since(&last)
	t.Logf("statements: authorize %d, code exchange %d, userinfo %d (SSO flow %d); refresh %d",
		authorize, exchange, userinfo, authorize+exchange+userinfo, refresh)
	for _, c := range []struct {
		name     string
		got, max int64
	}{{"authorize", authorize, 3}, {"code exchange", exchange, 6}, {"userinfo", userinfo, 1}, {"refresh", refresh, 6}} {
		// At least one: a counter that stopped counting would otherwise
		// pass every bound.
		if c.got < 1 || c.got > c.max {
			t.Errorf("%s: %d statements, want 1 to %d", c.name, c.got, c.max)
		}
	}
}

// TestStatementsClientCredentialsAndRevoke bounds the statements of a
// client_credentials token, of an introspection and of a revocation, as
// TestStatementsPerFlow does for the other flows. A revocation that
// changes something is 5: the token looked up, its rows revoked, and the
// audit event with its day count, in one transaction.
func TestStatementsClientCredentialsAndRevoke(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	client, secret := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/cb"}, func(c *models.Client) {
		c.GrantTypes = []string{"client_credentials"}
		c.Scopes = []string{"email"}
	})
	post := func(path string, form url.Values) map[string]any {
		form.Set("client_id", client.ClientID)
		form.Set("client_secret", secret)
		resp, body := postForm(t, env.issuer+path, form)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, body)
		}
		return body
	}
	// Warm, as above.
	warmed := post("/token", url.Values{"grant_type": {"client_credentials"}})
	post("/introspect", url.Values{"token": {warmed["access_token"].(string)}})
	post("/revoke", url.Values{"token": {warmed["access_token"].(string)}})

	sc := countStatements(t, env.store)
	var last int64
	body := post("/token", url.Values{"grant_type": {"client_credentials"}})
	issue := sc.since(&last)
	if got := post("/introspect", url.Values{"token": {body["access_token"].(string)}}); got["active"] != true {
		t.Fatalf("introspect: %v, want active", got)
	}
	introspect := sc.since(&last)
	post("/revoke", url.Values{"token": {body["access_token"].(string)}})
	revoke := sc.since(&last)
	t.Logf("statements: client_credentials %d, introspect %d, revoke %d", issue, introspect, revoke)
	for _, c := range []struct {
		name     string
		got, max int64
	}{{"client_credentials", issue, 4}, {"introspect", introspect, 2}, {"revoke", revoke, 5}} {
		if c.got < 1 || c.got > c.max {
			t.Errorf("%s: %d statements, want 1 to %d", c.name, c.got, c.max)
		}
	}
}

// TestStatementsPasswordGrant bounds the statements of a password grant
// token (19 measured): the client throttle check, the login throttle's
// reservation (3 rows) and release, the user, the last login and its
// event, the token and its event; the login part is POST /login's own.
func TestStatementsPasswordGrant(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_GRANT_TYPE_PASSWORD_ENABLE", "true")
	env.createUser("alice", "alice password 1")
	client, secret := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/cb"}, func(c *models.Client) {
		c.GrantTypes = []string{"password"}
		c.Scopes = []string{"openid", "email"}
	})
	token := func() {
		resp, body := postForm(t, env.issuer+"/token", url.Values{"grant_type": {"password"}, "username": {"alice"},
			"password": {"alice password 1"}, "client_id": {client.ClientID}, "client_secret": {secret}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d %v", resp.StatusCode, body)
		}
	}
	token() // warm, as above
	sc := countStatements(t, env.store)
	var last int64
	token()
	issue := sc.since(&last)
	t.Logf("statements: password grant %d", issue)
	if issue < 1 || issue > 19 {
		t.Errorf("password grant: %d statements, want 1 to 19", issue)
	}
}
