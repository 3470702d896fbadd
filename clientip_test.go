package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"oidcd/models"
)

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

// TestAdminAuditUsesClientIP: an admin change records the connection's
// address, not a forged header (and a huge header does not drop it).
func TestAdminAuditUsesClientIP(t *testing.T) {
	env := newTestEnv(t)
	b, csrf := acAdmin(t, env)
	form := acClientFields("Audited", "https://rp.example/cb")
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
