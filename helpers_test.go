package main

// Helpers the root package's tests share, beside the harness in
// env_test.go: signing in (as a user or the admin), posting admin forms,
// running a code flow, reading what the server wrote to the database, and
// making the database refuse writes.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"oidcd/models"
	"oidcd/models/modelstest"
)

const (
	// adminName and adminPassword are the superuser the admin tests sign
	// in as.
	adminName     = "root"
	adminPassword = "root's long admin password"
	// userPassword is the password of the users a test makes on the side.
	userPassword = "user password 1"
)

// signIn logs the browser in through the login page and checks it landed
// on the home page as username.
func signIn(t testing.TB, b *browser, username, password string) page {
	t.Helper()
	p := b.submitLogin(b.get("/login"), username, password)
	if p.status != http.StatusOK || !strings.Contains(p.body, signedInMarker+username+"<") {
		t.Fatalf("sign in as %s: %d at %s, want the home page signed in:\n%s", username, p.status, p.url, p.body)
	}
	return p
}

// signInAdmin creates the active superuser adminName on e, unless it
// exists, and returns a new browser signed in as them at /login.
func (e *testEnv) signInAdmin() *browser {
	e.t.Helper()
	if _, err := e.store.UserByUsername(context.Background(), adminName); err != nil {
		e.createUser(adminName, adminPassword, func(u *models.User) { u.Superuser = true })
	}
	b := e.browser()
	signIn(e.t, b, adminName, adminPassword)
	return b
}

// signInAdmin is r.env.signInAdmin for a rig, with the admin's password
// kept out of the log and the admin returned.
func signInAdmin(r *rig) (*browser, *models.User) {
	r.t.Helper()
	r.keep(adminPassword)
	b := r.env.signInAdmin()
	u, err := r.env.store.UserByUsername(context.Background(), adminName)
	if err != nil {
		r.t.Fatalf("admin user: %v", err)
	}
	return b, u
}

