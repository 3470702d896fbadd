package admin

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// formContext is an echo context for a POST of form, as the admin site
// receives it; no server runs.
func formContext(form url.Values) echo.Context {
	req := httptest.NewRequest(http.MethodPost, "/admin/x", strings.NewReader(form.Encode()))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
	return echo.New().NewContext(req, httptest.NewRecorder())
}

// errorFields lists the fields errs names, sorted.
func errorFields(errs views.FieldErrors) []string {
	var out []string
	for k := range errs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// validClientForm is a new confidential client's form that passes.
func validClientForm() url.Values {
	return url.Values{
		"name": {"Test RP"}, "client_type": {models.ClientConfidential}, "response_types": {"code"},
		"grant_types": {"authorization_code", "refresh_token"}, "redirect_uris": {"https://rp.example/cb"},
		"scopes": {"openid profile"}, "jwt_alg": {"RS256"}, "require_consent": {"on"},
	}
}

// TestClientFormChecks: the client form's rules, field by field; each bad
// value is reported under its own field and nothing else.
func TestClientFormChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(url.Values)
		want []string // fields with an error, sorted
	}{
		{"valid", func(url.Values) {}, nil},
		{"name missing", func(v url.Values) { v.Set("name", "  ") }, []string{"name"}},
		{"name at 200 characters", func(v url.Values) { v.Set("name", strings.Repeat("n", 200)) }, nil},
		{"name over 200 characters", func(v url.Values) { v.Set("name", strings.Repeat("n", 201)) }, []string{"name"}},
		{"unknown client type", func(v url.Values) { v.Set("client_type", "trusted") }, []string{"client_type"}},
		{"no client type", func(v url.Values) { v.Del("client_type") }, []string{"client_type"}},
		{"no response type", func(v url.Values) { v.Del("response_types") }, []string{"response_types"}},
		{"unknown response type", func(v url.Values) { v.Add("response_types", "bogus") }, []string{"response_types"}},
		{"unknown grant type", func(v url.Values) { v.Add("grant_types", "urn:bogus") }, []string{"grant_types"}},
		{"a grant type twice", func(v url.Values) { v.Add("grant_types", "refresh_token") }, []string{"grant_types"}},
		{"public client with client_credentials", func(v url.Values) {
			v.Set("client_type", models.ClientPublic)
			v["grant_types"] = []string{"authorization_code", "client_credentials"}
		}, []string{"grant_types"}},
		{"no redirect URI", func(v url.Values) { v.Set("redirect_uris", "\n \n") }, []string{"redirect_uris"}},
		{"a relative redirect URI", func(v url.Values) { v.Set("redirect_uris", "https://rp.example/cb\n/cb") }, []string{"redirect_uris"}},
		{"a redirect URI with a fragment (RFC 6749 §3.1.2)", func(v url.Values) { v.Set("redirect_uris", "https://rp.example/cb#x") }, []string{"redirect_uris"}},
		{"several redirect URIs, blank lines and repeats", func(v url.Values) {
			v.Set("redirect_uris", "https://rp.example/cb\r\n\r\nhttps://rp.example/cb\nhttp://127.0.0.1:8080/cb")
		}, nil},
		{"a bad post-logout redirect URI", func(v url.Values) { v.Set("post_logout_redirect_uris", "not a uri") }, []string{"post_logout_redirect_uris"}},
		{"no scopes", func(v url.Values) { v.Set("scopes", "   ") }, []string{"scopes"}},
		{"unknown signing algorithm", func(v url.Values) { v.Set("jwt_alg", "none") }, []string{"jwt_alg"}},
		{"HS256 for a confidential client", func(v url.Values) { v.Set("jwt_alg", "HS256") }, nil},
		{"HS256 for a public client", func(v url.Values) {
			v.Set("client_type", models.ClientPublic)
			v.Set("jwt_alg", "HS256")
		}, []string{"jwt_alg"}},
		{"website and terms URLs", func(v url.Values) {
			v.Set("website_url", "https://rp.example/")
			v.Set("terms_url", "http://rp.example/terms")
		}, nil},
		{"a website URL without a host", func(v url.Values) { v.Set("website_url", "https:///x") }, []string{"website_url"}},
		{"a javascript: terms URL", func(v url.Values) { v.Set("terms_url", "javascript:alert(1)") }, []string{"terms_url"}},
		{"a contact email", func(v url.Values) { v.Set("contact_email", "ops@rp.example") }, nil},
		{"a bad contact email", func(v url.Values) { v.Set("contact_email", "ops at rp") }, []string{"contact_email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := validClientForm()
			tt.edit(form)
			_, errs := (&Admin{}).clientForm(formContext(form), nil)
			if got := errorFields(errs); !slices.Equal(got, tt.want) {
				t.Errorf("errors on %q (%v), want on %q", got, errs, tt.want)
			}
		})
	}
}

