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

	"github.com/chromedp/chromedp"

	"oidcd/models"
)

// listFixture is a set of clients, users and grants with names and times
// that make every order and filter of the admin lists tell.
type listFixture struct {
	env                    *testEnv
	alpha, bravo, charlie  *models.Client // bravo is public
	alice, bob, carol      *models.User   // bob is a superuser, carol inactive
	tokens                 map[string]uint
	consents, codes        map[string]uint
	now                    time.Time
	activeAlphaAlice       uint
	revokedID, expiredID   uint
	clientCredentialsToken uint
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	env := newTestEnv(t)
	f := &listFixture{env: env, tokens: map[string]uint{}, consents: map[string]uint{}, codes: map[string]uint{}, now: time.Now().UTC()}
	// Created in an order that is neither alphabetical nor its reverse.
	f.bravo, _ = env.createClient(models.ClientPublic, []string{"http://127.0.0.1/b"}, func(c *models.Client) { c.Name = "bravo" })
	f.alpha, _ = env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/a"}, func(c *models.Client) { c.Name = "Alpha" })
	f.charlie, _ = env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/c"}, func(c *models.Client) { c.Name = "charlie" })
	login := f.now.Add(-time.Hour)
	f.bob = env.createUser("bob", userPassword, func(u *models.User) { u.Superuser = true; u.Email = "bob@example.org" })
	f.alice = env.createUser("alice", userPassword, func(u *models.User) { u.LastLogin = &login; u.Email = "alice@example.org" })
	f.carol = env.createUser("Carol", userPassword, func(u *models.User) { u.Active = false; u.Email = "carol@example.org" })
	db := testDB(t)
	n := 0
	token := func(name string, c *models.Client, u *models.User, refresh bool, edit func(*models.Token)) uint {
		t.Helper()
		n++
		tok := &models.Token{
			AccessTokenHash: fmt.Sprintf("list-fixture-access-%d", n), ClientID: c.ID, FamilyID: fmt.Sprintf("family-%d", n),
			Scope: "openid", AuthTime: f.now, ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now.Add(time.Duration(n-100) * time.Minute),
		}
		if u != nil {
			tok.UserID = &u.ID
		}
		if refresh {
			h, exp := fmt.Sprintf("list-fixture-refresh-%d", n), f.now.Add(24*time.Hour)
			tok.RefreshTokenHash, tok.RefreshExpiresAt = &h, &exp
		}
		if edit != nil {
			edit(tok)
		}
		if err := db.Create(tok).Error; err != nil {
			t.Fatalf("token %s: %v", name, err)
		}
		f.tokens[name] = tok.ID
		return tok.ID
	}
	past := f.now.Add(-time.Minute)
	token("charlie-bob", f.charlie, f.bob, false, nil)
	f.activeAlphaAlice = token("alpha-alice", f.alpha, f.alice, true, nil)
	f.clientCredentialsToken = token("bravo-client", f.bravo, nil, false, nil)
	token("alpha-bob", f.alpha, f.bob, false, nil)
	f.revokedID = token("alpha-alice-revoked", f.alpha, f.alice, true, func(t *models.Token) { t.RevokedAt = &past })
	f.expiredID = token("charlie-alice-expired", f.charlie, f.alice, false, func(t *models.Token) { t.ExpiresAt = past })

	consent := func(name string, c *models.Client, u *models.User, given time.Duration) {
		t.Helper()
		cs := &models.UserConsent{UserID: u.ID, ClientID: c.ID, Scope: "openid", GivenAt: f.now.Add(given), ExpiresAt: f.now.Add(time.Hour)}
		if err := db.Create(cs).Error; err != nil {
			t.Fatalf("consent %s: %v", name, err)
		}
		f.consents[name] = cs.ID
	}
	consent("charlie-alice", f.charlie, f.alice, -3*time.Minute)
	consent("alpha-bob", f.alpha, f.bob, -2*time.Minute)
	consent("bravo-alice", f.bravo, f.alice, -time.Minute)

	code := func(name string, c *models.Client, u *models.User, created time.Duration, edit func(*models.Code)) {
		t.Helper()
		cd := &models.Code{CodeHash: "list-fixture-code-" + name, ClientID: c.ID, UserID: u.ID, RedirectURI: c.RedirectURIs[0],
			Scope: "openid", AuthTime: f.now, ExpiresAt: f.now.Add(time.Minute), CreatedAt: f.now.Add(created)}
		if edit != nil {
			edit(cd)
		}
		if err := db.Create(cd).Error; err != nil {
			t.Fatalf("code %s: %v", name, err)
		}
		f.codes[name] = cd.ID
	}
	code("alpha-alice-unused", f.alpha, f.alice, -3*time.Minute, nil)
	code("bravo-bob-used", f.bravo, f.bob, -2*time.Minute, func(c *models.Code) { c.UsedAt = &past })
	code("charlie-alice-expired", f.charlie, f.alice, -time.Minute, func(c *models.Code) { c.ExpiresAt = past })
	return f
}

