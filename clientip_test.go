package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"oidcd/models"
)

// submitLoginFrom posts the login form on a fresh /login page with the
// given X-Forwarded-For (none when xff is "").
func submitLoginFrom(b *browser, xff, username, password string) page {
	b.t.Helper()
	form := hiddenFields(b.get("/login").body)
	form.Set("username", username)
	form.Set("password", password)
	req, err := http.NewRequest(http.MethodPost, b.env.issuer+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
		req.Header.Set("X-Real-IP", strings.Split(xff, ",")[0])
	}
	return b.do(req)
}

// wantRetryAfter checks a throttled answer's Retry-After: whole seconds,
// at least 1, at most limit.
func wantRetryAfter(t *testing.T, p page, limit time.Duration) {
	t.Helper()
	got := p.header.Get("Retry-After")
	n, err := strconv.Atoi(got)
	if err != nil || n < 1 || time.Duration(n)*time.Second > limit {
		t.Errorf("Retry-After = %q, want whole seconds in [1, %d]", got, int(limit/time.Second))
	}
}

// auditAddresses is every remote_ip the audit log holds for kind.
func auditAddresses(t *testing.T, kind string) []string {
	t.Helper()
	var ips []string
	if err := testDB(t).Model(&models.Event{}).Where("kind = ?", kind).Distinct().Pluck("remote_ip", &ips).Error; err != nil {
		t.Fatalf("audit addresses: %v", err)
	}
	return ips
}

