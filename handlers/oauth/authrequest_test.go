package oauth

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const (
	testRedirect  = "https://rp.example/cb"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 Appendix B
)

var (
	confidential = &AuthClient{RedirectURIs: []string{testRedirect, "https://rp.example/cb?x=1"}, ResponseTypes: []string{"code"}, Scopes: []string{"openid", "profile", "email"}}
	public       = &AuthClient{RedirectURIs: []string{testRedirect}, ResponseTypes: []string{"code"}, Scopes: []string{"openid", "profile"}, Public: true}
	noCodeClient = &AuthClient{RedirectURIs: []string{testRedirect}, ResponseTypes: []string{"id_token"}, Scopes: []string{"openid"}}
	// allTypes and publicAll may use every response type served.
	allTypes  = &AuthClient{RedirectURIs: []string{testRedirect}, ResponseTypes: ResponseTypes, Scopes: []string{"openid", "profile"}}
	publicAll = &AuthClient{RedirectURIs: []string{testRedirect}, ResponseTypes: ResponseTypes, Scopes: []string{"openid", "profile"}, Public: true}
)

// query builds parameters from "name=value" pairs on top of a valid code
// request; a pair "name=" with -name deletes it; a name given twice is
// sent twice.
func query(pairs ...string) url.Values {
	v := url.Values{"client_id": {"rp"}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"}}
	seen := map[string]bool{}
	for _, p := range pairs {
		name, value, _ := strings.Cut(p, "=")
		if strings.HasPrefix(name, "-") {
			v.Del(name[1:])
			continue
		}
		if seen[name] {
			v.Add(name, value)
		} else {
			v.Set(name, value)
		}
		seen[name] = true
	}
	return v
}

func intp(n int) *int { return &n }

func TestParseAuthRequest(t *testing.T) {
	type wantErr struct {
		code      string
		displayed bool
		title     string // displayed only
		desc      string // substring of the description
		state     string // redirected only
		mode      string // redirected only; "" is the query
	}
	tests := []struct {
		name   string
		v      url.Values
		client *AuthClient
		want   *AuthRequest
		err    *wantErr
	}{
		// PARITY §2 step 1: client_id; displayed, never redirected.
		{name: "client_id twice", v: query("client_id=rp", "client_id=rp"), client: confidential,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Invalid request", desc: "The parameter client_id was sent more than once."}},
		{name: "redirect_uri twice", v: query("redirect_uri="+testRedirect, "redirect_uri="+testRedirect), client: confidential,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Invalid request", desc: "redirect_uri was sent more than once"}},
		{name: "client_id missing", v: query("-client_id"), client: nil,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Unknown application", desc: "client_id is missing"}},
		{name: "client_id empty", v: query("client_id="), client: nil,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Unknown application", desc: "client_id is missing"}},
		{name: "unknown client", v: query(), client: nil,
			err: &wantErr{code: InvalidClient, displayed: true, title: "Unknown application", desc: "No application is registered"}},
		// Step 2: redirect_uri, exact match; displayed.
		{name: "redirect_uri missing", v: query("-redirect_uri"), client: confidential,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Invalid redirect URI", desc: "must match a registered URI exactly"}},
		{name: "redirect_uri not registered", v: query("redirect_uri=https://evil.example/cb"), client: confidential,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Invalid redirect URI"}},
		{name: "redirect_uri trailing slash", v: query("redirect_uri=" + testRedirect + "/"), client: confidential,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Invalid redirect URI"}},
		{name: "redirect_uri extra query", v: query("redirect_uri=" + testRedirect + "?x=2"), client: confidential,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Invalid redirect URI"}},
		{name: "displayed before anything redirected", v: query("redirect_uri=https://evil.example/cb", "response_type=token"), client: confidential,
			err: &wantErr{code: InvalidRequest, displayed: true, title: "Invalid redirect URI"}},

		// Step 3: redirected, with state.
		{name: "state twice", v: query("state=a", "state=b"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "parameter state was sent more than once", state: ""}},
		{name: "nonce twice", v: query("nonce=a", "nonce=b"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "parameter nonce was sent more than once", state: "s1"}},
		{name: "request twice", v: query("request=a", "request=b"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "parameter request was sent more than once", state: "s1"}},
		{name: "state too long not echoed", v: query("state=" + strings.Repeat("s", 1025)), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "state must be at most 1024 bytes", state: ""}},
		{name: "nonce too long", v: query("nonce=" + strings.Repeat("n", 513)), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "nonce must be at most 512 bytes", state: "s1"}},
		{name: "login_hint too long", v: query("login_hint=" + strings.Repeat("h", 513)), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "login_hint must be at most 512 bytes", state: "s1"}},
		{name: "response_type missing", v: query("-response_type"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "response_type is required", state: "s1"}},
		{name: "response_type unknown", v: query("response_type=magic"), client: confidential,
			err: &wantErr{code: UnsupportedResponseType, desc: `response_type "magic" is not supported`, state: "s1"}},
		// RFC 9700 §2.1.2: plain token is known, never served.
		{name: "plain token not served, error in the fragment", v: query("response_type=token"), client: allTypes,
			err: &wantErr{code: UnsupportedResponseType, desc: `response_type "token" is not served`, state: "s1", mode: ModeFragment}},
		{name: "response_mode query wins for the error", v: query("response_type=token", "response_mode=query"), client: confidential,
			err: &wantErr{code: UnsupportedResponseType, state: "s1"}},
		{name: "response_mode form_post wins for the error", v: query("response_type=token", "response_mode=form_post"), client: allTypes,
			err: &wantErr{code: UnsupportedResponseType, state: "s1", mode: ModeFormPost}},
		{name: "code not allowed for client", v: query(), client: noCodeClient,
			err: &wantErr{code: UnauthorizedClient, desc: "this client may not use response_type code", state: "s1"}},
		{name: "implicit not allowed for client, error in the fragment", v: query("response_type=id_token", "nonce=n"), client: confidential,
			err: &wantErr{code: UnauthorizedClient, desc: "this client may not use response_type id_token", state: "s1", mode: ModeFragment}},
		{name: "hybrid not allowed for client, any order", v: query("response_type=token code", "nonce=n"), client: confidential,
			err: &wantErr{code: UnauthorizedClient, desc: "response_type code token", state: "s1", mode: ModeFragment}},
		{name: "response_mode unknown, error in the default mode", v: query("response_mode=web_message"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: `response_mode "web_message" is not supported`, state: "s1"}},
		{name: "response_mode unknown for implicit, error in the fragment", v: query("response_type=id_token token", "nonce=n", "response_mode=web_message"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: `response_mode "web_message" is not supported`, state: "s1", mode: ModeFragment}},
		{name: "response_mode twice", v: query("response_type=id_token", "nonce=n", "response_mode=fragment", "response_mode=fragment"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "parameter response_mode was sent more than once", state: "s1", mode: ModeFragment}},
		// Multiple Response Type Encoding Practices §5: no token in the query.
		{name: "query mode with id_token", v: query("response_type=id_token", "nonce=n", "response_mode=query"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "response_mode query cannot carry the tokens of response_type id_token", state: "s1"}},
		{name: "query mode with id_token token", v: query("response_type=id_token token", "nonce=n", "response_mode=query"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "cannot carry", state: "s1"}},
		{name: "query mode with code token", v: query("response_type=code token", "response_mode=query"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "cannot carry", state: "s1"}},
		{name: "query mode with code id_token token", v: query("response_type=code id_token token", "nonce=n", "response_mode=query"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "cannot carry", state: "s1"}},
		// Core §3.2.2.1, §3.3.2.11: nonce REQUIRED with an id_token.
		{name: "implicit id_token without nonce", v: query("response_type=id_token"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "nonce is required", state: "s1", mode: ModeFragment}},
		{name: "implicit id_token token without nonce", v: query("response_type=id_token token"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "nonce is required", state: "s1", mode: ModeFragment}},
		{name: "hybrid code id_token without nonce", v: query("response_type=code id_token"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "nonce is required", state: "s1", mode: ModeFragment}},
		{name: "hybrid code id_token token without nonce", v: query("response_type=code id_token token", "nonce="), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "nonce is required", state: "s1", mode: ModeFragment}},
		{name: "nonce missing, error form_posted", v: query("response_type=id_token", "response_mode=form_post"), client: allTypes,
			err: &wantErr{code: InvalidRequest, desc: "nonce is required", state: "s1", mode: ModeFormPost}},
		{name: "implicit without openid", v: query("response_type=id_token token", "nonce=n", "scope=profile"), client: allTypes,
			err: &wantErr{code: InvalidScope, desc: "needs the openid scope", state: "s1", mode: ModeFragment}},
		{name: "hybrid code token without openid", v: query("response_type=code token", "scope=profile"), client: allTypes,
			err: &wantErr{code: InvalidScope, desc: "needs the openid scope", state: "s1", mode: ModeFragment}},
		// PKCE guards codes only: a public client's hybrid request needs it.
		{name: "public hybrid without PKCE", v: query("response_type=code id_token", "nonce=n"), client: publicAll,
			err: &wantErr{code: InvalidRequest, desc: "public clients must use PKCE", state: "s1", mode: ModeFragment}},
		{name: "public hybrid with PKCE plain", v: query("response_type=code token", "code_challenge="+testChallenge, "code_challenge_method=plain"), client: publicAll,
			err: &wantErr{code: InvalidRequest, desc: "code_challenge_method must be S256", state: "s1", mode: ModeFragment}},
		{name: "public hybrid with a short challenge, form_post", v: query("response_type=code token", "code_challenge=abc", "code_challenge_method=S256", "response_mode=form_post"), client: publicAll,
			err: &wantErr{code: InvalidRequest, desc: "code_challenge must be 43", state: "s1", mode: ModeFormPost}},
		{name: "no allowed scope", v: query("scope=phone address"), client: confidential,
			err: &wantErr{code: InvalidScope, desc: "no requested scope is allowed", state: "s1"}},
		{name: "scope missing", v: query("-scope"), client: confidential,
			err: &wantErr{code: InvalidScope, state: "s1"}},
		{name: "method without challenge", v: query("code_challenge_method=S256"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "code_challenge_method without code_challenge", state: "s1"}},
		{name: "public client without PKCE", v: query(), client: public,
			err: &wantErr{code: InvalidRequest, desc: "public clients must use PKCE", state: "s1"}},
		{name: "PKCE plain", v: query("code_challenge="+testChallenge, "code_challenge_method=plain"), client: public,
			err: &wantErr{code: InvalidRequest, desc: "code_challenge_method must be S256", state: "s1"}},
		{name: "PKCE method missing means plain", v: query("code_challenge=" + testChallenge), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "code_challenge_method must be S256", state: "s1"}},
		{name: "PKCE challenge too short", v: query("code_challenge=abc", "code_challenge_method=S256"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "code_challenge must be 43 to 128 characters", state: "s1"}},
		{name: "request object", v: query("request=eyJ"), client: confidential,
			err: &wantErr{code: RequestNotSupported, state: "s1"}},
		{name: "empty request object still refused", v: query("request="), client: confidential,
			err: &wantErr{code: RequestNotSupported, state: "s1"}},
		{name: "request_uri", v: query("request_uri=https://rp.example/r"), client: confidential,
			err: &wantErr{code: RequestURINotSupported, state: "s1"}},
		{name: "unknown prompt", v: query("prompt=create"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: `prompt "create" is not supported`, state: "s1"}},
		{name: "prompt none with another", v: query("prompt=none login"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "prompt=none cannot be combined", state: "s1"}},
		{name: "max_age negative", v: query("max_age=-1"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "max_age must be a non-negative integer", state: "s1"}},
		{name: "max_age not a number", v: query("max_age=1h"), client: confidential,
			err: &wantErr{code: InvalidRequest, desc: "max_age must be a non-negative integer", state: "s1"}},
		{name: "no state, none echoed", v: query("-state", "response_type=magic"), client: confidential,
			err: &wantErr{code: UnsupportedResponseType, state: ""}},

		// Valid requests.
		{name: "minimal code request", v: query(), client: confidential,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code", ResponseMode: "query", Scopes: []string{"openid"}, State: "s1"}},
		{name: "registered redirect with query", v: query("redirect_uri=https://rp.example/cb?x=1"), client: confidential,
			want: &AuthRequest{ClientID: "rp", RedirectURI: "https://rp.example/cb?x=1", ResponseType: "code", ResponseMode: "query", Scopes: []string{"openid"}, State: "s1"}},
		{name: "everything", client: public,
			v: query("scope=openid phone profile openid", "nonce=n1", "prompt=login consent login", "max_age=0", "response_mode=query",
				"code_challenge="+testChallenge, "code_challenge_method=S256", "login_hint=ann", "id_token_hint=eyJ", "ui_locales=de en", "display=page"),
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code", ResponseMode: "query",
				Scopes: []string{"openid", "profile"}, State: "s1", Nonce: "n1", Prompts: []string{"login", "consent"}, MaxAge: intp(0),
				CodeChallenge: testChallenge, CodeChallengeMethod: PKCES256, LoginHint: "ann", IDTokenHint: "eyJ", UILocales: "de en"}},
		{name: "response_type spaces collapsed", v: query("response_type= code "), client: confidential,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code", ResponseMode: "query", Scopes: []string{"openid"}, State: "s1"}},
		{name: "prompt none alone", v: query("prompt=none none"), client: confidential,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code", ResponseMode: "query", Scopes: []string{"openid"}, State: "s1", Prompts: []string{"none"}}},
		{name: "response_mode fragment for code", v: query("response_mode=fragment"), client: confidential,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code", ResponseMode: ModeFragment, Scopes: []string{"openid"}, State: "s1"}},
		{name: "response_mode form_post for code", v: query("response_mode=form_post"), client: confidential,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code", ResponseMode: ModeFormPost, Scopes: []string{"openid"}, State: "s1"}},
		{name: "implicit id_token, fragment by default", v: query("response_type=id_token", "nonce=n"), client: allTypes,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "id_token", ResponseMode: ModeFragment, Scopes: []string{"openid"}, State: "s1", Nonce: "n"}},
		{name: "public implicit needs no PKCE, a challenge is ignored", v: query("response_type=token id_token", "nonce=n", "code_challenge=abc", "code_challenge_method=plain"), client: publicAll,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "id_token token", ResponseMode: ModeFragment, Scopes: []string{"openid"}, State: "s1", Nonce: "n"}},
		{name: "hybrid in any order, form_post", v: query("response_type=token id_token  code", "nonce=n", "response_mode=form_post"), client: allTypes,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code id_token token", ResponseMode: ModeFormPost, Scopes: []string{"openid"}, State: "s1", Nonce: "n"}},
		{name: "hybrid code token needs no nonce", v: query("response_type=code token"), client: allTypes,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code token", ResponseMode: ModeFragment, Scopes: []string{"openid"}, State: "s1"}},
		{name: "public hybrid with S256", v: query("response_type=code id_token", "nonce=n", "code_challenge="+testChallenge, "code_challenge_method=S256", "response_mode=fragment"), client: publicAll,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code id_token", ResponseMode: ModeFragment, Scopes: []string{"openid"}, State: "s1", Nonce: "n",
				CodeChallenge: testChallenge, CodeChallengeMethod: PKCES256}},
		{name: "state at its limit", v: query("state=" + strings.Repeat("s", 1024)), client: confidential,
			want: &AuthRequest{ClientID: "rp", RedirectURI: testRedirect, ResponseType: "code", ResponseMode: "query", Scopes: []string{"openid"}, State: strings.Repeat("s", 1024)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthRequest(tt.v, tt.client, DefaultAuthSettings())
			if tt.err == nil {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want error %s", got, tt.err.code)
			}
			if got != nil {
				t.Errorf("got request %+v beside the error, want nil", got)
			}
			if err.Err.Code != tt.err.code {
				t.Errorf("got code %q, want %q (%v)", err.Err.Code, tt.err.code, err)
			}
			if err.Displayed != tt.err.displayed {
				t.Errorf("got displayed %v, want %v", err.Displayed, tt.err.displayed)
			}
			if !strings.Contains(err.Err.Description, tt.err.desc) {
				t.Errorf("got description %q, want it to contain %q", err.Err.Description, tt.err.desc)
			}
			if tt.err.displayed {
				if err.Title != tt.err.title {
					t.Errorf("got title %q, want %q", err.Title, tt.err.title)
				}
				if err.RedirectURI != "" || err.State != "" {
					t.Errorf("got redirect %q state %q on a displayed error, want none", err.RedirectURI, err.State)
				}
				return
			}
			if err.RedirectURI != tt.v.Get("redirect_uri") {
				t.Errorf("got redirect %q, want %q", err.RedirectURI, tt.v.Get("redirect_uri"))
			}
			if err.State != tt.err.state {
				t.Errorf("got state %q, want %q", err.State, tt.err.state)
			}
			wantMode := tt.err.mode
			if wantMode == "" {
				wantMode = ModeQuery
			}
			if err.Mode != wantMode {
				t.Errorf("got mode %q, want %q", err.Mode, wantMode)
			}
		})
	}
}

// TestAuthClientID: the client is looked up only when ParseAuthRequest
// will look at it.
func TestAuthClientID(t *testing.T) {
	tests := []struct {
		v    url.Values
		want string
	}{
		{query(), "rp"},
		{query("-client_id"), ""},
		{query("client_id=a", "client_id=b"), ""},
		{query("redirect_uri=a", "redirect_uri=b"), ""},
		{query("-redirect_uri"), "rp"},
	}
	for _, tt := range tests {
		if got := AuthClientID(tt.v); got != tt.want {
			t.Errorf("AuthClientID(%v): got %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestServedIsKnown: every served response type is a known one, and a
// served list never names what the server cannot parse.
func TestServedIsKnown(t *testing.T) {
	for _, rt := range ResponseTypes {
		if NormaliseResponseType(rt) != rt || !contains(KnownResponseTypes, rt) {
			t.Errorf("served response type %q is not a known one in its normal order", rt)
		}
	}
	for _, m := range PKCEMethods {
		if m != PKCES256 {
			t.Errorf("got PKCE method %q, want only %q: VerifyPKCE checks no other", m, PKCES256)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
