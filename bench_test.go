package main

import (
	"net/http"
	"net/url"
	"testing"

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
