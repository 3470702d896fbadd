package main

import (
	"context"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"oidcd/models"
)

var (
	barTitleRE = regexp.MustCompile(`<title>(\d{4}-\d{2}-\d{2}): (\d+) [^<]*</title>`)
	svgRE      = regexp.MustCompile(`<svg role="img" aria-label="[^"]+"`)
)

// chartBars reads a dashboard chart's bars: the date and count of each
// bar's <title>, oldest first.
func chartBars(t *testing.T, body, testID string) (dates []string, counts []int) {
	t.Helper()
	start := strings.Index(body, `data-testid="`+testID+`"`)
	if start < 0 {
		t.Fatalf("no chart %s on the dashboard", testID)
	}
	end := strings.Index(body[start:], "</figure>")
	if end < 0 {
		t.Fatalf("chart %s is not closed", testID)
	}
	chart := body[start : start+end]
	if !svgRE.MatchString(chart) {
		t.Errorf("chart %s has no <svg role=\"img\" aria-label=...>", testID)
	}
	if !strings.Contains(chart, "<table") {
		t.Errorf("chart %s has no table of its numbers", testID)
	}
	for _, m := range barTitleRE.FindAllStringSubmatch(chart, -1) {
		n, _ := strconv.Atoi(m[2])
		dates, counts = append(dates, m[1]), append(counts, n)
	}
	return dates, counts
}

func TestAdminDashboardCharts(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()          // login 1
	codeFlowTokens(t, env, "alice") // login 2, one token issued
	mallory := env.browser()
	mallory.submitLogin(mallory.get("/login"), "mallory", "wrong password 1") // one failed login

	p := b.get("/admin")
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Fatalf("GET /admin: got %d, want the dashboard", p.status)
	}
	today := env.clock.Now().UTC()
	for _, tc := range []struct {
		testID string
		want   int
	}{
		{"chart-logins", 2},
		{"chart-failed-logins", 1},
		{"chart-tokens", 1},
	} {
		dates, counts := chartBars(t, p.body, tc.testID)
		if len(counts) != 14 {
			t.Fatalf("%s: %d bars, want 14", tc.testID, len(counts))
		}
		if got, want := dates[13], today.Format("2006-01-02"); got != want {
			t.Errorf("%s: last bar date = %s, want today %s", tc.testID, got, want)
		}
		if got, want := dates[0], today.AddDate(0, 0, -13).Format("2006-01-02"); got != want {
			t.Errorf("%s: first bar date = %s, want %s", tc.testID, got, want)
		}
		if got := counts[13]; got != tc.want {
			t.Errorf("%s: today's bar: got %d, want %d", tc.testID, got, tc.want)
		}
		for i, n := range counts[:13] {
			if n != 0 {
				t.Errorf("%s: bar %s = %d, want 0", tc.testID, dates[i], n)
			}
		}
	}

	// Twenty days on, today's events have left the window. The admin
	// session has expired by then, so sign in again (an event dated by
	// the real clock, outside the window too).
	env.clock.Advance(20 * 24 * time.Hour)
	p = env.signInAdmin().get("/admin")
	for _, id := range []string{"chart-logins", "chart-failed-logins", "chart-tokens"} {
		dates, counts := chartBars(t, p.body, id)
		if len(counts) != 14 {
			t.Fatalf("%s: %d bars, want 14", id, len(counts))
		}
		for i, n := range counts {
			if n != 0 {
				t.Errorf("%s after 20 days: bar %s = %d, want 0", id, dates[i], n)
			}
		}
	}
}

var statRE = regexp.MustCompile(`data-testid="(count-[a-z]+)"[^>]*>\s*<div class="n">(\d+)</div>`)

// dashboardCounts reads the dashboard's count-* tiles.
func dashboardCounts(t *testing.T, b *browser) map[string]int {
	t.Helper()
	p := b.get("/admin")
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Fatalf("GET /admin: got %d, want the dashboard", p.status)
	}
	got := map[string]int{}
	for _, m := range statRE.FindAllStringSubmatch(p.body, -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	return got
}