// csrfFrom GETs an admin page, checks it is the page with testid, and
// returns a form holding just its CSRF token.
func csrfFrom(t testing.TB, b *browser, path, testid string) url.Values {
	t.Helper()
	p := b.get(path)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="`+testid+`"`) {
		t.Fatalf("GET %s: got %d at %s, want 200 and %s:\n%.800s", path, p.status, p.url, testid, p.body)
	}
	token := hiddenFields(p.body).Get("_csrf")
	if token == "" {
		t.Fatalf("GET %s: no _csrf field on the page", path)
	}
	return url.Values{"_csrf": {token}}
}

// postWithCSRF GETs page (for its CSRF token) and posts form plus the
// token to action.
func postWithCSRF(t testing.TB, b *browser, page, action string, form url.Values) page {
	t.Helper()
	p := b.get(page)
	if p.status != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", page, p.status)
	}
	token := hiddenFields(p.body).Get("_csrf")
	if token == "" {
		t.Fatalf("GET %s: no _csrf field", page)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", token)
	return b.post(action, form)
}

// logoFile is a file for the client form's logo field.
type logoFile struct {
	name string
	data []byte
}

// postMultipart posts a form as multipart/form-data, as the client form
// is sent.
func (b *browser) postMultipart(path string, fields url.Values, file *logoFile) page {
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

// testIDText is the text inside the element with the test id.
func testIDText(body, testID string) string {
	re := regexp.MustCompile(`data-testid="` + regexp.QuoteMeta(testID) + `"[^>]*>([^<]*)<`)
	if m := re.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// countTestIDs counts the elements with the test id on a page.
func countTestIDs(body, testID string) int {
	return strings.Count(body, `data-testid="`+testID+`"`)
}

// newCodeFlow makes username and a confidential client on env and walks
// a fresh browser through login and consent, returning the client, its
// secret and redirect URI, and a fresh code.
func newCodeFlow(t testing.TB, env *testEnv, username string) (client *models.Client, secret, redirect, code string) {
	t.Helper()
	env.createUser(username, userPassword)
	redirect = "http://127.0.0.1/flow/cb"
	client, secret = env.createClient(models.ClientConfidential, []string{redirect})
	authURL := "/authorize?" + url.Values{
		"client_id": {client.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"s"}, "nonce": {"n"},
	}.Encode()
	back := env.browser().authorize(authURL, username, userPassword, "allow")
	code = back.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", back)
	}
	return client, secret, redirect, code
}

// codeFlowTokens runs a whole code flow for a fresh user and client and
// returns the token response.
func codeFlowTokens(t testing.TB, env *testEnv, username string) map[string]any {
	t.Helper()
	client, secret, redirect, code := newCodeFlow(t, env, username)
	resp, body := postForm(t, env.issuer+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {client.ClientID}, "client_secret": {secret},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: got %d %v, want 200", resp.StatusCode, body)
	}
	return body
}

// countRows counts the rows of model's table that match a condition,
// in the database the test's server uses.
func countRows(t testing.TB, model any, cond string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := testDB(t).Model(model).Where(cond, args...).Count(&n).Error; err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}

// countEvents counts audit rows matching a condition.
func countEvents(t testing.TB, cond string, args ...any) int64 {
	t.Helper()
	return countRows(t, &models.Event{}, cond, args...)
}

// recordEvent writes an event directly, at a chosen time.
func recordEvent(t testing.TB, env *testEnv, e models.Event) {
	t.Helper()
	if err := env.store.RecordEvent(context.Background(), &e); err != nil {
		t.Fatalf("record event: %v", err)
	}
}

// dumpTables is every row of every table as text, read through the
// database connection: what a copy of the database hands to whoever has it.
func dumpTables(t testing.TB, db *gorm.DB) string {
	t.Helper()
	tables, err := db.Migrator().GetTables()
	if err != nil || len(tables) == 0 {
		t.Fatalf("list tables: %d, %v", len(tables), err)
	}
	var out strings.Builder
	for _, table := range tables {
		var rows []map[string]any
		if err := db.Table(table).Find(&rows).Error; err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for _, row := range rows {
			for col, v := range row {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&out, "%s.%s=%v\n", table, col, v)
			}
		}
	}
	return out.String()
}

// databaseText is every row of the test server's database as text, with
// each session row's payload unwrapped from its two layers of base64, so
// a test can search the whole database for a value.
func databaseText(t testing.TB) string {
	t.Helper()
	db := testDB(t)
	var out strings.Builder
	out.WriteString(dumpTables(t, db))
	var sessions []models.Session
	if err := db.Find(&sessions).Error; err != nil || len(sessions) == 0 {
		t.Fatalf("read sessions: %d rows, %v", len(sessions), err)
	}
	for _, s := range sessions {
		outer, err := base64.URLEncoding.DecodeString(s.Data)
		parts := strings.Split(string(outer), "|")
		if err != nil || len(parts) < 3 {
			t.Fatalf("session %s: not a securecookie value", s.ID)
		}
		inner, err := base64.URLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatalf("session %s: payload: %v", s.ID, err)
		}
		out.Write(inner)
	}
	return out.String()
}

// refuseWrites makes the test database refuse every write of the given
// kinds ("INSERT", "UPDATE", "DELETE") to table, with a trigger in
// SQLite's or PostgreSQL's own dialect, so a test can show that a failed
// write loses or half-writes nothing.
func refuseWrites(t *testing.T, table string, ops ...string) {
	t.Helper()
	name := fmt.Sprintf("refuse_%s_%s", table, strings.ToLower(strings.Join(ops, "_")))
	var stmts []string
	if modelstest.Postgres() {
		stmts = []string{
			fmt.Sprintf(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`, name),
			fmt.Sprintf(`CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW EXECUTE FUNCTION %s()`, name, strings.Join(ops, " OR "), table, name),
		}
	} else {
		for _, op := range ops {
			stmts = append(stmts, fmt.Sprintf(`CREATE TRIGGER %s_%s BEFORE %s ON %s BEGIN SELECT RAISE(ABORT, 'refused by test'); END`, name, strings.ToLower(op), op, table))
		}
	}
	for _, s := range stmts {
		if err := testDB(t).Exec(s).Error; err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// verifyPassword reports whether password is u's, failing the test when
// no password slot could be had.
func verifyPassword(t *testing.T, store *models.Store, u *models.User, password string) bool {
	t.Helper()
	ok, err := store.VerifyPassword(context.Background(), u, password)
	if err != nil {
		t.Fatalf("verify password: %v", err)
	}
	return ok
}