var (
	rowIDRE   = regexp.MustCompile(`data-testid="(?:token|consent|code)-row" data-id="(\d+)"`)
	rowNameRE = regexp.MustCompile(`data-testid="(?:user|client)-name">([^<]*)<`)
)

// rowIDs are the ids of a grants list's rows, in order.
func rowIDs(body string) []uint {
	var out []uint
	for _, m := range rowIDRE.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 32)
		out = append(out, uint(n))
	}
	return out
}

// rowNames are the names of a users or clients list's rows, in order.
func rowNames(body string) []string {
	var out []string
	for _, m := range rowNameRE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// ids are the ids of the fixture's grants of the list at path, by name.
func (f *listFixture) ids(path string, names ...string) []uint {
	byName := f.tokens
	switch {
	case strings.HasPrefix(path, "/admin/consents"):
		byName = f.consents
	case strings.HasPrefix(path, "/admin/codes"):
		byName = f.codes
	}
	var out []uint
	for _, n := range names {
		id, ok := byName[n]
		if !ok {
			panic("no grant " + n + " in the fixture")
		}
		out = append(out, id)
	}
	return out
}

func (f *listFixture) get(t *testing.T, b *browser, path string) page {
	t.Helper()
	p := b.get(path)
	if p.status != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200:\n%.600s", path, p.status, p.body)
	}
	return p
}

