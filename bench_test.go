package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"oidcd/handlers/oauth"
	"oidcd/models"
)

// benchRP is one confidential client with a signed-in user's refresh
// token, on a real server and SQLite file.
type benchRP struct {
	env     *testEnv
	client  *models.Client
	secret  string
	refresh string
}

func newBenchRP(b *testing.B) *benchRP {
	b.Helper()
	env := newTestEnv(b)
	env.createUser("bench", "bench password 1")
	redirect := "http://127.0.0.1/cb"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect},
		func(c *models.Client) { c.RequireConsent = false })
	q := url.Values{"client_id": {client.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid profile email"}}
	back := env.browser().authorize(env.issuer+"/authorize?"+q.Encode(), "bench", "bench password 1", "allow")
	rp := &benchRP{env: env, client: client, secret: secret}
	body := rp.token(b, url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {redirect}})
	rp.refresh, _ = body["refresh_token"].(string)
	return rp
}

// token calls /token as the client and fails the benchmark on an error.
func (rp *benchRP) token(b *testing.B, form url.Values) map[string]any {
	form.Set("client_id", rp.client.ClientID)
	form.Set("client_secret", rp.secret)
	resp, body := postForm(b, rp.env.issuer+"/token", form)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	return body
}

// BenchmarkUserinfo measures GET /userinfo with a Bearer token, the call
// every relying party makes most, from several goroutines at once.
func BenchmarkUserinfo(b *testing.B) {
	rp := newBenchRP(b)
	access, _ := rp.token(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rp.refresh}})["access_token"].(string)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, rp.env.issuer+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			resp, body := doJSON(b, req)
			if resp.StatusCode != http.StatusOK {
				b.Errorf("userinfo: %d %v", resp.StatusCode, body)
				return
			}
		}
	})
}

// BenchmarkRefresh measures the refresh_token grant: a rotation in one
// transaction and an RS256-signed ID token.
func BenchmarkRefresh(b *testing.B) {
	rp := newBenchRP(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rp.refresh, _ = rp.token(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rp.refresh}})["refresh_token"].(string)
	}
}

// BenchmarkDiscovery measures the discovery document.
func BenchmarkDiscovery(b *testing.B) {
	env := newTestEnv(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodGet, env.issuer+"/.well-known/openid-configuration", nil)
		if resp, _ := doJSON(b, req); resp.StatusCode != http.StatusOK {
			b.Fatalf("discovery: %d", resp.StatusCode)
		}
	}
}

// silentCode is what a signed-in user's browser brings back from
// /authorize without a page: a fresh code.
func (rp *benchRP) silentCode(b *testing.B, br *browser) string {
	q := url.Values{"client_id": {rp.client.ClientID}, "redirect_uri": {"http://127.0.0.1/cb"}, "response_type": {"code"}, "scope": {"openid profile email"}}
	p := br.get(rp.env.issuer + "/authorize?" + q.Encode())
	loc := p.location()
	if p.status != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		b.Fatalf("silent authorize: %d at %s", p.status, p.url)
	}
	return loc.Query().Get("code")
}

// signedIn is a browser with bench's session.
func (rp *benchRP) signedIn(b *testing.B) *browser {
	br := rp.env.browser()
	q := url.Values{"client_id": {rp.client.ClientID}, "redirect_uri": {"http://127.0.0.1/cb"}, "response_type": {"code"}, "scope": {"openid"}}
	br.authorize(rp.env.issuer+"/authorize?"+q.Encode(), "bench", "bench password 1", "allow")
	return br
}

// BenchmarkCodeExchange measures the authorization_code grant alone: the
// code redeemed, tokens stored and an RS256 ID token signed. Getting each
// code (a silent authorize) is outside the timer.
func BenchmarkCodeExchange(b *testing.B) {
	rp := newBenchRP(b)
	br := rp.signedIn(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		code := rp.silentCode(b, br)
		b.StartTimer()
		rp.token(b, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1/cb"}})
	}
}

// BenchmarkSSOFlow measures what `oidcd bench --scenario sso` repeats: a
// silent authorize with the session cookie and the code exchange.
func BenchmarkSSOFlow(b *testing.B) {
	rp := newBenchRP(b)
	br := rp.signedIn(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		code := rp.silentCode(b, br)
		rp.token(b, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1/cb"}})
	}
}

// BenchmarkClientAuthentication measures client_secret_basic at /token on
// its own: the request is authenticated, then refused for a grant type no
// server serves, so nothing else is done.
func BenchmarkClientAuthentication(b *testing.B) {
	rp := newBenchRP(b)
	form := url.Values{"grant_type": {"urn:oidcd:bench:none"}}.Encode()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, rp.env.issuer+"/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(rp.client.ClientID), url.QueryEscape(rp.secret))
		resp, body := doJSON(b, req)
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "unsupported_grant_type" {
			b.Fatalf("token: %d %v; want the client authenticated and the grant refused", resp.StatusCode, body)
		}
	}
}

// BenchmarkUserinfoLookup measures the storage lookup behind /userinfo:
// the access token by its hash, with its user.
func BenchmarkUserinfoLookup(b *testing.B) {
	rp := newBenchRP(b)
	access, _ := rp.token(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rp.refresh}})["access_token"].(string)
	hash := oauth.HashToken(access)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if tok, err := rp.env.store.ActiveAccessToken(ctx, hash, time.Now()); err != nil || tok.User == nil {
				b.Errorf("lookup: %v", err)
				return
			}
		}
	})
}
