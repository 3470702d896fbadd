package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"oidcd/models"
)

// TestAuthorizeParameterLimits: the free-form parameters parked with an
// authorization request are bounded. One over its limit is invalid_request,
// sent back to the client (RFC 6749 §4.1.2.1) without the refused state,
// and nothing is parked; one at its limit is served.
func TestAuthorizeParameterLimits(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for _, tc := range []struct {
		name  string
		limit int
	}{{"state", 1024}, {"nonce", 512}, {"login_hint", 512}} {
		t.Run(tc.name+" over the limit", func(t *testing.T) {
			before := r.counts()
			v := r.authParams(r.conf)
			v.Set("state", "s-limit")
			v.Set(tc.name, strings.Repeat("a", tc.limit+1))
			wantState := "s-limit"
			if tc.name == "state" {
				wantState = ""
			}
			for _, p := range []page{r.env.browser().get("/authorize?" + v.Encode()), r.env.browser().post("/authorize", v)} {
				r.wantRedirectError(t, p, cbURI, "invalid_request", wantState)
				if desc := p.location().Query().Get("error_description"); !strings.Contains(desc, tc.name) {
					t.Errorf("error_description = %q, want it to name %s", desc, tc.name)
				}
			}
			r.wantUnchanged(t, before, "auth_requests", "codes")
		})
		t.Run(tc.name+" at the limit", func(t *testing.T) {
			before := r.count("auth_requests")
			v := r.authParams(r.conf)
			v.Set(tc.name, strings.Repeat("a", tc.limit))
			if p := r.env.browser().get("/authorize?" + v.Encode()); !isLoginPage(p) {
				t.Errorf("got %d at %s, want the login page", p.status, p.url)
			}
			if got := r.count("auth_requests"); got != before+1 {
				t.Errorf("rows in auth_requests = %d, want %d", got, before+1)
			}
		})
	}
}

// TestParkedRequestsExpireAndAreCleared: anonymous /authorize requests
// park one row each, which expires: after 30 minutes it can no longer be
// resumed, and the janitor, running on its timer, deletes it while
// keeping a request still live.
func TestParkedRequestsExpireAndAreCleared(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const n = 20
	var first string
	for i := range n {
		p := r.env.browser().get(r.authURL(r.conf, nil))
		if !isLoginPage(p) {
			t.Fatalf("request %d: %d at %s, want the login page", i, p.status, p.url)
		}
		if i == 0 {
			first = hiddenFields(p.body).Get("req")
		}
	}
	if got := r.count("auth_requests"); got != n {
		t.Fatalf("rows in auth_requests after %d anonymous requests = %d, want %d", n, got, n)
	}

	r.env.clock.Advance(31 * time.Minute)
	if p := r.env.browser().get("/authorize/resume?req=" + url.QueryEscape(first)); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "expired") {
		t.Errorf("resume an expired request: %d, want 400 and the expired page", p.status)
	}
	if p := r.env.browser().get(r.authURL(r.conf, nil)); !isLoginPage(p) {
		t.Fatalf("a live request: %d at %s, want the login page", p.status, p.url)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	logs := &syncBuffer{}
	go func() {
		defer close(done)
		runJanitor(ctx, r.env.store, r.env.cfg.EventRetention, slog.New(slog.NewTextHandler(logs, nil)), r.env.clock.Now, 0, 10*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	for i := 0; r.count("auth_requests") != 1; i++ {
		if i == 1000 {
			t.Fatalf("rows in auth_requests after the janitor ran = %d, want the 1 live one; log:\n%s", r.count("auth_requests"), logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if want := "auth_requests=" + strconv.Itoa(n); !strings.Contains(logs.String(), "msg=\"janitor removed expired rows\"") || !strings.Contains(logs.String(), want) {
		t.Errorf("janitor log lacks the count %s:\n%s", want, logs)
	}
}

// TestCLICleanup: `oidcd cleanup` makes one janitor pass with serve's
// settings, prints what it removed, and keeps what is live.
func TestCLICleanup(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	creds := clientJSON(t, mustRunCLI(t, nil, "createclient", "--db", db, "--name", "RP", "--type", "public",
		"--redirect-uri", "http://127.0.0.1/cb", "--json").stdout)
	store := openStore(t, db)
	ctx := context.Background()
	client, err := store.ClientByClientID(ctx, creds["client_id"])
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	now := time.Now().UTC()
	for _, expires := range []time.Time{now.Add(-time.Second), now.Add(time.Hour)} {
		req := &models.AuthRequest{ClientID: client.ID, RedirectURI: "http://127.0.0.1/cb", ResponseType: "code", Scope: "openid", ExpiresAt: expires}
		if err := store.SaveAuthRequest(ctx, req); err != nil {
			t.Fatalf("auth request: %v", err)
		}
		if err := store.SaveSession(ctx, &models.Session{ID: models.NewID(), Data: "x", ExpiresAt: expires}); err != nil {
			t.Fatalf("session: %v", err)
		}
	}
	for _, age := range []time.Duration{49 * time.Hour, 47 * time.Hour} {
		if err := store.RecordEvent(ctx, &models.Event{Kind: models.EventLogout, CreatedAt: now.Add(-age)}); err != nil {
			t.Fatalf("event: %v", err)
		}
	}

	r := mustRunCLI(t, map[string]string{"OIDC_EVENT_RETENTION_DAYS": "2"}, "cleanup", "--db", db)
	want := "removed expired rows:\n" +
		"  auth requests  1\n  sessions       1\n  codes          0\n  tokens         0\n  throttles      0\n" +
		"removed audit events older than 2 days: 1\n"
	if r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	// Events left: the 47-hour-old logout and createclient's admin_change.
	for table, live := range map[string]int64{"auth_requests": 1, "sessions": 1, "events": 2} {
		var n int64
		if err := store.DB().Table(table).Count(&n).Error; err != nil || n != live {
			t.Errorf("rows in %s after cleanup = %d (%v), want %d", table, n, err, live)
		}
	}
	if r := mustRunCLI(t, nil, "cleanup", "--db", db); !strings.Contains(r.stdout, "auth requests  0") {
		t.Errorf("second cleanup: stdout = %q, want nothing removed", r.stdout)
	}

	bad := runCLI(t, map[string]string{"OIDC_EVENT_RETENTION_DAYS": "0"}, "cleanup", "--db", db)
	if want := `setting OIDC_EVENT_RETENTION_DAYS="0": must be a positive whole number`; bad.code != 1 || bad.err == nil || bad.err.Error() != want {
		t.Errorf("cleanup with a retention of 0: code %d, err %v; want 1 and %q", bad.code, bad.err, want)
	}
	if help := mustRunCLI(t, nil, "help"); !strings.Contains(help.stdout, "\n  cleanup ") {
		t.Errorf("usage does not list cleanup:\n%s", help.stdout)
	}
}