// TestAdminListSort: each sortable list orders by the column asked for,
// both ways, with NULLs last either way, and marks the column with
// aria-sort.
func TestAdminListSort(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	b := f.env.signInAdmin()
	for _, tc := range []struct {
		path string
		want []string // row names, or fixture grant names
	}{
		{"/admin/tokens", []string{"alpha-bob", "bravo-client", "alpha-alice", "charlie-bob"}},
		{"/admin/tokens?sort=issued", []string{"charlie-bob", "alpha-alice", "bravo-client", "alpha-bob"}},
		{"/admin/tokens?sort=client", []string{"alpha-alice", "alpha-bob", "bravo-client", "charlie-bob"}},
		{"/admin/tokens?sort=-client", []string{"charlie-bob", "bravo-client", "alpha-bob", "alpha-alice"}},
		// The client's own token has no user: last both ways. Bob's two
		// tokens are in the order of their ids, the same way.
		{"/admin/tokens?sort=user", []string{"alpha-alice", "charlie-bob", "alpha-bob", "bravo-client"}},
		{"/admin/tokens?sort=-user", []string{"alpha-bob", "charlie-bob", "alpha-alice", "bravo-client"}},
		{"/admin/tokens?sort=-refresh_expires&status=all", []string{"alpha-alice-revoked", "alpha-alice", "charlie-alice-expired", "alpha-bob", "bravo-client", "charlie-bob"}},
		{"/admin/consents?sort=user", []string{"charlie-alice", "bravo-alice", "alpha-bob"}},
		{"/admin/consents?sort=-user", []string{"alpha-bob", "bravo-alice", "charlie-alice"}},
		{"/admin/consents?sort=client", []string{"alpha-bob", "bravo-alice", "charlie-alice"}},
		{"/admin/consents?sort=-given", []string{"bravo-alice", "alpha-bob", "charlie-alice"}},
		{"/admin/consents?sort=given", []string{"charlie-alice", "alpha-bob", "bravo-alice"}},
		{"/admin/codes?sort=created", []string{"alpha-alice-unused", "bravo-bob-used", "charlie-alice-expired"}},
		{"/admin/codes?sort=-client", []string{"charlie-alice-expired", "bravo-bob-used", "alpha-alice-unused"}},
		{"/admin/codes?sort=used", []string{"bravo-bob-used", "alpha-alice-unused", "charlie-alice-expired"}},
		{"/admin/users?sort=username", []string{"alice", "bob", "Carol", "root"}},
		{"/admin/users?sort=-username", []string{"root", "Carol", "bob", "alice"}},
		// Only alice and root have signed in; the others come last either way.
		{"/admin/users?sort=last_login", []string{"alice", "root", "bob", "Carol"}},
		{"/admin/users?sort=-last_login", []string{"root", "alice", "Carol", "bob"}},
		{"/admin/clients?sort=name", []string{"Alpha", "bravo", "charlie"}},
		{"/admin/clients?sort=-name", []string{"charlie", "bravo", "Alpha"}},
		{"/admin/clients", []string{"charlie", "Alpha", "bravo"}},
		{"/admin/clients?sort=type", []string{"Alpha", "charlie", "bravo"}},
		{"/admin/clients?sort=-type", []string{"bravo", "charlie", "Alpha"}},
		// Last token issued: charlie's expired token is the newest; every
		// client has one.
		{"/admin/clients?sort=-last_used", []string{"charlie", "Alpha", "bravo"}},
		{"/admin/clients?sort=last_used", []string{"bravo", "Alpha", "charlie"}},
	} {
		p := f.get(t, b, tc.path)
		var got []string
		if strings.HasPrefix(tc.path, "/admin/users") || strings.HasPrefix(tc.path, "/admin/clients") {
			got = rowNames(p.body)
		} else {
			ids := rowIDs(p.body)
			want := f.ids(tc.path, tc.want...)
			if !slices.Equal(ids, want) {
				t.Errorf("GET %s: rows %v, want %v (%v)", tc.path, ids, want, tc.want)
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("GET %s: rows %q, want %q", tc.path, got, tc.want)
		}
	}

	// aria-sort marks the sorted column only; its link sorts the other way.
	p := f.get(t, b, "/admin/tokens?sort=client")
	if n := strings.Count(p.body, "aria-sort="); n != 1 {
		t.Errorf("tokens sorted by client: %d columns with aria-sort, want 1", n)
	}
	if !regexp.MustCompile(`<th scope="col" aria-sort="ascending"[^>]*><a href="/admin/tokens\?sort=-client" data-testid="sort-client"`).MatchString(p.body) {
		t.Errorf("tokens sorted by client: want its header aria-sort=ascending linking to sort=-client:\n%s", testIDBlock(p.body, "tokens-table"))
	}
	p = f.get(t, b, "/admin/users")
	if !strings.Contains(p.body, `aria-sort="descending"`) {
		t.Errorf("users by default: no column says it sorts descending (the newest first)")
	}
	// Client last activity is shown, from the tokens on record.
	p = f.get(t, b, "/admin/clients?q=bravo")
	if !strings.Contains(p.body, f.now.Add(-97*time.Minute).Format("2006-01-02 15:04 UTC")) {
		t.Errorf("clients list: bravo's last token issued time is not shown")
	}
}

// TestAdminListFilters: each filter narrows its list to what it says.
func TestAdminListFilters(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	b := f.env.signInAdmin()
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/admin/tokens?status=revoked", []string{"alpha-alice-revoked"}},
		{"/admin/tokens?status=expired", []string{"charlie-alice-expired"}},
		{"/admin/tokens?status=all&sort=issued", []string{"charlie-bob", "alpha-alice", "bravo-client", "alpha-bob", "alpha-alice-revoked", "charlie-alice-expired"}},
		{"/admin/tokens?type=refresh", []string{"alpha-alice"}},
		{"/admin/tokens?type=access&sort=issued", []string{"charlie-bob", "bravo-client", "alpha-bob"}},
		{fmt.Sprintf("/admin/tokens?client=%d&sort=issued", f.alpha.ID), []string{"alpha-alice", "alpha-bob"}},
		{fmt.Sprintf("/admin/tokens?user=%d&status=all&sort=issued", f.alice.ID), []string{"alpha-alice", "alpha-alice-revoked", "charlie-alice-expired"}},
		{"/admin/tokens?username=bob&sort=issued", []string{"charlie-bob", "alpha-bob"}},
		{"/admin/tokens?username=nobody", nil},
		{fmt.Sprintf("/admin/tokens?client=%d&user=%d&type=refresh&status=revoked", f.alpha.ID, f.alice.ID), []string{"alpha-alice-revoked"}},
		{fmt.Sprintf("/admin/consents?client=%d", f.bravo.ID), []string{"bravo-alice"}},
		{fmt.Sprintf("/admin/consents?user=%d&sort=given", f.alice.ID), []string{"charlie-alice", "bravo-alice"}},
		{"/admin/consents?username=bob", []string{"alpha-bob"}},
		{"/admin/codes?status=unused", []string{"alpha-alice-unused"}},
		{"/admin/codes?status=used", []string{"bravo-bob-used"}},
		{"/admin/codes?status=expired", []string{"charlie-alice-expired"}},
		{fmt.Sprintf("/admin/codes?client=%d", f.charlie.ID), []string{"charlie-alice-expired"}},
		{fmt.Sprintf("/admin/codes?user=%d&sort=created", f.alice.ID), []string{"alpha-alice-unused", "charlie-alice-expired"}},
	} {
		p := f.get(t, b, tc.path)
		if got, want := rowIDs(p.body), f.ids(tc.path, tc.want...); !slices.Equal(got, want) {
			t.Errorf("GET %s: rows %v, want %v (%v)", tc.path, got, want, tc.want)
		}
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/admin/users?status=inactive", []string{"Carol"}},
		{"/admin/users?status=active&sort=username", []string{"alice", "bob", "root"}},
		{"/admin/users?role=admin&sort=username", []string{"bob", "root"}},
		{"/admin/users?role=user&status=active", []string{"alice"}},
		{"/admin/users?q=example.org&role=user&sort=-username", []string{"Carol", "alice"}},
		{"/admin/clients?type=public", []string{"bravo"}},
		{"/admin/clients?type=confidential&sort=name", []string{"Alpha", "charlie"}},
		{"/admin/clients?type=confidential&q=alp", []string{"Alpha"}},
	} {
		p := f.get(t, b, tc.path)
		if got := rowNames(p.body); !slices.Equal(got, tc.want) {
			t.Errorf("GET %s: rows %q, want %q", tc.path, got, tc.want)
		}
	}
	// The filter form shows what filters, and keeps the order.
	p := f.get(t, b, fmt.Sprintf("/admin/tokens?status=revoked&client=%d&sort=-user", f.alpha.ID))
	form := testIDBlock(p.body, "list-filters")
	for _, want := range []string{`<option value="revoked" selected>`, fmt.Sprintf(`<option value="%d" selected>Alpha</option>`, f.alpha.ID),
		`<input type="hidden" name="sort" value="-user">`, `data-testid="clear-filters"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("tokens filter form: no %s in\n%s", want, form)
		}
	}
	p = f.get(t, b, "/admin/codes?username=nobody")
	if testIDText(p.body, "no-such-user") == "" || !strings.Contains(p.body, `name="username" value="nobody"`) {
		t.Errorf("codes of an unknown user: want a note saying so and the name kept in the field")
	}
	p = f.get(t, b, fmt.Sprintf("/admin/tokens?user=%d", f.alice.ID))
	if !strings.Contains(p.body, `name="username" value="alice"`) {
		t.Errorf("tokens filtered by alice's id: the user field does not show her name")
	}
}

// TestAdminListPagesKeepFiltersAndSort: the pager keeps the filters and
// the order; the column headers and the filter form keep each other and
// start again from page 1.
func TestAdminListPagesKeepFiltersAndSort(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	db := testDB(t)
	var want []uint
	for i := range 30 {
		tok := &models.Token{AccessTokenHash: fmt.Sprintf("page-%d", i), ClientID: f.charlie.ID, UserID: &f.bob.ID, FamilyID: fmt.Sprintf("page-%d", i),
			Scope: "openid", AuthTime: f.now, ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now.Add(-50 * time.Minute)}
		if err := db.Create(tok).Error; err != nil {
			t.Fatal(err)
		}
		want = append(want, tok.ID)
	}
	// The same time for all 30: the order within it is by id.
	want = append([]uint{f.tokens["charlie-bob"]}, want...)
	b := f.env.signInAdmin()
	first := fmt.Sprintf("/admin/tokens?client=%d&sort=issued&type=access", f.charlie.ID)
	p := f.get(t, b, first)
	if got := rowIDs(p.body); !slices.Equal(got, want[:25]) {
		t.Errorf("page 1: rows %v, want %v", got, want[:25])
	}
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next"`).FindStringSubmatch(p.body)
	if next == nil {
		t.Fatalf("page 1 has no next link:\n%s", testIDBlock(p.body, "pager"))
	}
	nextURL, _ := url.Parse(html.UnescapeString(next[1]))
	q := nextURL.Query()
	if q.Get("client") != fmt.Sprint(f.charlie.ID) || q.Get("sort") != "issued" || q.Get("type") != "access" || q.Get("page") != "2" {
		t.Errorf("next link %s: want the client, sort, type and page=2 kept", nextURL)
	}
	p = f.get(t, b, nextURL.String())
	if got := rowIDs(p.body); !slices.Equal(got, want[25:]) {
		t.Errorf("page 2: rows %v, want %v", got, want[25:])
	}
	// On page 2, a header keeps the filters and goes back to page 1.
	hdr := regexp.MustCompile(`<a href="([^"]+)" data-testid="sort-user"`).FindStringSubmatch(p.body)
	if hdr == nil {
		t.Fatal("no user column header link on page 2")
	}
	hdrURL, _ := url.Parse(html.UnescapeString(hdr[1]))
	if q := hdrURL.Query(); q.Get("client") != fmt.Sprint(f.charlie.ID) || q.Get("type") != "access" || q.Get("sort") != "user" || q.Has("page") {
		t.Errorf("user header on page 2 links to %s: want the filters, sort=user and no page", hdrURL)
	}
	// The revoke buttons come back to this very page.
	if !strings.Contains(p.body, `name="back" value="`+html.EscapeString(nextURL.String())+`"`) {
		t.Errorf("page 2: the row actions do not return to %s", nextURL)
	}
}

