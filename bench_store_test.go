package main

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"oidcd/models"
)

// BenchmarkRefreshParallel measures refresh rotations from 16 goroutines
// per CPU, each on a refresh chain of its own: every rotation is a write
// transaction, so this is the storage path's write contention (on SQLite,
// writers queue for the one writer connection).
func BenchmarkRefreshParallel(b *testing.B) {
	env := newTestEnv(b)
	env.createUser("bench", "bench password 1")
	redirect := "http://127.0.0.1/cb"
	client, secret := env.createClient(models.ClientConfidential, []string{redirect},
		func(c *models.Client) { c.RequireConsent = false })
	q := url.Values{"client_id": {client.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid profile offline_access"}}
	br := env.browser()
	token := func(form url.Values) (map[string]any, bool) {
		form.Set("client_id", client.ClientID)
		form.Set("client_secret", secret)
		resp, body := postForm(b, env.issuer+"/token", form)
		return body, resp.StatusCode == http.StatusOK
	}
	const parallelism = 16
	chains := make([]string, 0, 64)
	for range cap(chains) {
		back := br.authorize(env.issuer+"/authorize?"+q.Encode(), "bench", "bench password 1", "allow")
		body, ok := token(url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {redirect}})
		if !ok {
			b.Fatalf("code exchange: %v", body)
		}
		chains = append(chains, body["refresh_token"].(string))
	}
	var next atomic.Int64
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % len(chains)
		refresh := chains[i]
		for pb.Next() {
			body, ok := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			if !ok {
				b.Errorf("refresh: %v", body)
				return
			}
			refresh = body["refresh_token"].(string)
		}
	})
}
