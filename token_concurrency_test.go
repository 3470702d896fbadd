package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// raceResult is one of several simultaneous token requests.
type raceResult struct {
	status int
	body   map[string]any
}

// raceTokenRequests posts the same form to /token from n goroutines at
// once: all of them are started and waiting before the gate opens.
func raceTokenRequests(t *testing.T, env *testEnv, n int, form url.Values) []raceResult {
	t.Helper()
	results := make([]raceResult, n)
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	body := form.Encode()
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			req, err := http.NewRequest(http.MethodPost, env.issuer+"/token", strings.NewReader(body))
			if err != nil {
				errs[i] = err
				ready.Done()
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			ready.Done()
			<-gate
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			results[i].status = resp.StatusCode
			if err := json.NewDecoder(resp.Body).Decode(&results[i].body); err != nil {
				errs[i] = fmt.Errorf("decode %d response: %w", resp.StatusCode, err)
			}
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return results
}

// tallyRace counts winners (200 with an access and a refresh token) and
// losers (400 invalid_grant); anything else is reported.
func tallyRace(t *testing.T, results []raceResult) (winners []map[string]any, losers int) {
	t.Helper()
	for i, r := range results {
		switch {
		case r.status == http.StatusOK:
			access, _ := r.body["access_token"].(string)
			refresh, _ := r.body["refresh_token"].(string)
			if access == "" || refresh == "" {
				t.Errorf("request %d: 200 without tokens: %v", i, r.body)
			}
			winners = append(winners, r.body)
		case r.status == http.StatusBadRequest && r.body["error"] == "invalid_grant":
			losers++
		default:
			t.Errorf("request %d: got %d %v, want 200 or 400 invalid_grant", i, r.status, r.body)
		}
	}
	return winners, losers
}

func TestConcurrentCodeRedemption(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	client, secret, redirect, code := newCodeFlow(t, env, "racer")

	const n = 20
	results := raceTokenRequests(t, env, n, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {client.ClientID}, "client_secret": {secret},
	})
	winners, losers := tallyRace(t, results)
	if len(winners) != 1 || losers != n-1 {
		t.Fatalf("got %d winners and %d invalid_grant, want 1 and %d", len(winners), losers, n-1)
	}
	// The losers were reuse of the code, which revokes what it issued
	// (RFC 6749 §4.1.2): the winner's refresh token no longer works.
	resp, body := postForm(t, env.issuer+"/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {winners[0]["refresh_token"].(string)},
		"client_id": {client.ClientID}, "client_secret": {secret},
	})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("winner's refresh token after the code was replayed: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
}

func TestConcurrentRefreshRotation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	client, secret, redirect, code := newCodeFlow(t, env, "racer")
	resp, tok := postForm(t, env.issuer+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {client.ClientID}, "client_secret": {secret},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v, want 200", resp.StatusCode, tok)
	}
	refresh, _ := tok["refresh_token"].(string)

	const n = 20
	results := raceTokenRequests(t, env, n, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"client_id": {client.ClientID}, "client_secret": {secret},
	})
	winners, losers := tallyRace(t, results)
	if len(winners) != 1 || losers != n-1 {
		t.Fatalf("got %d winners and %d invalid_grant, want 1 and %d", len(winners), losers, n-1)
	}
	if winners[0]["refresh_token"] == refresh || winners[0]["access_token"] == tok["access_token"] {
		t.Errorf("the winning rotation returned the old tokens: %v", winners[0])
	}
	// The losers presented a rotated-out token: the family is revoked, the
	// winner's new pair included (RFC 9700 §4.14.2).
	resp, body := postForm(t, env.issuer+"/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {winners[0]["refresh_token"].(string)},
		"client_id": {client.ClientID}, "client_secret": {secret},
	})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("winner's refresh token after reuse: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
}
