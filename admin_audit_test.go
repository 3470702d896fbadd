package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"oidcd/models"
)

// auditRows fetches the audit log with query q and returns the page and
// its number of rows.
func auditRows(t *testing.T, b *browser, q url.Values) (page, int) {
	t.Helper()
	p := b.get("/admin/audit?" + q.Encode())
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="audit-page"`) {
		t.Fatalf("GET /admin/audit?%s: got %d, want 200 and the audit page:\n%.800s", q.Encode(), p.status, p.body)
	}
	return p, countTestIDs(p.body, "event-row")
}

var eventKindRE = regexp.MustCompile(`data-testid="event-row" data-kind="([^"]+)"`)

func TestAdminAuditLogShowsEvents(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()

	// A failed login by someone else.
	mallory := env.browser()
	if p := mallory.submitLogin(mallory.get("/login"), "mallory", "wrong password 1"); p.status != http.StatusOK {
		t.Fatalf("failed login: got %d, want 200", p.status)
	}
	// A client created by the admin.
	p := postWithCSRF(t, b, "/admin/clients/new", "/admin/clients", url.Values{
		"name": {"Audit Created RP"}, "client_type": {"public"}, "response_types": {"code"}, "grant_types": {"authorization_code", "refresh_token"},
		"redirect_uris": {"http://127.0.0.1/audit/cb"}, "scopes": {"openid"}, "jwt_alg": {"RS256"},
	})
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="client-page"`) {
		t.Fatalf("create client: got %d at %s, want the client page", p.status, p.url)
	}

	p, n := auditRows(t, b, url.Values{})
	// root's login, mallory's failed login, the client creation.
	if n != 3 {
		t.Fatalf("audit rows = %d, want 3:\n%s", n, p.body)
	}
	kinds := eventKindRE.FindAllStringSubmatch(p.body, -1)
	if kinds[0][1] != models.EventAdminChange || kinds[1][1] != models.EventLoginFailed || kinds[2][1] != models.EventLoginSucceeded {
		t.Errorf("kinds newest first = %v, want admin_change, login_failed, login_succeeded", kinds)
	}
	if !strings.Contains(p.body, "mallory") || !strings.Contains(p.body, "127.0.0.1") {
		t.Errorf("audit log lacks the failed login's username and IP")
	}
	if countTestIDs(p.body, "event-change") != 1 || !strings.Contains(p.body, "<details") ||
		!strings.Contains(p.body, "Audit Created RP") || !strings.Contains(p.body, "create client") {
		t.Errorf("audit log lacks the client creation with its before/after details:\n%s", p.body)
	}
}

func TestAdminAuditLogFilters(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin() // one login_succeeded event, today
	rp, _ := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/cb"}, func(c *models.Client) { c.Name = "Filter Target RP" })
	other, _ := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/cb"}, func(c *models.Client) { c.Name = "Other RP" })

	day := func(s string, hour int) time.Time {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(time.Duration(hour) * time.Hour)
	}
	// 2026-01-10: 3 events, 2026-01-11: 2 (one at 23:00 UTC), 2026-01-12: 1.
	recordEvent(t, env, models.Event{Kind: models.EventLoginFailed, Username: "dated-carol", RemoteIP: "10.0.0.1", CreatedAt: day("2026-01-10", 0)})
	recordEvent(t, env, models.Event{Kind: models.EventLoginFailed, Username: "dated-carol", CreatedAt: day("2026-01-10", 12)})
	recordEvent(t, env, models.Event{Kind: models.EventTokenIssued, Username: "dated-dave", ClientID: &rp.ID, CreatedAt: day("2026-01-10", 23)})
	recordEvent(t, env, models.Event{Kind: models.EventTokenIssued, Username: "dated-dave", ClientID: &rp.ID, CreatedAt: day("2026-01-11", 1)})
	recordEvent(t, env, models.Event{Kind: models.EventConsentGranted, Username: "dated-dave", ClientID: &rp.ID, CreatedAt: day("2026-01-11", 23)})
	recordEvent(t, env, models.Event{Kind: models.EventTokenIssued, Username: "dated-erin", ClientID: &other.ID, CreatedAt: day("2026-01-12", 0)})
	// token_issued records the user's id only: the log names them by it.
	frank := env.createUser("frank", "frank's password 1")
	recordEvent(t, env, models.Event{Kind: models.EventTokenIssued, UserID: &frank.ID, CreatedAt: day("2026-01-09", 5)})

	for _, tc := range []struct {
		name  string
		query url.Values
		want  int
	}{
		{"all", url.Values{}, 8},
		{"kind", url.Values{"kind": {models.EventLoginFailed}}, 2},
		{"kind token", url.Values{"kind": {models.EventTokenIssued}}, 4},
		{"user contains", url.Values{"user": {"CAROL"}}, 2},
		{"user prefix", url.Values{"user": {"dated-"}}, 6},
		{"user wildcard is literal", url.Values{"user": {"dated%"}}, 0},
		{"user by user_id", url.Values{"user": {"frank"}}, 1},
		{"client by name", url.Values{"client": {"filter target"}}, 3},
		{"client by client_id", url.Values{"client": {rp.ClientID}}, 3},
		{"client other", url.Values{"client": {"Other RP"}}, 1},
		{"client none", url.Values{"client": {"nobody"}}, 0},
		{"from and to one day", url.Values{"from": {"2026-01-11"}, "to": {"2026-01-11"}}, 2},
		{"from and to two days", url.Values{"from": {"2026-01-10"}, "to": {"2026-01-11"}}, 5},
		{"to only", url.Values{"to": {"2026-01-10"}}, 4},
		{"from only", url.Values{"from": {"2026-01-12"}}, 2}, // and root's login today
		{"combined", url.Values{"kind": {models.EventTokenIssued}, "client": {"filter"}, "from": {"2026-01-11"}, "to": {"2026-01-12"}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, got := auditRows(t, b, tc.query)
			if got != tc.want {
				t.Errorf("rows = %d, want %d:\n%s", got, tc.want, p.body)
			}
		})
	}

	// Newest first: the 2026-01-12 event leads the dated ones.
	p, _ := auditRows(t, b, url.Values{"user": {"dated"}})
	if i, j := strings.Index(p.body, "2026-01-12 00:00 UTC"), strings.Index(p.body, "2026-01-10 00:00 UTC"); i < 0 || j < 0 || i > j {
		t.Errorf("2026-01-12 at %d, 2026-01-10 at %d: want both, newest first", i, j)
	}
	if p, _ := auditRows(t, b, url.Values{"user": {"frank"}}); !strings.Contains(p.body, "<td>frank</td>") {
		t.Errorf("the token_issued row does not name frank")
	}
	// The filter form keeps what was asked.
	if !strings.Contains(p.body, `data-testid="audit-filter"`) || !strings.Contains(p.body, `value="dated"`) {
		t.Errorf("the filter form does not show the user filter")
	}
}

func TestAdminAuditLogPages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	for i := range 29 {
		recordEvent(t, env, models.Event{Kind: models.EventLogout, Username: "pager", CreatedAt: time.Now().Add(-time.Duration(i+1) * time.Minute)})
	}
	if _, n := auditRows(t, b, url.Values{}); n != 25 {
		t.Errorf("page 1 rows = %d, want 25", n)
	}
	p, n := auditRows(t, b, url.Values{"page": {"2"}})
	if n != 5 {
		t.Errorf("page 2 rows = %d, want 5", n)
	}
	if !strings.Contains(p.body, "Page 2 of 2") {
		t.Errorf("page 2 lacks its pager")
	}
}

func TestAdminAuditLogBadFilter(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	for _, tc := range []struct {
		name  string
		query url.Values
		field string
	}{
		{"bad from", url.Values{"from": {"2026-13-40"}}, "from"},
		{"bad to", url.Values{"to": {"yesterday"}}, "to"},
		{"reversed", url.Values{"from": {"2026-02-02"}, "to": {"2026-02-01"}}, "to"},
		{"unknown kind", url.Values{"kind": {"nope"}}, "kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get("/admin/audit?" + tc.query.Encode())
			if p.status < 400 || p.status >= 500 {
				t.Errorf("status = %d, want 4xx", p.status)
			}
			if !strings.Contains(p.body, `data-testid="error-`+tc.field+`"`) {
				t.Errorf("no field error for %s:\n%.800s", tc.field, p.body)
			}
			if countTestIDs(p.body, "event-row") != 0 {
				t.Errorf("rows shown despite the bad filter")
			}
		})
	}
}

// auditClientPathRE reads a client's row id from its admin page's path.
var auditClientPathRE = regexp.MustCompile(`^/admin/clients/(\d+)$`)

// auditCreateClient registers a client through the admin site and
// returns it as stored.
func auditCreateClient(t *testing.T, env *testEnv, b *browser, name string) *models.Client {
	t.Helper()
	p := postWithCSRF(t, b, "/admin/clients/new", "/admin/clients", url.Values{
		"name": {name}, "client_type": {models.ClientConfidential}, "response_types": {"code"}, "grant_types": {"authorization_code", "refresh_token"},
		"redirect_uris": {"http://127.0.0.1/audit/cb"}, "scopes": {"openid"}, "jwt_alg": {"RS256"},
	})
	m := auditClientPathRE.FindStringSubmatch(p.url.Path)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("create client %q: got %d at %s, want its page", name, p.status, p.url)
	}
	id, _ := strconv.ParseUint(m[1], 10, 32)
	cl, err := env.store.ClientByID(context.Background(), uint(id))
	if err != nil {
		t.Fatalf("load client %q: %v", name, err)
	}
	return cl
}

// auditDetails returns the "action: target" line of each row, newest first.
func auditDetails(body string) []string {
	var out []string
	for _, m := range auditDetailRE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]+": "+strings.TrimSpace(m[2])))
	}
	return out
}

var auditDetailRE = regexp.MustCompile(`<div><strong>([^<]*)</strong>: ([^<]*)</div>`)

// TestAdminAuditLogFindsAdminChanges: filtering the audit log by a client
// finds the admin changes made to that client (even once it is deleted)
// and to what it holds; filtering by a user finds the changes made to
// that user and their grants, as well as those the user made as admin.
func TestAdminAuditLogFindsAdminChanges(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	access := r.tokens(r.env.browser(), r.conf, r.secret, nil)["access_token"].(string)
	b, _ := signInAdmin(r)

	audited := auditCreateClient(t, r.env, b, "Audited RP")
	page := fmt.Sprintf("/admin/clients/%d", audited.ID)
	if p := postWithCSRF(t, b, page, page+"/secret", nil); p.status != http.StatusOK || strings.Contains(p.body, `data-testid="flash-error"`) {
		t.Fatalf("rotate secret: got %d, want 200 without an error:\n%s", p.status, p.body)
	}
	doomed := auditCreateClient(t, r.env, b, "Doomed RP")
	page = fmt.Sprintf("/admin/clients/%d/delete", doomed.ID)
	wantLanded(t, postWithCSRF(t, b, page, page, nil), "/admin/clients", "success")

	form := csrfFrom(t, b, "/admin/users/new", "user-form-page")
	for k, v := range map[string]string{"username": "bob", "password": "bob's password 1", "password_confirm": "bob's password 1", "active": "on"} {
		form.Set(k, v)
	}
	r.keep("bob's password 1")
	b.post("/admin/users", form)
	bob, err := r.env.store.UserByUsername(context.Background(), "bob")
	if err != nil {
		t.Fatalf("bob after create: %v", err)
	}
	page = fmt.Sprintf("/admin/users/%d", bob.ID)
	wantLanded(t, postWithCSRF(t, b, page, page+"/deactivate", nil), page, "success")

	wantLanded(t, postWithCSRF(t, b, "/admin/tokens", fmt.Sprintf("/admin/tokens/%d/revoke", tokenID(r, access)), nil), "/admin/tokens", "success")
	revoked := fmt.Sprintf("revoke token: token %d of user %s", tokenID(r, access), testUser)

	change := url.Values{"kind": {models.EventAdminChange}}
	with := func(k, v string) url.Values {
		q := url.Values{k: {v}}
		for k, v := range change {
			q[k] = v
		}
		return q
	}
	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"client by name", with("client", "audited rp"), []string{
			"rotate client secret: client " + audited.ClientID, "create client: client " + audited.ClientID}},
		{"client by client_id", with("client", audited.ClientID), []string{
			"rotate client secret: client " + audited.ClientID, "create client: client " + audited.ClientID}},
		{"deleted client by client_id", with("client", doomed.ClientID), []string{
			"delete client: client " + doomed.ClientID, "create client: client " + doomed.ClientID}},
		{"a grant's client", with("client", r.conf.ClientID), []string{revoked}},
		{"user", url.Values{"user": {"bob"}}, []string{"deactivate user: user bob", "create user: user bob"}},
		{"a grant's user", with("user", testUser), []string{revoked}},
		{"the admin who made them", with("user", adminName), []string{
			revoked, "deactivate user: user bob", "create user: user bob",
			"delete client: client " + doomed.ClientID, "create client: client " + doomed.ClientID,
			"rotate client secret: client " + audited.ClientID, "create client: client " + audited.ClientID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, n := auditRows(t, b, tc.query)
			if got := auditDetails(p.body); n != len(tc.want) || !slices.Equal(got, tc.want) {
				t.Errorf("rows = %d %q, want %q", n, got, tc.want)
			}
		})
	}
	// The grant's change names its client in the client column, linked.
	p, _ := auditRows(t, b, with("client", r.conf.ClientID))
	if link := fmt.Sprintf(`href="/admin/clients/%d"`, r.conf.ID); !strings.Contains(p.body, link) || !strings.Contains(p.body, "<code>"+r.conf.ClientID+"</code>") {
		t.Errorf("the revoke token row does not link its client (%s):\n%s", link, p.body)
	}
}

// eventRows splits an audit page into its rows' markup.
func eventRows(body string) []string {
	parts := strings.Split(body, `data-testid="event-row"`)
	if len(parts) < 2 {
		return nil
	}
	rows := parts[1:]
	for i, row := range rows {
		if end := strings.Index(row, "</tr>"); end >= 0 {
			rows[i] = row[:end]
		}
	}
	return rows
}

// TestAdminAuditLogConsentDecisions: a user clicking Deny and then Allow
// on the real consent page leaves a consent_denied and a consent_granted
// event, which the audit log shows with the user, the client and the
// scope granted.
func TestAdminAuditLogConsentDecisions(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	alice := r.env.browser()
	authURL := r.authURL(r.conf, func(v url.Values) { v.Set("state", "deny-state") })
	p := alice.submitLogin(alice.get(authURL), testUser, testPassword)
	r.wantRedirectError(t, alice.decide(p, "deny"), cbURI, "access_denied", "deny-state")

	// Denying stored no consent: the next authorization asks again.
	p = alice.get(r.authURL(r.conf, nil))
	if !isConsentPage(p) {
		t.Fatalf("authorize after deny: got %d at %s, want the consent page again", p.status, p.url)
	}
	r.wantCode(t, alice.decide(p, "allow"), cbURI)

	b, _ := signInAdmin(r)
	for _, tc := range []struct {
		kind, detail string
	}{
		{models.EventConsentDenied, ""},
		{models.EventConsentGranted, "openid profile email"},
	} {
		p, n := auditRows(t, b, url.Values{"kind": {tc.kind}})
		if n != 1 {
			t.Fatalf("%s rows = %d, want 1:\n%s", tc.kind, n, p.body)
		}
		row := eventRows(p.body)[0]
		for _, want := range []string{
			`data-kind="` + tc.kind + `"`, "<td>" + testUser + "</td>",
			fmt.Sprintf(`href="/admin/clients/%d"`, r.conf.ID), "<code>" + r.conf.ClientID + "</code>",
		} {
			if !strings.Contains(row, want) {
				t.Errorf("%s row lacks %s:\n%s", tc.kind, want, row)
			}
		}
		if tc.detail != "" && !strings.Contains(row, tc.detail) {
			t.Errorf("%s row lacks the scope %q:\n%s", tc.kind, tc.detail, row)
		}
	}
	// Both decisions are in the unfiltered log too, newest first.
	p, _ = auditRows(t, b, url.Values{"user": {testUser}})
	var kinds []string
	for _, m := range eventKindRE.FindAllStringSubmatch(p.body, -1) {
		if m[1] == models.EventConsentGranted || m[1] == models.EventConsentDenied {
			kinds = append(kinds, m[1])
		}
	}
	if want := []string{models.EventConsentGranted, models.EventConsentDenied}; !slices.Equal(kinds, want) {
		t.Errorf("consent events for %s = %v, want %v", testUser, kinds, want)
	}
}
