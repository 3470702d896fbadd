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

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// tokenID finds the row of an access token.
func tokenID(r *rig, access string) uint {
	r.t.Helper()
	var id uint
	if err := r.db.Table("tokens").Where("access_token_hash = ?", oauth.HashToken(access)).Select("id").Scan(&id).Error; err != nil || id == 0 {
		r.t.Fatalf("token row: id %d, %v", id, err)
	}
	return id
}

func TestAdminConsentRevoke(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	alice := r.env.browser()
	first := r.tokens(alice, r.conf, r.secret, nil)["access_token"].(string)
	// A second flow reuses the consent: no consent page, another token.
	second := r.tokens(alice, r.conf, r.secret, nil)["access_token"].(string)
	pubAccess := r.tokens(alice, r.pub, "", nil)["access_token"].(string)
	consent, err := r.env.store.ConsentFor(context.Background(), r.user.ID, r.conf.ID)
	if err != nil {
		t.Fatalf("consent after the flow: %v", err)
	}

	b, _ := signInAdmin(r)
	list := fmt.Sprintf("/admin/consents?user=%d", r.user.ID)
	p := b.get(list)
	if !strings.Contains(p.body, `data-testid="consents-page"`) || !strings.Contains(p.body, `data-testid="revoke-consent"`) {
		t.Fatalf("consents page: got %d, want the page with a revoke button:\n%.800s", p.status, p.body)
	}
	if got := strings.Count(p.body, `data-testid="consent-row"`); got != 2 {
		t.Errorf("consent rows for alice: got %d, want 2 (confidential and public client)", got)
	}
	if p := b.get(fmt.Sprintf("/admin/consents?client=%d", r.conf.ID)); strings.Count(p.body, `data-testid="consent-row"`) != 1 {
		t.Errorf("consent rows for the confidential client: got %d, want 1", strings.Count(p.body, `data-testid="consent-row"`))
	}
	form := csrfFrom(t, b, list, "consents-page")
	form.Set("back", list)
	p = b.post(fmt.Sprintf("/admin/consents/%d/revoke", consent.ID), form)
	wantLanded(t, p, "/admin/consents", "success")
	if got := p.url.RequestURI(); got != list {
		t.Errorf("after revoke: landed on %s, want back on %s", got, list)
	}

	for name, access := range map[string]string{"first": first, "second": second} {
		if status := r.userinfoStatus(access); status != http.StatusUnauthorized {
			t.Errorf("userinfo with the %s token after revoking consent: got %d, want 401", name, status)
		}
	}
	if status := r.userinfoStatus(pubAccess); status != http.StatusOK {
		t.Errorf("userinfo with another client's token: got %d, want 200 (untouched)", status)
	}
	if _, err := r.env.store.ConsentFor(context.Background(), r.user.ID, r.conf.ID); err != models.ErrNotFound {
		t.Errorf("consent after revoke: %v, want ErrNotFound", err)
	}
	var events int64
	r.db.Table("events").Where("kind = ? AND user_id = ? AND client_id = ?", models.EventConsentRevoked, r.user.ID, r.conf.ID).Count(&events)
	if events != 1 {
		t.Errorf("consent_revoked events: got %d, want 1", events)
	}
	r.db.Table("events").Where("kind = ? AND detail = ?", models.EventAdminChange, "revoke consent").Count(&events)
	if events != 1 {
		t.Errorf("admin audit entries for the revoke: got %d, want 1", events)
	}
	if p := alice.get(r.authURL(r.conf, nil)); !isConsentPage(p) {
		t.Errorf("next authorize after revoke: got %d at %s, want the consent page again", p.status, p.url)
	}
}

