package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"oidcd/handlers/oauth"
	"oidcd/models/modelstest"
)

// TestTimesSurviveAnotherTimeZone runs oidcd as a process of its own,
// first under TZ=UTC, then under TZ=Etc/GMT+5 on the same SQLite file.
// Access tokens that expired before the restart must stay expired after
// it: one stored in UTC, and one stored in another zone's local time, as
// an older oidcd under TZ=Etc/GMT-5 wrote it (the start rewrites it to
// UTC). SQLite compares stored times as text, so a time in a zone behind
// UTC used to compare as earlier than the expiry. Every time the second
// process stores is UTC. (This is about SQLite's text times, so the test
// uses a SQLite file whatever the suite's database.)
func TestTimesSurviveAnotherTimeZone(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"UTC", "Etc/GMT+5", "Etc/GMT-5"} {
		// The child processes read the system's zone files (Debian's
		// tzdata, which .ci/run installs), not Go's embedded copy.
		if _, err := os.Stat(filepath.Join("/usr/share/zoneinfo", zone)); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("time zone %s: %v (apt-get install tzdata)", zone, err)
			}
			t.Skipf("time zone %s: %v (no tzdata)", zone, err)
		}
	}
	db := filepath.Join(t.TempDir(), "oidcd.db")
	mustRunCLI(t, nil, "createuser", "--db", db, "--username", "alice", "--password", "wonderland-42", "--email", "alice@example.org")
	creds := clientJSON(t, mustRunCLI(t, nil, "createclient", "--db", db, "--name", "TZ RP", "--type", "confidential",
		"--redirect-uri", "http://127.0.0.1/cb", "--require-consent=false", "--json").stdout)

	p := startProcess(t, []string{"TZ=UTC"}, "serve", "--addr", "127.0.0.1:0", "--db", db)
	b := (&testEnv{t: t, issuer: p.base}).browser()
	var access [3]string
	for i := range access {
		access[i] = processAccessToken(t, p.base, b, creds)
		if status := processUserinfo(t, p.base, access[i]); status != http.StatusOK {
			t.Fatalf("userinfo with a fresh token: %d, want 200", status)
		}
	}
	p.stop(t)

	// Tokens 0 and 1 expired a minute ago: 0 as UTC text, 1 as the same
	// instant in UTC+5 local time. Token 2 is live.
	expired := time.Now().Add(-time.Minute)
	st := openStore(t, db)
	sqlDB := st.DB()
	for i, text := range []string{
		expired.UTC().Format("2006-01-02 15:04:05.999999999-07:00"),
		expired.In(time.FixedZone("", 5*3600)).Format("2006-01-02 15:04:05.999999999-07:00"),
	} {
		res := sqlDB.Exec("UPDATE tokens SET expires_at = ? WHERE access_token_hash = ?", text, oauth.HashToken(access[i]))
		if res.Error != nil || res.RowsAffected != 1 {
			t.Fatalf("expire token %d: %v (%d rows)", i, res.Error, res.RowsAffected)
		}
	}

	// As an older oidcd left the database: the next start migrates it.
	modelstest.AsOlderOidcd(t, st)
	p = startProcess(t, []string{"TZ=Etc/GMT+5"}, "serve", "--addr", "127.0.0.1:0", "--db", db)
	// Its log's timestamps are local time: they show it really runs at
	// UTC-5, or the rest of this test would prove nothing.
	if !strings.Contains(p.logs.String(), "-05:00 level=") {
		t.Fatalf("the process does not run at UTC-5; log:\n%s", p.logs)
	}
	for i, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusOK} {
		if got := processUserinfo(t, p.base, access[i]); got != want {
			t.Errorf("after a restart under TZ=Etc/GMT+5, userinfo with token %d: %d, want %d", i, got, want)
		}
	}
	// A whole flow under the new zone: a session, an event, a code, a token.
	b = (&testEnv{t: t, issuer: p.base}).browser()
	if got := processUserinfo(t, p.base, processAccessToken(t, p.base, b, creds)); got != http.StatusOK {
		t.Errorf("userinfo with a token issued under TZ=Etc/GMT+5: %d, want 200", got)
	}
	p.stop(t)
	wantUTCTimes(t, sqlDB)
}

// wantUTCTimes checks that every time stored in the SQLite database is
// written in UTC.
func wantUTCTimes(t *testing.T, db *gorm.DB) {
	t.Helper()
	var tables []string
	if err := db.Raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").Scan(&tables).Error; err != nil {
		t.Fatalf("list tables: %v", err)
	}
	checked := 0
	for _, table := range tables {
		var cols []struct {
			Name string
			Type string
		}
		if err := db.Raw("SELECT name, type FROM pragma_table_info(?)", table).Scan(&cols).Error; err != nil {
			t.Fatalf("columns of %s: %v", table, err)
		}
		for _, c := range cols {
			if !strings.EqualFold(c.Type, "datetime") {
				continue
			}
			var values []string
			q := `SELECT CAST("` + c.Name + `" AS TEXT) FROM "` + table + `" WHERE "` + c.Name + `" IS NOT NULL`
			if err := db.Raw(q).Scan(&values).Error; err != nil {
				t.Fatalf("read %s.%s: %v", table, c.Name, err)
			}
			for _, v := range values {
				checked++
				if !strings.HasSuffix(v, "+00:00") {
					t.Errorf("%s.%s = %q, want a UTC time", table, c.Name, v)
				}
			}
		}
	}
	if checked == 0 {
		t.Errorf("no stored times found to check")
	}
}

// processAccessToken runs the code flow against a running oidcd for the
// client in creds (which needs no consent) and returns the access token.
func processAccessToken(t *testing.T, base string, b *browser, creds map[string]string) string {
	t.Helper()
	q := url.Values{"client_id": {creds["client_id"]}, "redirect_uri": {"http://127.0.0.1/cb"},
		"response_type": {"code"}, "scope": {"openid email"}, "state": {"s-1"}}
	loc := b.authorize("/authorize?"+q.Encode(), "alice", "wonderland-42", "allow")
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}
	resp, body := postForm(t, base+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://127.0.0.1/cb"}, "client_id": {creds["client_id"]}, "client_secret": {creds["client_secret"]}})
	access, _ := body["access_token"].(string)
	if resp.StatusCode != http.StatusOK || access == "" {
		t.Fatalf("exchange: %d %v", resp.StatusCode, body)
	}
	return access
}

func processUserinfo(t *testing.T, base, access string) int {
	t.Helper()
	req := mustRequest(t, http.MethodGet, base+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, _ := doJSON(t, req)
	return resp.StatusCode
}