// TestAdminDashboardCounts: the count tiles show the clients, users,
// active tokens and unexpired consents there are. A token is active while
// unrevoked with its access or refresh token unexpired.
func TestAdminDashboardCounts(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	b := env.signInAdmin()
	carol := env.createUser("carol", "carol's password 1")
	env.createUser("dave", "dave's password 1")
	var clients []*models.Client
	for range 4 { // not 3, so that no two tiles agree by chance
		cl, _ := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/cb"})
		clients = append(clients, cl)
	}
	now := env.clock.Now()
	later := func(d time.Duration) *time.Time { at := now.Add(d); return &at }
	token := func(access time.Duration, refresh *time.Time) *models.Token {
		tok := &models.Token{
			AccessTokenHash: models.NewID(), ClientID: clients[0].ID, UserID: &carol.ID, FamilyID: models.NewID(),
			Scope: "openid", AuthTime: now, ExpiresAt: now.Add(access), RefreshExpiresAt: refresh,
		}
		if refresh != nil {
			h := models.NewID()
			tok.RefreshTokenHash = &h
		}
		if err := env.store.CreateToken(ctx, tok); err != nil {
			t.Fatalf("create token: %v", err)
		}
		return tok
	}
	token(time.Hour, nil)                         // active
	token(time.Hour, later(24*time.Hour))         // active
	token(-time.Minute, later(24*time.Hour))      // access expired, refresh live: active
	token(-time.Minute, nil)                      // expired
	token(-time.Hour, later(-time.Minute))        // both expired
	revoked := token(time.Hour, later(time.Hour)) // revoked below
	if _, err := env.store.RevokeToken(ctx, revoked.ID, now); err != nil {
		t.Fatalf("revoke token: %v", err)
	}
	for i, expires := range []time.Duration{time.Hour, 24 * time.Hour, -time.Minute} {
		if err := env.store.GrantConsent(ctx, carol.ID, clients[i].ID, []string{"openid"}, now.Add(-time.Hour), now.Add(expires)); err != nil {
			t.Fatalf("grant consent: %v", err)
		}
	}

	want := map[string]int{"count-clients": 4, "count-users": 3, "count-tokens": 3, "count-consents": 2}
	if got := dashboardCounts(t, b); !maps.Equal(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	// Two hours on, the access tokens alone have run out, and so has the
	// first consent.
	env.clock.Advance(2 * time.Hour)
	want["count-tokens"], want["count-consents"] = 2, 1
	if got := dashboardCounts(t, b); !maps.Equal(got, want) {
		t.Errorf("counts two hours on = %v, want %v", got, want)
	}
}

// dashboardEvent is one item of the dashboard's recent security events.
type dashboardEvent struct {
	What, Client, User, Href, Text string
}

var eventHrefRE = regexp.MustCompile(`href="([^"]*)"[^>]*data-testid="security-event-kind"`)

// securityEvents reads the dashboard's recent security events, newest
// first.
func securityEvents(t *testing.T, body string) []dashboardEvent {
	t.Helper()
	if !strings.Contains(body, `data-testid="security-events"`) {
		t.Fatalf("no security events card on the dashboard")
	}
	var out []dashboardEvent
	chunks := strings.Split(body, `data-testid="security-event">`)
	for _, chunk := range chunks[1:] {
		chunk, _, _ = strings.Cut(chunk, "</li>")
		e := dashboardEvent{What: testIDText(chunk, "security-event-kind"), Client: testIDText(chunk, "security-event-client"),
			User: testIDText(chunk, "security-event-user"), Text: html.UnescapeString(chunk)}
		if m := eventHrefRE.FindStringSubmatch(chunk); m != nil {
			e.Href = html.UnescapeString(m[1])
		}
		out = append(out, e)
	}
	return out
}

// TestAdminDashboardSecurityEvents causes security events for real (a
// replayed code, a reused refresh token, a wrong client secret, throttled
// logins, a key rotation) and finds them on the dashboard, newest first,
// each linked to the audit log filtered to its kind, which lists it.
func TestAdminDashboardSecurityEvents(t *testing.T) {
	t.Parallel()
	r := newRig(t, "OIDC_LOGIN_MAX_FAILURES", "2")
	adm, _ := signInAdmin(r)
	if got := securityEvents(t, adm.get("/admin").body); len(got) != 0 {
		t.Fatalf("security events before any: %+v, want none", got)
	}
	if !strings.Contains(adm.get("/admin").body, `data-testid="security-events-empty"`) {
		t.Errorf("no empty-state text in the security events card")
	}

	// A code used twice.
	b := r.env.browser()
	code := r.codeFor(b, r.conf, nil)
	form := r.codeForm(r.conf, r.secret, code)
	if resp, body := r.postToken(form); resp.StatusCode != http.StatusOK {
		t.Fatalf("first use of the code: %d %v", resp.StatusCode, body)
	}
	r.env.clock.Advance(time.Second)
	if resp, _ := r.postToken(form); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed code: got %d, want 400", resp.StatusCode)
	}
	// A refresh token presented after its rotation.
	r.env.clock.Advance(time.Second)
	first := r.tokens(r.env.browser(), r.conf, r.secret, nil)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)},
		"client_id": {r.conf.ClientID}, "client_secret": {r.secret}}
	r.postToken(refresh)
	r.env.clock.Advance(time.Second)
	if resp, _ := r.postToken(refresh); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("reused refresh token: got %d, want 400", resp.StatusCode)
	}
	// A wrong client secret.
	r.env.clock.Advance(time.Second)
	r.keep("wrong secret 1")
	if resp, _ := postForm(t, r.env.issuer+"/token", url.Values{"grant_type": {"client_credentials"}},
		func(req *http.Request) { req.SetBasicAuth(r.conf.ClientID, "wrong secret 1") }); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong client secret: got %d, want 401", resp.StatusCode)
	}
	// Three wrong passwords for mallory: the third is throttled.
	r.env.clock.Advance(time.Second)
	for i := range 3 {
		m := r.env.browser()
		m.submitLogin(m.get("/login"), "mallory", fmt.Sprintf("guess %d", i))
	}
	// A key rotation by the admin.
	r.env.clock.Advance(time.Second)
	if p := postWithCSRF(t, adm, "/admin/keys/rotate", "/admin/keys/rotate", nil); p.status != http.StatusOK {
		t.Fatalf("rotate keys: got %d", p.status)
	}

	got := securityEvents(t, adm.get("/admin").body)
	// The rotation is one event per algorithm with a key (three).
	want := []struct{ what, client, user, kind string }{
		{"Signing key rotated", "", adminName, models.EventAdminChange},
		{"Signing key rotated", "", adminName, models.EventAdminChange},
		{"Signing key rotated", "", adminName, models.EventAdminChange},
		{"Login throttled", "", "mallory", models.EventLoginThrottled},
		{"Client authentication failed", r.conf.Name + " (" + r.conf.ClientID + ")", "", models.EventClientAuthFailed},
		{"Refresh token reused", r.conf.Name + " (" + r.conf.ClientID + ")", testUser, models.EventRefreshReuse},
		{"Authorization code replayed", r.conf.Name + " (" + r.conf.ClientID + ")", testUser, models.EventCodeReplay},
	}
	if len(got) != len(want) {
		t.Fatalf("security events: got %d %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.What != w.what || g.Client != w.client || g.User != w.user || g.Href != "/admin/audit?kind="+w.kind {
			t.Errorf("event %d = %+v, want %q client %q user %q linked to kind %s", i, g, w.what, w.client, w.user, w.kind)
		}
	}
	if !strings.Contains(got[5].Text, "1 token revoked") {
		t.Errorf("refresh reuse item %q does not say what it revoked", got[5].Text)
	}
	// The link lists the event: the audit log filtered to its kind.
	audit := adm.get(got[6].Href)
	if audit.status != http.StatusOK || countTestIDs(audit.body, "event-row") != 1 || !strings.Contains(audit.body, "code_replay") {
		t.Errorf("GET %s: %d with %d event rows, want the one code_replay", got[6].Href, audit.status, countTestIDs(audit.body, "event-row"))
	}

	// The card is bounded: the newest 8, however many there are.
	for i := range 12 {
		recordEvent(t, r.env, models.Event{Kind: models.EventTokenRevoked, ClientID: &r.conf.ID, Detail: fmt.Sprintf("revocation %02d", i),
			CreatedAt: r.env.clock.Now().Add(time.Duration(i+10) * time.Second)})
	}
	got = securityEvents(t, adm.get("/admin").body)
	if len(got) != 8 || !strings.Contains(got[0].Text, "revocation 11") || !strings.Contains(got[7].Text, "revocation 04") {
		t.Errorf("after 12 more events: %d shown, first %q, last %q; want the 8 newest, revocation 11 to 04", len(got), got[0].Text, got[len(got)-1].Text)
	}
}