// TestClientFormValues: what the form reads is normalised before it is
// shown again or saved: the name and URLs trimmed, scopes split once,
// checkboxes on only when sent.
func TestClientFormValues(t *testing.T) {
	t.Parallel()
	form := validClientForm()
	form.Set("name", "  Test RP  ")
	form.Set("scopes", " openid  profile openid ")
	form.Set("website_url", " https://rp.example/ ")
	form.Del("require_consent")
	form.Set("reuse_consent", "on")
	f, errs := (&Admin{}).clientForm(formContext(form), nil)
	if len(errs) != 0 {
		t.Fatalf("errors %v, want none", errs)
	}
	if f.Name != "Test RP" || f.Scopes != "openid profile" || f.WebsiteURL != "https://rp.example/" || f.RequireConsent || !f.ReuseConsent {
		t.Errorf("form values %+v, want the name and URL trimmed, scopes %q, require_consent off, reuse_consent on", f, "openid profile")
	}
	if !slices.Equal(f.GrantTypes, []string{"authorization_code", "refresh_token"}) || !slices.Equal(f.ResponseTypes, []string{"code"}) {
		t.Errorf("grant types %q, response types %q; want them as sent", f.GrantTypes, f.ResponseTypes)
	}
}

// TestClientFormKeepsType: on an edit the client's type is the stored
// one, whatever the form says, so the type rules apply to what is saved.
func TestClientFormKeepsType(t *testing.T) {
	t.Parallel()
	existing := &models.Client{ClientType: models.ClientPublic, JWTAlg: "RS256"}
	form := validClientForm()
	form.Set("client_type", models.ClientConfidential)
	form.Set("jwt_alg", "HS256")
	f, errs := (&Admin{}).clientForm(formContext(form), existing)
	if f.ClientType != models.ClientPublic {
		t.Errorf("client type %q on an edit, want the stored %q", f.ClientType, models.ClientPublic)
	}
	if _, ok := errs["jwt_alg"]; !ok {
		t.Errorf("errors %v, want jwt_alg refused for the stored public client", errs)
	}
	if _, ok := errs["client_type"]; ok {
		t.Errorf("errors %v: an edit does not check the posted client type", errs)
	}

	// HS256 needs the secret kept sealed; a client made before that must
	// rotate first.
	old := &models.Client{ClientType: models.ClientConfidential, JWTAlg: "RS256"}
	form = validClientForm()
	form.Set("jwt_alg", "HS256")
	if _, errs := (&Admin{}).clientForm(formContext(form), old); errs["jwt_alg"] == "" {
		t.Errorf("HS256 for a client without a sealed secret: errors %v, want jwt_alg", errs)
	}
	old.SecretSealed = "sealed"
	if _, errs := (&Admin{}).clientForm(formContext(form), old); len(errs) != 0 {
		t.Errorf("HS256 for a client with a sealed secret: errors %v, want none", errs)
	}
}

func TestURIList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{" \n\r\n ", nil, false},
		{"https://rp.example/cb", []string{"https://rp.example/cb"}, false},
		{"  https://rp.example/cb  \r\nhttps://rp.example/b\nhttps://rp.example/cb", []string{"https://rp.example/cb", "https://rp.example/b"}, false},
		{"https://rp.example/cb\nrelative/cb", nil, true},
		{"https://rp.example/cb#frag", nil, true},
	}
	for _, tt := range tests {
		got, msg := uriList(tt.text)
		if !slices.Equal(got, tt.want) || (msg != "") != tt.wantErr {
			t.Errorf("uriList(%q) = %q, %q; want %q, error %v", tt.text, got, msg, tt.want, tt.wantErr)
		}
		if tt.wantErr && !strings.Contains(msg, `"`) {
			t.Errorf("uriList(%q) message %q does not quote the bad line", tt.text, msg)
		}
	}
}

func TestWebURL(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"https://rp.example/":         true,
		"http://rp.example/terms?x=1": true,
		"HTTPS://rp.example/":         true, // schemes are case-insensitive (RFC 3986 §3.1)
		"ftp://rp.example/":           false,
		"https://":                    false,
		"//rp.example/":               false,
		"rp.example":                  false,
		"javascript:alert(1)":         false,
		"https://rp example/":         false,
		"":                            false,
	} {
		if got := webURL(s); got != want {
			t.Errorf("webURL(%q) = %v, want %v", s, got, want)
		}
	}
}
