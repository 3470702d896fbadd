package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"oidcd/handlers"
	"oidcd/models/modelstest"
)

// TestLoadHandlerConfig checks every setting of the README's table: its
// default with an empty environment, that a valid other value takes
// effect, and that a malformed value stops start-up with an error naming
// the variable.
func TestLoadHandlerConfig(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		env       string
		field     func(handlers.Config) any
		def       any    // the README's default
		value     string // a valid value other than the default
		want      any    // what value sets
		malformed []string
	}{
		{"OIDC_CODE_EXPIRE", func(c handlers.Config) any { return c.CodeExpire },
			600 * time.Second, "45", 45 * time.Second, []string{"abc", "-1", "0", "1.5", "10s"}},
		{"OIDC_TOKEN_EXPIRE", func(c handlers.Config) any { return c.TokenExpire },
			3600 * time.Second, "7200", 7200 * time.Second, []string{"abc", "-1", "0", "1h"}},
		{"OIDC_IDTOKEN_EXPIRE", func(c handlers.Config) any { return c.IDTokenExpire },
			600 * time.Second, "1234", 1234 * time.Second, []string{"abc", "-1", "0"}},
		{"OIDC_REFRESH_TOKEN_EXPIRE", func(c handlers.Config) any { return c.RefreshTokenExpire },
			30 * day, "86400", day, []string{"abc", "-1", "0"}},
		{"OIDC_SKIP_CONSENT_EXPIRE", func(c handlers.Config) any { return c.SkipConsentExpire },
			90 * day, "7", 7 * day, []string{"abc", "-1", "0", "7d"}},
		{"OIDC_SESSION_EXPIRE", func(c handlers.Config) any { return c.SessionExpire },
			14 * day, "3600", time.Hour, []string{"abc", "-1", "0"}},
		{"OIDC_IDTOKEN_INCLUDE_CLAIMS", func(c handlers.Config) any { return c.IDTokenIncludeClaims },
			false, "true", true, []string{"abc", "yes", "2"}},
		{"OIDC_USERINFO_QUERY_TOKEN", func(c handlers.Config) any { return c.UserinfoQueryToken },
			true, "false", false, []string{"abc", "no", "-1"}},
		{"OIDC_LOGIN_MAX_FAILURES", func(c handlers.Config) any { return c.LoginMaxFailures },
			5, "12", 12, []string{"abc", "-1", "0", "2.5"}},
		{"OIDC_LOGIN_THROTTLE_WINDOW", func(c handlers.Config) any { return c.LoginThrottleWindow },
			900 * time.Second, "60", time.Minute, []string{"abc", "-1", "0"}},
	}
	const issuer = "https://id.example.org"
	load := func(vars map[string]string) (handlers.Config, error) {
		return loadHandlerConfig(issuer, func(k string) string { return vars[k] })
	}

	defaults, err := load(nil)
	if err != nil {
		t.Fatalf("empty environment: got error %v, want the defaults", err)
	}
	if defaults.Issuer != issuer {
		t.Errorf("Issuer = %q, want %q", defaults.Issuer, issuer)
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			if got := tt.field(defaults); got != tt.def {
				t.Errorf("default: got %v, want %v", got, tt.def)
			}

			cfg, err := load(map[string]string{tt.env: tt.value})
			if err != nil {
				t.Fatalf("%s=%q: got error %v, want it accepted", tt.env, tt.value, err)
			}
			if got := tt.field(cfg); got != tt.want {
				t.Errorf("%s=%q: got %v, want %v", tt.env, tt.value, got, tt.want)
			}
			// Setting one variable leaves every other at its default.
			for _, other := range tests {
				if other.env != tt.env {
					if got, want := other.field(cfg), other.field(defaults); got != want {
						t.Errorf("%s=%q changed %s: got %v, want %v", tt.env, tt.value, other.env, got, want)
					}
				}
			}

			for _, bad := range tt.malformed {
				_, err := load(map[string]string{tt.env: bad})
				if err == nil {
					t.Errorf("%s=%q: got no error, want one", tt.env, bad)
					continue
				}
				if !strings.Contains(err.Error(), tt.env) {
					t.Errorf("%s=%q: got error %q, want it to name %s", tt.env, bad, err, tt.env)
				}
			}
		})
	}
}