// TestAdminListBadInput: a sort or filter value a list does not allow is
// a readable 400 page, never a server error; unknown parameters are
// ignored.
func TestAdminListBadInput(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	b := f.env.signInAdmin()
	for _, path := range []string{
		"/admin/tokens?sort=bogus", "/admin/tokens?sort=-", "/admin/tokens?sort=id", "/admin/tokens?sort=" + url.QueryEscape("created_at; DROP TABLE tokens"),
		"/admin/tokens?sort=access_token_hash", "/admin/tokens?status=bogus", "/admin/tokens?type=id_token", "/admin/tokens?client=abc",
		"/admin/tokens?user=-1", "/admin/tokens?client=0", "/admin/tokens?client=99999999999", "/admin/consents?user=x", "/admin/consents?sort=scope",
		"/admin/codes?status=revoked", "/admin/codes?sort=code_hash", "/admin/users?status=gone", "/admin/users?role=root",
		"/admin/users?sort=password_hash", "/admin/clients?type=secret", "/admin/clients?sort=secret_hash", "/admin/clients?sort=--name",
	} {
		p := b.get(path)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Cannot show this list") {
			t.Errorf("GET %s: got %d, want 400 with a readable page:\n%.400s", path, p.status, p.body)
		}
	}
	for _, path := range []string{"/admin/tokens?colour=red", "/admin/tokens?page=abc", "/admin/tokens?page=999", "/admin/users?page=-3&dir=up", "/admin/clients?q=%25_%5C"} {
		if p := b.get(path); p.status != http.StatusOK {
			t.Errorf("GET %s: got %d, want 200 (unknown parameters ignored)", path, p.status)
		}
	}
	if n := countRows(t, &models.Token{}, "1 = 1"); n != 6 {
		t.Errorf("tokens after the bad requests: %d, want the 6 of the fixture", n)
	}
}

