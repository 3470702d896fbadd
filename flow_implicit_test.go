package main

import (
	"net/url"
	"testing"

	"oidcd/handlers/oauth"
)

// The implicit flow end to end, with go-oidc, is part of
// TestFrontChannelFlowsWithRealClient (flow_hybrid_test.go), which runs
// every response type the authorization endpoint answers with tokens.

// TestImplicitErrors: refused implicit requests (PARITY §2 step 3
// onwards), their errors in the fragment unless the request asked for
// another mode, nothing parked, issued or consented.
func TestImplicitErrors(t *testing.T) {
	t.Parallel()
	r, conf, pub := frontChannelRig(t)
	set := func(k, val string) func(url.Values) { return func(v url.Values) { v.Set(k, val) } }
	rows := []frontChannelErrorRow{
		// Core §3.2.2.1: nonce REQUIRED.
		{name: "id_token without nonce", client: conf, rt: "id_token", edit: func(v url.Values) { v.Del("nonce") },
			wantError: oauth.InvalidRequest, wantMode: oauth.ModeFragment},
		{name: "id_token token with an empty nonce", client: pub, rt: "id_token token", edit: set("nonce", ""),
			wantError: oauth.InvalidRequest, wantMode: oauth.ModeFragment},
		{name: "without nonce, form_post", client: conf, rt: "id_token token",
			edit: func(v url.Values) { v.Del("nonce"); v.Set("response_mode", "form_post") }, wantError: oauth.InvalidRequest, wantMode: oauth.ModeFormPost},
		// RFC 9700 §2.1.2: plain token is not served.
		{name: "plain token", client: conf, rt: "token", wantError: oauth.UnsupportedResponseType, wantMode: oauth.ModeFragment},
		{name: "unknown response type with tokens", client: conf, rt: "id_token token token", wantError: oauth.UnsupportedResponseType, wantMode: oauth.ModeFragment},
		{name: "not allowed for the client", client: r.conf, rt: "id_token token", wantError: oauth.UnauthorizedClient, wantMode: oauth.ModeFragment},
		{name: "public client not allowed", client: r.pub, rt: "id_token", wantError: oauth.UnauthorizedClient, wantMode: oauth.ModeFragment},
		// Multiple Response Type Encoding Practices §5: the error goes
		// where the client asked, the tokens never would.
		{name: "id_token in the query", client: conf, rt: "id_token", edit: set("response_mode", "query"),
			wantError: oauth.InvalidRequest, wantMode: oauth.ModeQuery},
		{name: "id_token token in the query", client: pub, rt: "id_token token", edit: set("response_mode", "query"),
			wantError: oauth.InvalidRequest, wantMode: oauth.ModeQuery},
		{name: "unknown response_mode", client: conf, rt: "id_token token", edit: set("response_mode", "web_message"),
			wantError: oauth.InvalidRequest, wantMode: oauth.ModeFragment},
		{name: "without openid", client: conf, rt: "id_token token", edit: set("scope", "email"), wantError: oauth.InvalidScope, wantMode: oauth.ModeFragment},
		{name: "request object", client: conf, rt: "id_token", edit: set("request", "eyJhbGciOiJub25lIn0.e30."),
			wantError: oauth.RequestNotSupported, wantMode: oauth.ModeFragment},
		{name: "prompt=none without a session", client: conf, rt: "id_token token", edit: set("prompt", "none"),
			wantError: oauth.LoginRequired, wantMode: oauth.ModeFragment},
		{name: "prompt=none without consent", client: conf, rt: "id_token", loggedIn: true, edit: set("prompt", "none"),
			wantError: oauth.ConsentRequired, wantMode: oauth.ModeFragment},
		{name: "prompt=none without consent, form_post", client: pub, rt: "id_token token", loggedIn: true,
			edit: func(v url.Values) { v.Set("prompt", "none"); v.Set("response_mode", "form_post") }, wantError: oauth.ConsentRequired, wantMode: oauth.ModeFormPost},
		{name: "denied", client: conf, rt: "id_token token", deny: true, wantError: oauth.AccessDenied, wantMode: oauth.ModeFragment},
		{name: "denied, public client", client: pub, rt: "id_token", deny: true, wantError: oauth.AccessDenied, wantMode: oauth.ModeFragment},
	}
	runFrontChannelErrors(t, r, rows)
}