// TestSessionCookieSecureFlag: the cookies the login page sets carry
// Secure exactly when the issuer is https (README settings table), and
// always HttpOnly and SameSite=Lax. Whether the server itself is reached
// over TLS does not matter; the issuer decides.
func TestSessionCookieSecureFlag(t *testing.T) {
	tests := []struct {
		name       string
		issuer     string
		wantSecure bool
	}{
		{"https issuer", "https://id.example.org", true},
		{"https issuer with port and path", "https://id.example.org:8443/oidc", true},
		{"http issuer", "http://id.example.org", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each row has its own server and database
			base := serveWithIssuer(t, tt.issuer)
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			req := mustRequest(t, http.MethodGet, base+"/login", nil)
			req.Header.Set("Accept", "text/html")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET /login: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			csrf := findCookie(resp.Cookies(), "oidcd_csrf")
			if csrf == nil {
				t.Fatalf("GET /login set no oidcd_csrf cookie; Set-Cookie: %q", resp.Header.Values("Set-Cookie"))
			}
			wantCookieFlags(t, csrf, rawSetCookie(resp, csrf.Name), tt.wantSecure)

			form := hiddenFields(string(body))
			form.Set("username", "alice")
			form.Set("password", "alice password 1")
			req = mustRequest(t, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "text/html")
			req.AddCookie(&http.Cookie{Name: csrf.Name, Value: csrf.Value})
			resp, err = client.Do(req)
			if err != nil {
				t.Fatalf("POST /login: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("POST /login: got %d, want 302 after a good login", resp.StatusCode)
			}
			sess := findCookie(resp.Cookies(), sessionCookieName)
			if sess == nil {
				t.Fatalf("login set no %s cookie; Set-Cookie: %q", sessionCookieName, resp.Header.Values("Set-Cookie"))
			}
			wantCookieFlags(t, sess, rawSetCookie(resp, sess.Name), tt.wantSecure)
		})
	}
}

// serveWithIssuer runs the application as newTestEnv does, but with the
// given issuer, over plain http, with one user alice.
func serveWithIssuer(t *testing.T, issuer string) string {
	t.Helper()
	store := modelstest.Open(t)
	cfg, err := loadHandlerConfig(issuer, func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	if err := ensureSigningKey(ctx, store, log); err != nil {
		t.Fatalf("signing key: %v", err)
	}
	app, err := newApp(ctx, store, cfg, log, time.Now)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	env := &testEnv{t: t, store: store}
	env.createUser("alice", "alice password 1")
	return srv.URL
}

// rawSetCookie is the Set-Cookie header line that sets name.
func rawSetCookie(resp *http.Response, name string) string {
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

func wantCookieFlags(t *testing.T, c *http.Cookie, raw string, secure bool) {
	t.Helper()
	if c.Secure != secure {
		t.Errorf("cookie %s: Secure = %v, want %v (attributes %s)", c.Name, c.Secure, secure, cookieAttrs(raw))
	}
	if !c.HttpOnly {
		t.Errorf("cookie %s: HttpOnly = false, want true (attributes %s)", c.Name, cookieAttrs(raw))
	}
	if c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie %s: SameSite = %v, want Lax (attributes %s)", c.Name, c.SameSite, cookieAttrs(raw))
	}
}

// cookieAttrs is a Set-Cookie line without its value, which is a secret.
func cookieAttrs(raw string) string {
	if i := strings.Index(raw, ";"); i >= 0 {
		return strings.TrimSpace(raw[i+1:])
	}
	return ""
}