// testIDBlock is the markup of the element with the test id, up to its
// closing tag (elements of the same name must not nest in it).
func testIDBlock(body, testID string) string {
	i := strings.Index(body, `data-testid="`+testID+`"`)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(body[:i], "<")
	tag := strings.Fields(body[start+1 : i])[0]
	end := strings.Index(body[i:], "</"+tag+">")
	if end < 0 {
		return body[start:]
	}
	return body[start : i+end]
}

var confirmIDRE = regexp.MustCompile(`<input type="hidden" name="id" value="(\d+)">`)

// bulkConfirm posts ids to a list's bulk action (without confirm) and
// returns the confirmation page.
func bulkConfirmPage(t *testing.T, b *browser, list, action, testid string, ids ...uint) page {
	t.Helper()
	form := csrfFrom(t, b, list, testid)
	form.Set("back", list)
	for _, id := range ids {
		form.Add("id", fmt.Sprint(id))
	}
	p := b.post(action, form)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="confirm-page"`) {
		t.Fatalf("POST %s: got %d, want the confirmation page:\n%.800s", action, p.status, p.body)
	}
	return p
}

// confirm submits a confirmation page's form as its button does.
func confirm(t *testing.T, b *browser, p page, action string) page {
	t.Helper()
	form := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(testIDBlock(p.body, "confirm-form"), -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return b.post(action, form)
}

func TestAdminBulkRevokeTokens(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	b := f.env.signInAdmin()
	list := fmt.Sprintf("/admin/tokens?client=%d&sort=user", f.alpha.ID)
	p := f.get(t, b, list)
	if n := strings.Count(p.body, `data-testid="bulk-select"`); n != 2 {
		t.Errorf("alpha's active tokens: %d checkboxes, want 2", n)
	}
	if !strings.Contains(p.body, `name="back" value="`+html.EscapeString(list)+`"`) {
		t.Errorf("the bulk form does not return to the list with its filter")
	}

	// Without the CSRF token: refused, nothing revoked.
	forged := url.Values{"id": {fmt.Sprint(f.tokens["alpha-alice"])}, "confirm": {"yes"}}
	if p := b.post("/admin/tokens/bulk-revoke", forged); p.status != http.StatusForbidden {
		t.Errorf("bulk revoke without CSRF: got %d, want 403", p.status)
	}
	// Two live tokens, one revoked already and one that never was.
	sel := []uint{f.tokens["alpha-alice"], f.tokens["alpha-bob"], f.revokedID, 999999}
	p = bulkConfirmPage(t, b, list, "/admin/tokens/bulk-revoke", "bulk-form", sel...)
	if n := countRows(t, &models.Token{}, "revoked_at IS NOT NULL"); n != 1 {
		t.Fatalf("after the confirmation page only: %d revoked tokens, want the 1 of the fixture", n)
	}
	if got := testIDText(p.body, "confirm-title"); got != "Revoke 4 tokens?" {
		t.Errorf("confirmation title %q", got)
	}
	if n := strings.Count(testIDBlock(p.body, "confirm-takes"), "<li>"); n != 2 {
		t.Errorf("confirmation lists %d tokens, want the 2 live ones:\n%s", n, testIDBlock(p.body, "confirm-takes"))
	}
	if !strings.Contains(testIDBlock(p.body, "confirm-keeps"), "2 selected tokens that are already revoked or gone") {
		t.Errorf("confirmation does not say 2 will be skipped:\n%s", testIDBlock(p.body, "confirm-keeps"))
	}
	var carried []string
	for _, m := range confirmIDRE.FindAllStringSubmatch(p.body, -1) {
		carried = append(carried, m[1])
	}
	if len(carried) != 4 {
		t.Errorf("confirmation carries ids %v, want the 4 selected", carried)
	}
	if !strings.Contains(p.body, `href="`+html.EscapeString(list)+`" class="cancel"`) {
		t.Errorf("Cancel does not return to %s", list)
	}

	p = confirm(t, b, p, "/admin/tokens/bulk-revoke")
	wantLanded(t, p, "/admin/tokens", "success")
	if p.url.RequestURI() != list {
		t.Errorf("after the bulk revoke: at %s, want back at %s", p.url.RequestURI(), list)
	}
	if msg := testIDText(p.body, "flash-success"); msg != "2 tokens revoked. 2 selected rows skipped (gone or already revoked)." {
		t.Errorf("flash %q", msg)
	}
	if n := countRows(t, &models.Token{}, "revoked_at IS NOT NULL"); n != 3 {
		t.Errorf("revoked tokens: %d, want 3", n)
	}
	if n := countRows(t, &models.Token{}, "id IN ? AND revoked_at IS NULL", []uint{f.tokens["alpha-alice"], f.tokens["alpha-bob"]}); n != 0 {
		t.Errorf("%d selected tokens still live", n)
	}
	if n := countEvents(t, "kind = ? AND detail = ? AND client_id = ?", models.EventAdminChange, "revoke token", f.alpha.ID); n != 2 {
		t.Errorf("audit: %d revoke token events, want 2", n)
	}
	if n := countEvents(t, "target = ?", fmt.Sprintf("token %d of user alice", f.tokens["alpha-alice"])); n != 1 {
		t.Errorf("audit: alice's token revoked %d times, want 1", n)
	}

	// Nothing selected: back with an error; a bad id: 400.
	p = postWithCSRF(t, b, list, "/admin/tokens/bulk-revoke", url.Values{"back": {list}})
	wantLanded(t, p, "/admin/tokens", "error")
	p = postWithCSRF(t, b, list, "/admin/tokens/bulk-revoke", url.Values{"back": {list}, "id": {"x"}})
	if p.status != http.StatusBadRequest {
		t.Errorf("bulk revoke of id x: got %d, want 400", p.status)
	}
	tooMany := url.Values{}
	for i := range models.MaxBulk + 1 {
		tooMany.Add("id", fmt.Sprint(i+1))
	}
	if p := postWithCSRF(t, b, list, "/admin/tokens/bulk-revoke", tooMany); p.status != http.StatusBadRequest {
		t.Errorf("bulk revoke of %d ids: got %d, want 400", models.MaxBulk+1, p.status)
	}
	// A back that leaves the list goes to the list itself.
	p = postWithCSRF(t, b, list, "/admin/tokens/bulk-revoke", url.Values{"back": {"https://evil.example/"}, "id": {"1"}})
	if !strings.Contains(p.body, `href="/admin/tokens" class="cancel"`) {
		t.Errorf("a foreign back: Cancel does not go to /admin/tokens")
	}
}

func TestAdminBulkRevokeConsentsAndDeleteCodes(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	b := f.env.signInAdmin()

	codes := "/admin/codes?status=expired"
	p := bulkConfirmPage(t, b, codes, "/admin/codes/bulk-delete", "bulk-form", f.codes["charlie-alice-expired"], f.codes["bravo-bob-used"])
	if !strings.Contains(p.body, `href="`+html.EscapeString(codes)+`" class="cancel"`) {
		t.Errorf("codes confirmation: Cancel does not go back to %s", codes)
	}
	p = confirm(t, b, p, "/admin/codes/bulk-delete")
	wantLanded(t, p, "/admin/codes", "success")
	if p.url.RequestURI() != codes {
		t.Errorf("after deleting codes: at %s, want %s", p.url.RequestURI(), codes)
	}
	if n := countRows(t, &models.Code{}, "1 = 1"); n != 1 {
		t.Errorf("codes left: %d, want 1", n)
	}
	if n := countEvents(t, "kind = ? AND detail = ?", models.EventAdminChange, "delete code"); n != 2 {
		t.Errorf("admin audit of the codes: %d, want 2", n)
	}
	// The same ids again: all skipped, no error.
	p = bulkConfirmPage(t, b, codes, "/admin/codes/bulk-delete", "codes-page", f.codes["charlie-alice-expired"])
	p = confirm(t, b, p, "/admin/codes/bulk-delete")
	if msg := testIDText(p.body, "flash-success"); msg != "0 codes deleted. 1 selected row skipped (already gone)." {
		t.Errorf("deleting a deleted code: flash %q", msg)
	}

	list := fmt.Sprintf("/admin/consents?user=%d", f.alice.ID)
	p = bulkConfirmPage(t, b, list, "/admin/consents/bulk-revoke", "bulk-form", f.consents["charlie-alice"], f.consents["bravo-alice"], 424242)
	if n := countRows(t, &models.UserConsent{}, "1 = 1"); n != 3 {
		t.Fatalf("consents after the confirmation page only: %d, want 3", n)
	}
	p = confirm(t, b, p, "/admin/consents/bulk-revoke")
	wantLanded(t, p, "/admin/consents", "success")
	if msg := testIDText(p.body, "flash-success"); !strings.HasPrefix(msg, "2 consents revoked") || !strings.Contains(msg, "1 selected row skipped") {
		t.Errorf("flash %q", msg)
	}
	if n := countRows(t, &models.UserConsent{}, "user_id = ?", f.alice.ID); n != 0 {
		t.Errorf("alice's consents after the bulk revoke: %d, want 0", n)
	}
	if n := countRows(t, &models.UserConsent{}, "user_id = ?", f.bob.ID); n != 1 {
		t.Errorf("bob's consents: %d, want 1 (not selected)", n)
	}
	// As for one consent: the pair's tokens go with it.
	if n := countRows(t, &models.Token{}, "id = ? AND revoked_at IS NULL", f.tokens["charlie-alice-expired"]); n != 0 {
		t.Errorf("charlie's token for alice is not revoked with the consent")
	}
	if n := countEvents(t, "kind = ? AND user_id = ?", models.EventConsentRevoked, f.alice.ID); n != 2 {
		t.Errorf("consent_revoked events: %d, want 2", n)
	}
	if n := countEvents(t, "kind = ? AND detail = ?", models.EventAdminChange, "revoke consent"); n != 2 {
		t.Errorf("admin audit of the consents: %d, want 2", n)
	}
}

// TestBrowserAdminListSortFilter: in chromium, a column header reorders
// the list and a filter removes rows; a bulk selection reaches its
// confirmation and Cancel returns to the filtered list.
func TestBrowserAdminListSortFilter(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	f := newListFixture(t)
	f.env.createUser(adminName, adminPassword, func(u *models.User) { u.Superuser = true })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newChrome(t, ctx, exe)
	readRows := func(step, testid string) []string {
		return chromeRead(c, step, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="`+testid+`"]')).map(r => r.innerText.trim())`))
	}

	c.do("sign in and open the users",
		chromedp.Navigate(f.env.issuer+"/admin/users"),
		chromedp.WaitVisible(byTestID("login-form")),
		chromedp.SendKeys(byTestID("username"), adminName),
		chromedp.SendKeys(byTestID("password"), adminPassword),
		chromedp.Click(byTestID("login-submit")),
		chromedp.WaitVisible(byTestID("users-table")),
	)
	before := readRows("read the users", "user-name")
	c.do("sort by username",
		chromedp.Click(byTestID("sort-username")),
		chromedp.WaitVisible(chromedp.CSS(`th[aria-sort="ascending"] [data-testid="sort-username"]`)),
	)
	asc := readRows("read the users by name", "user-name")
	c.do("sort by username the other way",
		chromedp.Click(byTestID("sort-username")),
		chromedp.WaitVisible(chromedp.CSS(`th[aria-sort="descending"] [data-testid="sort-username"]`)),
		screenshot(t, "admin-users-sorted"),
	)
	desc := readRows("read the users by name, descending", "user-name")
	if want := []string{"alice", "bob", "Carol", "root"}; !slices.Equal(asc, want) {
		t.Errorf("users by name: %q, want %q", asc, want)
	}
	if slices.Equal(before, asc) {
		t.Errorf("sorting by name did not change the order %q", before)
	}
	if want := []string{"root", "Carol", "bob", "alice"}; !slices.Equal(desc, want) {
		t.Errorf("users by name, descending: %q, want %q", desc, want)
	}

	c.do("open the tokens sorted by client",
		chromedp.Navigate(f.env.issuer+"/admin/tokens?sort=client"),
		chromedp.WaitVisible(byTestID("tokens-table")),
		screenshot(t, "admin-tokens-sorted"),
	)
	all := readRows("read the tokens", "token-row")
	if len(all) != 4 || !strings.HasPrefix(all[0], "Alpha") || !strings.HasPrefix(all[3], "charlie") {
		t.Errorf("tokens by client: %q, want 4 from Alpha to charlie", all)
	}
	c.do("filter by client charlie and by the user typed",
		chromedp.SetValue(byTestID("filter-client"), fmt.Sprint(f.charlie.ID)),
		chromedp.Click(byTestID("apply-filters")),
		chromedp.WaitVisible(byTestID("clear-filters")),
	)
	filtered := readRows("read the filtered tokens", "token-row")
	if len(filtered) != 1 || !strings.HasPrefix(filtered[0], "charlie") {
		t.Errorf("tokens of charlie: %q, want one", filtered)
	}
	loc := chromeRead(c, "read the filtered URL", chromedp.Location())
	if u, _ := url.Parse(loc); u.Query().Get("sort") != "client" || u.Query().Get("client") != fmt.Sprint(f.charlie.ID) {
		t.Errorf("filtered list at %s: want the client filter and the order kept", loc)
	}
	c.do("filter revoked tokens of alice",
		chromedp.Navigate(f.env.issuer+"/admin/tokens"),
		chromedp.WaitVisible(byTestID("list-filters")),
		chromedp.SetValue(byTestID("filter-status"), "all"),
		chromedp.SendKeys(byTestID("filter-username"), "alice"),
		chromedp.Click(byTestID("apply-filters")),
		chromedp.WaitVisible(byTestID("clear-filters")),
		screenshot(t, "admin-tokens-filtered"),
	)
	if rows := readRows("read alice's tokens", "token-row"); len(rows) != 3 {
		t.Errorf("all of alice's tokens: %q, want 3", rows)
	}

	checked := func(step string) int {
		return chromeRead(c, step, chromedp.Evaluate[int](`document.querySelectorAll('input[form="bulk"][name="id"]:checked').length`))
	}
	c.do("select every row", chromedp.Click(byTestID("bulk-select-all")))
	if n := checked("count the ticked rows"); n != 3 {
		t.Errorf("select all ticked %d rows, want 3", n)
	}
	c.do("select none", chromedp.Click(byTestID("bulk-select-all")))
	if n := checked("count the ticked rows again"); n != 0 {
		t.Errorf("unticking select all left %d rows ticked, want 0", n)
	}
	c.do("select two tokens for revocation",
		chromedp.Click(chromedp.CSS(`[data-testid="token-row"]:nth-child(1) [data-testid="bulk-select"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="token-row"]:nth-child(2) [data-testid="bulk-select"]`)),
		chromedp.Click(byTestID("bulk-submit")),
		chromedp.WaitVisible(byTestID("confirm-page")),
		screenshot(t, "admin-tokens-bulk-confirm"),
		chromedp.Click(byTestID("confirm-cancel")),
		chromedp.WaitVisible(byTestID("tokens-table")),
	)
	// Back to the same list, the typed name now alice's id.
	loc = chromeRead(c, "read the URL after Cancel", chromedp.Location())
	if u, _ := url.Parse(loc); u.Path != "/admin/tokens" || u.Query().Get("status") != "all" || u.Query().Get("user") != fmt.Sprint(f.alice.ID) {
		t.Errorf("Cancel went to %s, want back to alice's tokens of any status", loc)
	}
	if rows := readRows("read alice's tokens after Cancel", "token-row"); len(rows) != 3 {
		t.Errorf("after Cancel: %q, want alice's 3 tokens", rows)
	}
	if n := countRows(t, &models.Token{}, "revoked_at IS NOT NULL"); n != 1 {
		t.Errorf("revoked tokens after Cancel: %d, want the 1 of the fixture", n)
	}
	// On a phone the filter form wraps inside the page instead of
	// widening it.
	type fit struct{ Right, Width, ScrollWidth float64 }
	c.do("the filtered tokens on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(f.env.issuer+"/admin/tokens?status=all"),
		chromedp.WaitVisible(byTestID("list-filters")),
		screenshot(t, "admin-tokens-filters-phone"),
	)
	got := chromeRead(c, "measure the filter form", chromedp.Evaluate[fit](`(() => {
		const f = document.querySelector('[data-testid="list-filters"]');
		return {Right: f.getBoundingClientRect().right, Width: window.innerWidth, ScrollWidth: f.scrollWidth - f.clientWidth};
	})()`))
	if got.Right > got.Width || got.ScrollWidth > 0 {
		t.Errorf("filter form on a 390 px phone: %+v, want it within the viewport and not overflowing", got)
	}
	c.wantNoDialogs()
}
