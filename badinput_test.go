package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBadInput sends malformed, oversized and misdirected requests to
// every endpoint. Each must get a 4xx with a clear OAuth error or our error
// page, never a 500 and never a redirect, and the server log must not
// repeat any secret that was sent.
func TestBadInput(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	authz := url.Values{"client_id": {r.conf.ClientID}, "redirect_uri": {cbURI}, "response_type": {"code"}, "scope": {"openid"}}.Encode()
	code := url.Values{"grant_type": {"authorization_code"}, "code": {"c-" + strings.Repeat("x", 40)}, "redirect_uri": {cbURI},
		"client_id": {r.conf.ClientID}, "client_secret": {r.secret}}.Encode()
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	const form = "application/x-www-form-urlencoded"
	const loginForm = "username=alice&password=" + "alice%27s+correct+horse+battery"

	type row struct {
		name       string
		method     string
		target     string // path and raw query
		body       string
		ctype      string
		header     map[string]string
		html       bool // Accept: text/html, as a browser sends
		chunked    bool // no Content-Length
		wantStatus int
		wantError  string // the JSON error; "" means our error page
	}
	tests := []row{
		// /authorize: a person's browser gets the error page.
		{name: "authorize: 5000-byte state", method: "GET", target: "/authorize?" + authz + "&state=" + strings.Repeat("s", 5000), html: true, wantStatus: 400},
		{name: "authorize: 5000-byte state, POST", method: "POST", target: "/authorize", body: authz + "&state=" + strings.Repeat("s", 5000), ctype: form, html: true, wantStatus: 400},
		{name: "authorize: invalid UTF-8 value", method: "GET", target: "/authorize?" + authz + "&state=%ff", html: true, wantStatus: 400},
		{name: "authorize: invalid UTF-8 value, POST", method: "POST", target: "/authorize", body: authz + "&state=a%ffb", ctype: form, html: true, wantStatus: 400},
		{name: "authorize: invalid UTF-8 name", method: "GET", target: "/authorize?" + authz + "&%fe%ff=1", html: true, wantStatus: 400},
		{name: "authorize: malformed percent-encoding", method: "GET", target: "/authorize?" + authz + "&state=%zz", html: true, wantStatus: 400},
		{name: "authorize: truncated percent-encoding", method: "GET", target: "/authorize?" + authz + "&state=%f", html: true, wantStatus: 400},
		{name: "authorize: malformed percent-encoding, POST", method: "POST", target: "/authorize", body: authz + "&state=%zz", ctype: form, html: true, wantStatus: 400},
		{name: "authorize: semicolon separator", method: "GET", target: "/authorize?" + authz + ";state=x", html: true, wantStatus: 400},
		{name: "authorize: 20000 parameters", method: "GET", target: "/authorize?" + authz + strings.Repeat("&p=1", 20000), html: true, wantStatus: 400},
		// PostgreSQL refuses a NUL byte in text outright: it must be a
		// client error before any query (the PostgreSQL run does these too).
		{name: "authorize: NUL in client_id", method: "GET", target: "/authorize?client_id=a%00b&redirect_uri=" + url.QueryEscape(cbURI), html: true, wantStatus: 400},
		{name: "authorize: NUL in state", method: "GET", target: "/authorize?" + authz + "&state=a%00b", html: true, wantStatus: 400},
		{name: "authorize: a control character in state, POST", method: "POST", target: "/authorize", body: authz + "&state=a%1bb", ctype: form, html: true, wantStatus: 400},
		{name: "authorize: POST with a JSON body", method: "POST", target: "/authorize", body: `{"client_id":"x"}`, ctype: "application/json", html: true, wantStatus: 400},
		{name: "authorize: PUT", method: "PUT", target: "/authorize?" + authz, wantStatus: 405, wantError: "invalid_request"},
		{name: "authorize: DELETE", method: "DELETE", target: "/authorize?" + authz, html: true, wantStatus: 405},

		// /token: JSON errors (RFC 6749 §5.2).
		{name: "token: invalid UTF-8 in the body", method: "POST", target: "/token", body: code + "&state=%ff", ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: invalid UTF-8 in a name", method: "POST", target: "/token", body: code + "&%ff=1", ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: malformed percent-encoding", method: "POST", target: "/token", body: code + "&x=%zz", ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: 5000-byte parameter", method: "POST", target: "/token", body: code + "&scope=" + strings.Repeat("s", 5000), ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: GET", method: "GET", target: "/token?" + code, wantStatus: 405, wantError: "invalid_request"},
		{name: "token: PUT", method: "PUT", target: "/token", body: code, ctype: form, wantStatus: 405, wantError: "invalid_request"},
		{name: "token: Basic not base64", method: "POST", target: "/token", body: "grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(cbURI), ctype: form,
			header: map[string]string{"Authorization": "Basic !!!not-base64!!!"}, wantStatus: 401, wantError: "invalid_client"},
		{name: "token: Basic without a colon", method: "POST", target: "/token", body: "grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(cbURI), ctype: form,
			header: map[string]string{"Authorization": b64(r.conf.ClientID + r.secret)}, wantStatus: 401, wantError: "invalid_client"},
		{name: "token: Basic alone", method: "POST", target: "/token", body: "grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(cbURI), ctype: form,
			header: map[string]string{"Authorization": "Basic"}, wantStatus: 401, wantError: "invalid_client"},
		{name: "token: Basic with an empty id", method: "POST", target: "/token", body: "grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(cbURI), ctype: form,
			header: map[string]string{"Authorization": b64(":" + r.secret)}, wantStatus: 401, wantError: "invalid_client"},
		{name: "token: Basic with malformed percent-encoding", method: "POST", target: "/token", body: "grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(cbURI), ctype: form,
			header: map[string]string{"Authorization": b64(r.conf.ClientID + ":%zz" + r.secret)}, wantStatus: 401, wantError: "invalid_client"},
		{name: "token: NUL in client_id", method: "POST", target: "/token", body: "grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(cbURI) + "&client_id=a%00b&client_secret=s",
			ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: NUL in the code", method: "POST", target: "/token", body: code + "&code_verifier=%00", ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: NUL in the Basic id", method: "POST", target: "/token", body: "grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(cbURI), ctype: form,
			header: map[string]string{"Authorization": b64("a\x00b:" + r.secret)}, wantStatus: 401, wantError: "invalid_client"},
		{name: "token: encoded NUL in the Basic id", method: "POST", target: "/token", body: "grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(cbURI), ctype: form,
			header: map[string]string{"Authorization": b64("a%00b:" + r.secret)}, wantStatus: 401, wantError: "invalid_client"},
		{name: "token: JSON body", method: "POST", target: "/token", body: `{"grant_type":"authorization_code"}`, ctype: "application/json", wantStatus: 400, wantError: "invalid_request"},
		{name: "token: no content type", method: "POST", target: "/token", body: code, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: multipart body", method: "POST", target: "/token", body: "--x\r\n\r\n--x--\r\n", ctype: "multipart/form-data; boundary=x", wantStatus: 400, wantError: "invalid_request"},
		{name: "token: body over 64KB", method: "POST", target: "/token", body: code + "&pad=" + strings.Repeat("p", 70<<10), ctype: form, wantStatus: 413, wantError: "invalid_request"},
		{name: "token: body over 64KB, chunked", method: "POST", target: "/token", body: code + "&pad=" + strings.Repeat("p", 70<<10), ctype: form, chunked: true, wantStatus: 413, wantError: "invalid_request"},
		{name: "token: repeated grant_type", method: "POST", target: "/token", body: code + "&grant_type=refresh_token", ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: repeated client_id", method: "POST", target: "/token", body: code + "&client_id=" + url.QueryEscape(r.conf.ClientID), ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "token: 20000 parameters", method: "POST", target: "/token", body: code + strings.Repeat("&p", 20000), ctype: form, wantStatus: 400, wantError: "invalid_request"},

		// /userinfo: RFC 6750 errors.
		{name: "userinfo: DELETE", method: "DELETE", target: "/userinfo", wantStatus: 405, wantError: "invalid_request"},
		{name: "userinfo: PUT", method: "PUT", target: "/userinfo", wantStatus: 405, wantError: "invalid_request"},
		{name: "userinfo: invalid UTF-8 in the query", method: "GET", target: "/userinfo?access_token=%ff", wantStatus: 400, wantError: "invalid_request"},
		{name: "userinfo: malformed percent-encoding", method: "GET", target: "/userinfo?access_token=%zz", wantStatus: 400, wantError: "invalid_request"},
		{name: "userinfo: invalid UTF-8 in the body", method: "POST", target: "/userinfo", body: "access_token=%ff", ctype: form, wantStatus: 400, wantError: "invalid_request"},
		{name: "userinfo: NUL in the query token", method: "GET", target: "/userinfo?access_token=a%00b", wantStatus: 400, wantError: "invalid_request"},
		{name: "userinfo: 5000-byte token", method: "GET", target: "/userinfo?access_token=" + strings.Repeat("t", 5000), wantStatus: 400, wantError: "invalid_request"},

		// Everything else.
		{name: "unknown path", method: "GET", target: "/no/such/path", wantStatus: 404, wantError: "not_found"},
		{name: "unknown path, browser", method: "GET", target: "/no/such/path", html: true, wantStatus: 404},
		{name: "login without CSRF token", method: "POST", target: "/login", body: loginForm, ctype: form, html: true, wantStatus: 403},
		{name: "login with a CSRF token not matching the cookie", method: "POST", target: "/login", body: loginForm + "&_csrf=forged", ctype: form, html: true,
			header: map[string]string{"Cookie": "oidcd_csrf=the-real-one"}, wantStatus: 403},
		{name: "login from another site", method: "POST", target: "/login", body: loginForm, ctype: form, html: true,
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1:9"}, wantStatus: 403},
		{name: "consent without CSRF token", method: "POST", target: "/consent", body: "req=x&allow=1", ctype: form, html: true, wantStatus: 403},
		{name: "logout without CSRF token", method: "POST", target: "/logout", body: "", ctype: form, html: true, wantStatus: 403},
	}
	client := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.counts()
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // hides the length: chunked
				}
			}
			req, err := http.NewRequest(tt.method, r.env.issuer+tt.target, body)
			if err != nil {
				t.Fatalf("new request: %v", err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.html {
				req.Header.Set("Accept", "text/html")
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.name, err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d:\n%.300s", resp.StatusCode, tt.wantStatus, raw)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("Location = %q, want no redirect", loc)
			}
			if tt.wantError == "" {
				if !strings.Contains(string(raw), `data-testid="error-page"`) {
					t.Errorf("body is not the error page:\n%.300s", raw)
				}
			} else {
				var out map[string]any
				if err := json.Unmarshal(raw, &out); err != nil {
					t.Fatalf("body is not JSON: %v\n%.300s", err, raw)
				}
				if out["error"] != tt.wantError {
					t.Errorf("error = %v, want %s", out["error"], tt.wantError)
				}
				if d, _ := out["error_description"].(string); d == "" || len(d) > 500 {
					t.Errorf("error_description = %q, want a short description", d)
				}
			}
			if strings.HasPrefix(tt.target, "/token") {
				wantTokenHeaders(t, resp)
			}
			if strings.HasPrefix(tt.target, "/token") && tt.wantStatus == http.StatusUnauthorized {
				if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
					t.Errorf("WWW-Authenticate = %q, want a Basic challenge", got)
				}
			}
			r.wantUnchanged(t, before, countedTables...)
		})
	}
	if logs := r.env.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("the server logged an error for bad input, want none:\n%s", logs)
	}
}