// keyHealthItem is the text of one algorithm's key health.
func keyHealthItem(t *testing.T, body, alg string) string {
	t.Helper()
	_, item, ok := strings.Cut(body, `data-testid="key-health-`+alg+`"`)
	if !ok {
		t.Fatalf("no key health for %s on the dashboard", alg)
	}
	item, _, _ = strings.Cut(item, "</li>")
	return html.UnescapeString(item)
}

// TestAdminDashboardKeyHealth: the key health card shows the signing
// key's age, the next scheduled rotation, and warns once the rotation was
// due and no next key was published, and once the key has outlived the
// rotation period; a rotation clears the warnings and shows the next key.
func TestAdminDashboardKeyHealth(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_KEY_ROTATION_DAYS", "30")
	day := 24 * time.Hour
	look := func(advance time.Duration) (item string, warnings int) {
		t.Helper()
		env.clock.Advance(advance)
		// A fresh sign-in: the admin session of a month ago has expired.
		p := env.signInAdmin().get("/admin")
		if p.status != http.StatusOK {
			t.Fatalf("GET /admin: %d", p.status)
		}
		item = keyHealthItem(t, p.body, "RS256")
		return item, countTestIDs(item, "key-warning")
	}

	item, warnings := look(0)
	if !strings.Contains(item, "0 minutes") || !strings.Contains(item, `data-testid="key-next-rotation"`) || warnings != 0 {
		t.Errorf("new key: %q with %d warnings; want 0 minutes old, a next rotation and no warning", item, warnings)
	}
	// 28 days on: the rotation (due at 29 days, one day before the key
	// has signed 30, so the next key is published a day before it signs)
	// is not due yet.
	item, warnings = look(28*day + time.Hour)
	if !strings.Contains(item, "28 days") || warnings != 0 {
		t.Errorf("after 28 days: %q with %d warnings; want 28 days old, no warning", item, warnings)
	}
	// 29 days and 2 hours: due, and no next key.
	item, warnings = look(day + time.Hour)
	if !strings.Contains(item, "No next key is published") || warnings != 1 {
		t.Errorf("after 29 days: %q with %d warnings; want the one about no next key", item, warnings)
	}
	// 31 days: older than the rotation period too.
	item, warnings = look(2 * day)
	if !strings.Contains(item, "31 days") || !strings.Contains(item, "longer than the rotation period of 30 days") || warnings != 2 {
		t.Errorf("after 31 days: %q with %d warnings; want both warnings", item, warnings)
	}

	// A rotation publishes the next key: the card names it, and the only
	// warning left is the age of the key that still signs until it does.
	adm := env.signInAdmin()
	if p := postWithCSRF(t, adm, "/admin/keys/rotate", "/admin/keys/rotate", nil); p.status != http.StatusOK {
		t.Fatalf("rotate keys: got %d", p.status)
	}
	p := adm.get("/admin")
	item = keyHealthItem(t, p.body, "RS256")
	if !strings.Contains(item, `data-testid="key-next"`) || strings.Contains(item, "No next key") || countTestIDs(item, "key-warning") != 1 {
		t.Errorf("after a rotation: %q; want the next key and only the age warning", item)
	}
	// A day and a minute on, the next key signs and the old one is
	// retiring (published while the ID tokens it signed live): no warning.
	item, warnings = look(day + time.Minute)
	if !strings.Contains(item, `"key-age">1 minute<`) || countTestIDs(item, "key-retiring") != 1 || warnings != 0 {
		t.Errorf("after the next key took over: %q with %d warnings; want 1 minute old, one retiring key, no warning", item, warnings)
	}
}