func TestClientIPExtractor(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name       string
		trusted    []netip.Prefix
		remoteAddr string
		xff        []string
		want       string
	}{
		{"no proxy: the connection", nil, "192.0.2.1:5000", nil, "192.0.2.1"},
		{"no proxy: headers ignored", nil, "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"no proxy: loopback is not trusted by default", nil, "127.0.0.1:5000", []string{"203.0.113.9"}, "127.0.0.1"},
		{"proxy: right-most untrusted hop", loopback, "127.0.0.1:5000", []string{"198.51.100.7, 203.0.113.9"}, "203.0.113.9"},
		{"proxy: trusted hops skipped", loopback, "127.0.0.1:5000", []string{"198.51.100.7, 203.0.113.9, 127.0.0.2"}, "203.0.113.9"},
		{"proxy: several header lines", loopback, "127.0.0.1:5000", []string{"198.51.100.7", "203.0.113.9"}, "203.0.113.9"},
		{"proxy: untrusted connection", loopback, "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"proxy: private ranges not trusted unless listed", loopback, "127.0.0.1:5000", []string{"203.0.113.9, 10.0.0.1"}, "10.0.0.1"},
		{"proxy: listed private range trusted", append(loopback, netip.MustParsePrefix("10.0.0.0/8")), "127.0.0.1:5000", []string{"203.0.113.9, 10.0.0.1"}, "203.0.113.9"},
		{"proxy: garbage hop stops at the connection", loopback, "127.0.0.1:5000", []string{"203.0.113.9, not-an-ip"}, "127.0.0.1"},
		{"proxy: invalid UTF-8", loopback, "127.0.0.1:5000", []string{"\xff\xfe"}, "127.0.0.1"},
		{"proxy: oversized", loopback, "127.0.0.1:5000", []string{strings.Repeat("9", 10_000)}, "127.0.0.1"},
		{"proxy: mapped IPv4 unmapped", loopback, "127.0.0.1:5000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"proxy: IPv6 canonical", loopback, "[::1]:5000", []string{"2001:DB8:0:0::1"}, "2001:db8::1"},
		{"proxy: all trusted gives the left-most", loopback, "127.0.0.1:5000", []string{"127.0.0.9, 127.0.0.8"}, "127.0.0.9"},
		{"zone dropped", nil, "[fe80::1%eth0]:5000", nil, "fe80::1"},
		{"mapped connection unmapped", nil, "[::ffff:192.0.2.1]:5000", nil, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remoteAddr
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			r.Header.Set("X-Real-IP", "198.51.100.99")
			if got := clientIPExtractor(tt.trusted)(r); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	got, err := parseTrustedProxies(" 10.1.2.3/8, fd00::/8 192.0.2.7\t::1 ")
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("::1/128"),
	}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("prefix %d: got %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.0/8;", "fe80::1%eth0", "::ffff:10.0.0.0/104"} {
		_, err := loadHandlerConfig("https://id.example.org", func(k string) string {
			if k == "OIDC_TRUSTED_PROXIES" {
				return bad
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), "OIDC_TRUSTED_PROXIES") {
			t.Errorf("OIDC_TRUSTED_PROXIES=%q: got %v, want an error naming the variable", bad, err)
		}
	}
}

// TestForgedForwardedForIgnored (finding 1): without trusted proxies,
// rotating X-Forwarded-For and X-Real-IP neither resets the limits nor
// reaches the audit log or the request log.
func TestForgedForwardedForIgnored(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "2")
	env.createUser("alice", "alice password 1")
	b := env.browser()
	for i := range 2 {
		p := submitLoginFrom(b, "203.0.113."+strconv.Itoa(i+1), "alice", "wrong")
		if p.status != http.StatusOK || !strings.Contains(p.body, genericLoginFailed) {
			t.Fatalf("failure %d: %d, want 200 with the generic message", i+1, p.status)
		}
	}
	p := submitLoginFrom(b, "203.0.113.99", "alice", "alice password 1")
	if p.status != http.StatusTooManyRequests {
		t.Errorf("after 2 failures under 2 forged addresses: %d, want 429", p.status)
	}
	wantRetryAfter(t, p, env.cfg.LoginThrottleWindow)

	// The per-address limit (4 × 2) holds across usernames and headers.
	for i := range 6 {
		submitLoginFrom(b, "198.51.100."+strconv.Itoa(i+1), "user"+strconv.Itoa(i), "wrong")
	}
	if p := submitLoginFrom(b, "198.51.100.200", "nobody", "wrong"); p.status != http.StatusTooManyRequests {
		t.Errorf("after 8 failures from the address under forged headers: %d, want 429", p.status)
	}

	if got := auditAddresses(t, models.EventLoginFailed); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("audit remote_ip: %v, want only the connection's 127.0.0.1", got)
	}
	logs := env.logs.String()
	if !strings.Contains(logs, "path=/login") || !strings.Contains(logs, "remote_ip=127.0.0.1") {
		t.Errorf("the request log has no /login line with remote_ip=127.0.0.1")
	}
	for _, forged := range []string{"203.0.113.", "198.51.100."} {
		if strings.Contains(logs, forged) {
			t.Errorf("the log holds a forged address %s*", forged)
		}
	}
}

// TestTrustedProxyHop: behind a trusted proxy (here loopback), the
// right-most untrusted hop of X-Forwarded-For is the client: it is what
// the audit log records and what is throttled, and another address is
// not locked out by it.
func TestTrustedProxyHop(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "3", "OIDC_TRUSTED_PROXIES", "127.0.0.0/8, ::1")
	env.createUser("alice", "alice password 1")
	b := env.browser()
	for i := range 3 {
		// The client claims to be someone else each time; the proxy
		// appended the real 203.0.113.9.
		submitLoginFrom(b, "198.51.100."+strconv.Itoa(i)+", 203.0.113.9", "alice", "wrong")
	}
	if p := submitLoginFrom(b, "198.51.100.77, ::ffff:203.0.113.9", "alice", "alice password 1"); p.status != http.StatusTooManyRequests {
		t.Errorf("4th attempt from 203.0.113.9: %d, want 429", p.status)
	}
	if got := auditAddresses(t, models.EventLoginFailed); len(got) != 1 || got[0] != "203.0.113.9" {
		t.Errorf("audit remote_ip: %v, want only 203.0.113.9", got)
	}
	if !strings.Contains(env.logs.String(), "remote_ip=203.0.113.9") {
		t.Errorf("the request log does not name 203.0.113.9")
	}
	// alice from her own address is not locked out.
	p := submitLoginFrom(env.browser(), "203.0.113.50", "alice", "alice password 1")
	if !strings.Contains(p.body, signedInMarker+"alice<") {
		t.Errorf("alice from another address: %d, want signed in:\n%.600s", p.status, p.body)
	}
	if got := auditAddresses(t, models.EventLoginSucceeded); len(got) != 1 || got[0] != "203.0.113.50" {
		t.Errorf("audit remote_ip of the success: %v, want 203.0.113.50", got)
	}
}

// TestHostileForwardedFor (finding 2): an oversized or invalid-UTF-8
// X-Forwarded-For is no server error, and the failure is still counted
// (on PostgreSQL the audit insert failed and nothing was counted).
func TestHostileForwardedFor(t *testing.T) {
	t.Parallel()
	for _, proxies := range []string{"", "127.0.0.0/8"} {
		t.Run("proxies="+proxies, func(t *testing.T) {
			env := newTestEnv(t, "OIDC_LOGIN_MAX_FAILURES", "3", "OIDC_TRUSTED_PROXIES", proxies)
			env.createUser("alice", "alice password 1")
			b := env.browser()
			for i, xff := range []string{strings.Repeat("203.0.113.77", 850), "\xff\xfe\xfd", "203.0.113.5, \xff\xfe\xfd"} {
				p := submitLoginFrom(b, xff, "alice", "wrong")
				if p.status != http.StatusOK || !strings.Contains(p.body, genericLoginFailed) {
					t.Errorf("failure %d: %d, want 200 with the generic message", i+1, p.status)
				}
			}
			p := submitLoginFrom(b, strings.Repeat("x", 10_000), "alice", "alice password 1")
			if p.status != http.StatusTooManyRequests {
				t.Errorf("after 3 failures with hostile headers: %d, want 429", p.status)
			}
			if got := auditAddresses(t, models.EventLoginFailed); len(got) != 1 || got[0] != "127.0.0.1" {
				t.Errorf("audit remote_ip: %.200q, want only 127.0.0.1", got)
			}
			if strings.Contains(env.logs.String(), "level=ERROR") || strings.Contains(env.logs.String(), "level=WARN") {
				t.Errorf("the server logged a problem:\n%s", env.logs.String())
			}
		})
	}
}

// TestAdminAuditUsesClientIP: an admin change records the connection's
// address, not a forged header (and a huge header does not drop it).
func TestAdminAuditUsesClientIP(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	form := clientFields("Audited", "https://rp.example/cb")
	form.Set("_csrf", csrf)
	req, _ := http.NewRequest(http.MethodPost, env.issuer+"/admin/clients", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", strings.Repeat("203.0.113.1", 200))
	if p := b.do(req); p.status != http.StatusOK {
		t.Fatalf("create client: %d", p.status)
	}
	if got := auditAddresses(t, models.EventAdminChange); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("admin change remote_ip: %.200q, want [127.0.0.1]", got)
	}
}