func TestAdminTokens(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	alice := r.env.browser()
	tok := r.tokens(alice, r.conf, r.secret, func(v url.Values) { v.Set("scope", "openid profile offline_access") })
	access := tok["access_token"].(string)
	other := r.tokens(alice, r.conf, r.secret, nil)["access_token"].(string)
	third := r.tokens(alice, r.conf, r.secret, nil)["access_token"].(string)
	pubAccess := r.tokens(alice, r.pub, "", nil)["access_token"].(string)

	b, _ := signInAdmin(r)
	p := b.get("/admin/tokens")
	if !strings.Contains(p.body, `data-testid="tokens-page"`) {
		t.Fatalf("tokens page: got %d, want the page", p.status)
	}
	if got := strings.Count(p.body, `data-testid="token-row"`); got != 4 {
		t.Errorf("token rows: got %d, want 4", got)
	}
	secrets := []string{access, oauth.HashToken(access), other, third, pubAccess}
	if rt, ok := tok["refresh_token"].(string); ok {
		secrets = append(secrets, rt, oauth.HashToken(rt))
	}
	for _, s := range secrets {
		if strings.Contains(p.body, s) {
			t.Errorf("the tokens page contains a token value or hash (%.6s…), want none", s)
		}
	}
	if p := b.get(fmt.Sprintf("/admin/tokens?client=%d", r.pub.ID)); strings.Count(p.body, `data-testid="token-row"`) != 1 {
		t.Errorf("token rows for the public client: got %d, want 1", strings.Count(p.body, `data-testid="token-row"`))
	}

	// Revoke one.
	form := csrfFrom(t, b, "/admin/tokens", "revoke-token")
	wantLanded(t, b.post(fmt.Sprintf("/admin/tokens/%d/revoke", tokenID(r, access)), form), "/admin/tokens", "success")
	if status := r.userinfoStatus(access); status != http.StatusUnauthorized {
		t.Errorf("userinfo with the revoked token: got %d, want 401", status)
	}
	if status := r.userinfoStatus(other); status != http.StatusOK {
		t.Errorf("userinfo with a token not revoked: got %d, want 200", status)
	}
	if rt, ok := tok["refresh_token"].(string); ok {
		resp, body := r.postToken(map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {r.conf.ClientID}, "client_secret": {r.secret}})
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("refresh with the revoked pair: got %d %v, want 400 invalid_grant", resp.StatusCode, body["error"])
		}
	}

	// Revoke all of the confidential client.
	list := fmt.Sprintf("/admin/tokens?client=%d", r.conf.ID)
	form = csrfFrom(t, b, list, "revoke-all-tokens")
	form.Set("client", fmt.Sprint(r.conf.ID))
	wantLanded(t, b.post("/admin/tokens/revoke", form), "/admin/tokens", "success")
	for name, a := range map[string]string{"second": other, "third": third} {
		if status := r.userinfoStatus(a); status != http.StatusUnauthorized {
			t.Errorf("userinfo with the %s token of the client after revoke-all: got %d, want 401", name, status)
		}
	}
	if status := r.userinfoStatus(pubAccess); status != http.StatusOK {
		t.Errorf("userinfo with another client's token after revoke-all: got %d, want 200", status)
	}

	// Revoke all of a user.
	form = csrfFrom(t, b, "/admin/tokens", "tokens-page")
	form.Set("user", fmt.Sprint(r.user.ID))
	wantLanded(t, b.post("/admin/tokens/revoke", form), "/admin/tokens", "success")
	if status := r.userinfoStatus(pubAccess); status != http.StatusUnauthorized {
		t.Errorf("userinfo after revoking all of the user's tokens: got %d, want 401", status)
	}
	if p := b.get("/admin/tokens"); strings.Contains(p.body, `data-testid="token-row"`) {
		t.Errorf("tokens page after revoking everything still lists tokens, want none")
	}

	// With neither a user nor a client, nothing is revoked.
	form = csrfFrom(t, b, "/admin/tokens", "tokens-page")
	wantLanded(t, b.post("/admin/tokens/revoke", form), "/admin/tokens", "error")
}