// TestAdminDashboardKeyHealthManual: without a rotation schedule the card
// says keys rotate by hand, and warns of nothing however old the key.
func TestAdminDashboardKeyHealthManual(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_KEY_ROTATION_DAYS", "0")
	env.clock.Advance(400 * 24 * time.Hour)
	p := env.signInAdmin().get("/admin")
	if got := testIDText(p.body, "key-rotation"); !strings.Contains(got, "by hand") {
		t.Errorf("rotation = %q, want rotated by hand", got)
	}
	if item := keyHealthItem(t, p.body, "RS256"); !strings.Contains(item, "400 days") || strings.Contains(item, "key-next-rotation") || countTestIDs(p.body, "key-warning") != 0 {
		t.Errorf("key health %q with %d warnings, want 400 days old and no warning", item, countTestIDs(p.body, "key-warning"))
	}
}

// TestAdminDashboardStatements: the dashboard is a fixed number of
// statements, however many events, clients, users and keys there are (no
// query per row).
func TestAdminDashboardStatements(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	adm := env.signInAdmin()
	ctx := context.Background()
	count := func() int64 {
		t.Helper()
		adm.get("/admin") // warm
		sc := countStatements(t, env.store)
		var last int64
		if p := adm.get("/admin"); p.status != http.StatusOK {
			t.Fatalf("GET /admin: %d", p.status)
		}
		return sc.since(&last)
	}
	few := count()
	for i := range 20 {
		cl, _ := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/cb"})
		u := env.createUser(fmt.Sprintf("user%02d", i), userPassword)
		for _, kind := range models.SecurityEventKinds {
			recordEvent(t, env, models.Event{Kind: kind, ClientID: &cl.ID, UserID: &u.ID})
		}
	}
	for _, alg := range []string{"ES256", "EdDSA"} {
		if _, err := env.store.RotateSigningKeys(ctx, models.Rotation{Alg: alg, Now: env.clock.Now(), NewKey: newSigningKey}); err != nil {
			t.Fatalf("add %s key: %v", alg, err)
		}
	}
	many := count()
	t.Logf("dashboard statements: %d empty, %d with 100 events, 20 clients and users and 3 keys", few, many)
	if few < 1 || many != few || many > 12 {
		t.Errorf("dashboard: %d statements, then %d with more rows; want the same, at most 12", few, many)
	}
}
