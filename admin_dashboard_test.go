package main

import (
	"context"
	"maps"
	"net/http"
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