func TestAdminCodes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	alice := r.env.browser()
	code := r.codeFor(alice, r.conf, nil)
	b, _ := signInAdmin(r)
	p := b.get("/admin/codes")
	if !strings.Contains(p.body, `data-testid="codes-page"`) || strings.Count(p.body, `data-testid="code-row"`) != 1 {
		t.Fatalf("codes page: got %d with %d rows, want 1 row", p.status, strings.Count(p.body, `data-testid="code-row"`))
	}
	if strings.Contains(p.body, code) || strings.Contains(p.body, oauth.HashToken(code)) {
		t.Errorf("the codes page contains the code or its hash, want neither")
	}
	var id uint
	r.db.Table("codes").Where("code_hash = ?", oauth.HashToken(code)).Select("id").Scan(&id)
	form := csrfFrom(t, b, "/admin/codes", "delete-code")
	wantLanded(t, b.post(fmt.Sprintf("/admin/codes/%d/delete", id), form), "/admin/codes", "success")
	if p := b.get("/admin/codes"); strings.Contains(p.body, `data-testid="code-row"`) {
		t.Errorf("codes page after delete still lists a code, want none")
	}
	resp, body := r.postToken(r.codeForm(r.conf, r.secret, code))
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("exchange of the deleted code: got %d %v, want 400 invalid_grant", resp.StatusCode, body["error"])
	}
}

// TestAdminGrantsCSRF: every form endpoint of users, consents, tokens and
// codes refuses a POST without the _csrf field, and changes nothing.
func TestAdminGrantsCSRF(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	alice := r.env.browser()
	access := r.tokens(alice, r.conf, r.secret, nil)["access_token"].(string)
	code := r.codeFor(alice, r.pub, nil)
	consent, _ := r.env.store.ConsentFor(context.Background(), r.user.ID, r.conf.ID)
	var codeID uint
	r.db.Table("codes").Where("code_hash = ?", oauth.HashToken(code)).Select("id").Scan(&codeID)
	b, _ := signInAdmin(r)
	b.get("/admin/users") // the browser has a CSRF cookie, only the field is missing
	before := r.counts()
	u := fmt.Sprintf("/admin/users/%d", r.user.ID)
	for _, path := range []string{
		"/admin/users", u, u + "/password", u + "/deactivate", u + "/activate", u + "/delete",
		fmt.Sprintf("/admin/consents/%d/revoke", consent.ID),
		fmt.Sprintf("/admin/tokens/%d/revoke", tokenID(r, access)), "/admin/tokens/revoke",
		fmt.Sprintf("/admin/codes/%d/delete", codeID),
	} {
		p := b.post(path, map[string][]string{"username": {"mallory"}, "password": {"mallory's password"}, "password_confirm": {"mallory's password"}, "user": {fmt.Sprint(r.user.ID)}})
		if p.status != http.StatusForbidden {
			t.Errorf("POST %s without _csrf: got %d, want 403", path, p.status)
		}
	}
	r.wantUnchanged(t, before, countedTables...)
	if status := r.userinfoStatus(access); status != http.StatusOK {
		t.Errorf("userinfo after the refused posts: got %d, want 200 (nothing revoked)", status)
	}
	if _, err := r.env.store.UserByUsername(context.Background(), "mallory"); err != models.ErrNotFound {
		t.Errorf("mallory after a refused create: %v, want ErrNotFound", err)
	}
	if !canLogIn(r, testUser, testPassword) {
		t.Errorf("alice cannot sign in after the refused posts, want her password and account unchanged")
	}
}

// adminPageSize is the length of every admin list (admin.perPage).
const adminPageSize = 25

var nextLinkRE = regexp.MustCompile(`<a href="([^"]*)" rel="next">`)

