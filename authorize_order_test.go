package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"oidcd/models"
)

// TestAuthorizeValidationOrder sends requests with two faults at once and
// checks that the fault PARITY §2 checks first is the one reported:
// client_id, then redirect_uri (both an error page), then, redirected,
// response_type, whether the client may use it, scope, PKCE, request
// objects, and only then the session (prompt=none).
func TestAuthorizeValidationOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	// A public client that may not use the code flow.
	pubNoCode, _ := r.env.createClient(models.ClientPublic, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = []string{"id_token"} })
	confNoCode, _ := r.env.createClient(models.ClientConfidential, []string{cbURI}, func(c *models.Client) { c.ResponseTypes = []string{} })

	noPKCE := func(v url.Values) {
		v.Del("code_challenge")
		v.Del("code_challenge_method")
	}
	badMethod := func(v url.Values) {
		v.Set("code_challenge", s256(pkceVerifier))
		v.Set("code_challenge_method", "S512")
	}
	set := func(k, val string) func(url.Values) { return func(v url.Values) { v.Set(k, val) } }
	both := func(fs ...func(url.Values)) func(url.Values) {
		return func(v url.Values) {
			for _, f := range fs {
				f(v)
			}
		}
	}
	const (
		// wantPage: an error page, no redirect (PARITY §2 steps 1-2).
		wantPage = "error page"
		// Descriptions that tell apart rows whose error codes are the same.
		pkceDesc   = "code_challenge"
		methodDesc = "code_challenge_method"
	)
	tests := []struct {
		name     string
		client   *models.Client
		edit     func(url.Values)
		want     string // error code, or wantPage
		wantDesc string // a word the error_description must contain, if any
	}{
		// Steps 1 and 2 come before everything.
		{"unknown client + bad redirect_uri", r.conf, both(set("client_id", "no-such-client"), set("redirect_uri", "http://127.0.0.1/evil")), wantPage, ""},
		{"unknown client + unknown response_type", r.conf, both(set("client_id", "no-such-client"), set("response_type", "bogus")), wantPage, ""},
		{"bad redirect_uri + unknown response_type", r.conf, both(set("redirect_uri", "http://127.0.0.1/evil"), set("response_type", "bogus")), wantPage, ""},
		{"bad redirect_uri + public client without PKCE", r.pub, both(set("redirect_uri", "http://127.0.0.1/evil"), noPKCE), wantPage, ""},
		{"bad redirect_uri + request", r.conf, both(set("redirect_uri", "http://127.0.0.1/evil"), set("request", "eyJhbGciOiJub25lIn0.e30.")), wantPage, ""},

		// Step 3, in PARITY's order.
		{"unknown response_type + public client without PKCE", r.pub, both(set("response_type", "bogus"), noPKCE), "unsupported_response_type", ""},
		{"unknown response_type + client not allowed code", confNoCode, set("response_type", "bogus"), "unsupported_response_type", ""},
		{"unknown response_type + no allowed scope", r.conf, both(set("response_type", "bogus"), set("scope", "admin")), "unsupported_response_type", ""},
		{"unknown response_type + bad code_challenge_method", r.conf, both(set("response_type", "bogus"), badMethod), "unsupported_response_type", ""},
		{"unknown response_type + request", r.conf, both(set("response_type", "bogus"), set("request", "eyJhbGciOiJub25lIn0.e30.")), "unsupported_response_type", ""},
		{"response_type not allowed + public client without PKCE", pubNoCode, noPKCE, "unauthorized_client", ""},
		{"response_type not allowed + no allowed scope", confNoCode, set("scope", "admin"), "unauthorized_client", ""},
		{"response_type not allowed + request_uri", confNoCode, set("request_uri", "http://127.0.0.1/req.jwt"), "unauthorized_client", ""},
		{"no allowed scope + public client without PKCE", r.pub, both(set("scope", "admin"), noPKCE), "invalid_scope", ""},
		{"no allowed scope + request", r.conf, both(set("scope", "admin"), set("request", "eyJhbGciOiJub25lIn0.e30.")), "invalid_scope", ""},
		{"bad code_challenge_method + request", r.conf, both(badMethod, set("request", "eyJhbGciOiJub25lIn0.e30.")), "invalid_request", methodDesc},
		{"bad code_challenge_method + request_uri", r.pub, both(badMethod, set("request_uri", "http://127.0.0.1/req.jwt")), "invalid_request", methodDesc},
		{"public client without PKCE + request", r.pub, both(noPKCE, set("request", "eyJhbGciOiJub25lIn0.e30.")), "invalid_request", pkceDesc},
		{"public client without PKCE + unknown prompt", r.pub, both(noPKCE, set("prompt", "bogus")), "invalid_request", pkceDesc},
		{"request + unknown prompt", r.conf, both(set("request", "eyJhbGciOiJub25lIn0.e30."), set("prompt", "bogus")), "request_not_supported", ""},
		{"request_uri + bad max_age", r.conf, both(set("request_uri", "http://127.0.0.1/req.jwt"), set("max_age", "-1")), "request_uri_not_supported", ""},

		// Step 3 comes before step 4: a bad request is reported as such,
		// not as login_required, to a user with no session.
		{"prompt=none without a session + unknown response_type", r.conf, both(set("prompt", "none"), set("response_type", "bogus")), "unsupported_response_type", ""},
		{"prompt=none without a session + response_type not allowed", confNoCode, set("prompt", "none"), "unauthorized_client", ""},
		{"prompt=none without a session + public client without PKCE", r.pub, both(set("prompt", "none"), noPKCE), "invalid_request", pkceDesc},
		{"prompt=none without a session + request", r.conf, both(set("prompt", "none"), set("request", "eyJhbGciOiJub25lIn0.e30.")), "request_not_supported", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.counts()
			v := r.authParams(tt.client)
			v.Set("state", "s-order")
			tt.edit(v)
			p := r.env.browser().get("/authorize?" + v.Encode())
			if tt.want == wantPage {
				wantErrorPage(t, p, http.StatusBadRequest)
			} else {
				r.wantRedirectError(t, p, cbURI, tt.want, "s-order")
				if tt.wantDesc != "" {
					if loc := p.location(); loc != nil && !strings.Contains(loc.Query().Get("error_description"), tt.wantDesc) {
						t.Errorf("error_description = %q, want it about %s", loc.Query().Get("error_description"), tt.wantDesc)
					}
				}
			}
			r.wantUnchanged(t, before, "auth_requests", "codes")
		})
	}
}
