package main

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestFreshLoginWithinTheSameSecond: a login made before an authorization
// request, even earlier in the same second, does not satisfy the request's
// prompt=login or max_age=0 (OpenID Connect Core §3.1.2.1); only a login
// after it does. Auth times used to be compared in whole seconds.
func TestFreshLoginWithinTheSameSecond(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		edit func(url.Values)
	}{
		{"prompt=login", func(v url.Values) { v.Set("prompt", "login") }},
		{"max_age=0", func(v url.Values) { v.Set("max_age", "0") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			b := r.env.browser()
			// Start at a whole second, so that the login and the request
			// after it share their second unless the machine stalls for
			// most of one. Nothing below depends on that: a login before
			// the request never counts, whatever the seconds say.
			now := r.env.clock.Now()
			r.env.clock.Advance(now.Truncate(time.Second).Add(time.Second).Sub(now))
			r.login(b)

			p := b.get(r.authURL(r.conf, tt.edit))
			if !isLoginPage(p) {
				t.Fatalf("authorize after a login before the request: %d at %s, want the login page", p.status, p.url)
			}
			reqID := hiddenFields(p.body).Get("req")
			if reqID == "" {
				t.Fatalf("the login page carries no parked request:\n%s", p.body)
			}
			before := r.counts()
			// Resuming without signing in again must not count the earlier
			// login as the fresh one.
			resumed := b.get("/authorize/resume?req=" + url.QueryEscape(reqID))
			if !isLoginPage(resumed) {
				t.Errorf("resume without a new login: %d at %s, want the login page again", resumed.status, resumed.url)
			}
			r.wantUnchanged(t, before, "codes")

			// A login after the request satisfies it.
			p = b.submitLogin(resumed, testUser, testPassword)
			if !isConsentPage(p) {
				t.Fatalf("after a new login: %d at %s, want the consent page", p.status, p.url)
			}
			p = b.decide(p, "allow")
			if p.status != http.StatusFound {
				t.Fatalf("consent: %d at %s, want a redirect with a code", p.status, p.url)
			}
			r.wantCode(t, p, cbURI)
		})
	}
}