// TestAdminGrantListsPages: the consents, tokens and codes lists show
// adminPageSize rows a page, newest first, and the Next link leads to the
// rest with the list's filter kept.
func TestAdminGrantListsPages(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	now := r.env.clock.Now()
	const rows = adminPageSize + 3
	for i := range rows {
		// A consent is one per user and client, so each has its own client.
		cl, _ := r.env.createClient(models.ClientPublic, []string{cbURI})
		if err := r.env.store.GrantConsent(ctx, r.user.ID, cl.ID, []string{"openid"}, now, now.Add(time.Hour)); err != nil {
			t.Fatalf("grant consent %d: %v", i, err)
		}
		tok := &models.Token{
			AccessTokenHash: models.NewID(), ClientID: r.conf.ID, UserID: &r.user.ID, FamilyID: models.NewID(),
			Scope: "openid", AuthTime: now, ExpiresAt: now.Add(time.Hour),
		}
		if err := r.env.store.CreateToken(ctx, tok); err != nil {
			t.Fatalf("create token %d: %v", i, err)
		}
		code := &models.Code{
			CodeHash: models.NewID(), ClientID: r.conf.ID, UserID: r.user.ID, RedirectURI: cbURI,
			Scope: "openid", AuthTime: now, ExpiresAt: now.Add(time.Minute),
		}
		if err := r.env.store.CreateCode(ctx, code); err != nil {
			t.Fatalf("create code %d: %v", i, err)
		}
	}
	b, _ := signInAdmin(r)
	for _, tc := range []struct {
		list, testid, row string
		action            *regexp.Regexp
	}{
		{"consents", "consents-page", "consent-row", regexp.MustCompile(`/admin/consents/(\d+)/revoke`)},
		{"tokens", "tokens-page", "token-row", regexp.MustCompile(`/admin/tokens/(\d+)/revoke`)},
		{"codes", "codes-page", "code-row", regexp.MustCompile(`/admin/codes/(\d+)/delete`)},
	} {
		t.Run(tc.list, func(t *testing.T) {
			ids := func(p page) []int {
				var out []int
				for _, m := range tc.action.FindAllStringSubmatch(p.body, -1) {
					n, _ := strconv.Atoi(m[1])
					out = append(out, n)
				}
				return out
			}
			first := b.get(fmt.Sprintf("/admin/%s?user=%d", tc.list, r.user.ID))
			if first.status != http.StatusOK || !strings.Contains(first.body, `data-testid="`+tc.testid+`"`) {
				t.Fatalf("page 1: got %d, want the %s page", first.status, tc.list)
			}
			if n := countTestIDs(first.body, tc.row); n != adminPageSize {
				t.Errorf("page 1 rows = %d, want %d", n, adminPageSize)
			}
			if !strings.Contains(first.body, fmt.Sprintf("Page 1 of 2 (%d in all)", rows)) {
				t.Errorf("page 1 lacks \"Page 1 of 2 (%d in all)\"", rows)
			}
			m := nextLinkRE.FindStringSubmatch(first.body)
			if m == nil {
				t.Fatalf("page 1 has no Next link:\n%s", first.body)
			}
			next, _ := url.Parse(html.UnescapeString(m[1]))
			if q := next.Query(); next.Path != "/admin/"+tc.list || q.Get("page") != "2" || q.Get("user") != fmt.Sprint(r.user.ID) {
				t.Errorf("Next link = %s, want /admin/%s with page=2 and the user filter", next, tc.list)
			}
			second := b.get(next.String())
			if n := countTestIDs(second.body, tc.row); n != rows-adminPageSize {
				t.Errorf("page 2 rows = %d, want %d", n, rows-adminPageSize)
			}
			if !strings.Contains(second.body, "Page 2 of 2") || nextLinkRE.MatchString(second.body) || !strings.Contains(second.body, `rel="prev"`) {
				t.Errorf("page 2 pager: want \"Page 2 of 2\", a Previous link and no Next link")
			}
			// Every row once, newest (highest id) first across both pages.
			all := append(ids(first), ids(second)...)
			if len(all) != rows || !slices.IsSortedFunc(all, func(a, b int) int { return b - a }) || len(slices.Compact(slices.Clone(all))) != rows {
				t.Errorf("row ids over both pages = %v, want %d distinct, descending", all, rows)
			}
		})
	}
}
