package models_test

import (
	"errors"
	"strings"
	"testing"

	"oidcd/models"
)

func TestCheckRedirectURI(t *testing.T) {
	t.Parallel()
	long := "https://rp.example/" + strings.Repeat("a", models.MaxRedirectURILength-len("https://rp.example/"))
	tests := []struct {
		uri        string
		wantReason string // "" when the URI is accepted
	}{
		{"https://rp.example/cb", ""},
		{"http://127.0.0.1:9000/cb", ""},
		{"http://[::1]/cb", ""},
		{"http://localhost/cb?a=1&b=2", ""},
		{"https://rp.example", ""},
		{"com.example.app:/oauth2redirect/example-provider", ""}, // RFC 8252 §7.1
		{"com.example.app:/oauth2redirect", ""},
		{"com.example.app:oauth2redirect", ""},
		{"myapp://callback", ""},
		{long, ""},

		{long + "a", "must be at most 2000 characters"},
		{"", "must be absolute and have no fragment"},
		{"/cb", "must be absolute and have no fragment"},
		{"//rp.example/cb", "must be absolute and have no fragment"},
		{"rp.example/cb", "must be absolute and have no fragment"},
		{"not a uri", "must be absolute and have no fragment"},
		{"https://rp.example/cb#frag", "must be absolute and have no fragment"},
		{"https://rp.example/cb#", "must be absolute and have no fragment"},
		{"https://rp.example/cb\n", "must be absolute and have no fragment"},
		{"javascript:alert(1)", "must not use the javascript: scheme"},
		{"JavaScript:alert(1)", "must not use the javascript: scheme"},
		{"javascript://rp.example/%0aalert(1)", "must not use the javascript: scheme"},
		{"data:text/html,<script>alert(1)</script>", "must not use the data: scheme"},
		{"vbscript:msgbox(1)", "must not use the vbscript: scheme"},
		{"file:///etc/passwd", "must not use the file: scheme"},
		{"http:foo", "must name a host (http://host/path)"},
		{"https:/cb", "must name a host (https://host/path)"},
		{"http:///cb", "must name a host (http://host/path)"},
		{"http://:80/cb", "must name a host (http://host/path)"},
		{"https://user:pw@rp.example/cb", "must not contain a user name or password"},
		{"https://evil.example@rp.example/cb", "must not contain a user name or password"},
		{"com.example.app:", "must have a path after the scheme (such as com.example.app:/callback)"},
		{"com.example.app:/", "must have a path after the scheme (such as com.example.app:/callback)"},
		{"myapp://", "must have a path after the scheme (such as myapp:/callback)"},
	}
	for _, tt := range tests {
		err := models.CheckRedirectURI(tt.uri)
		if tt.wantReason == "" {
			if err != nil {
				t.Errorf("CheckRedirectURI(%q) = %v, want nil", tt.uri, err)
			}
			continue
		}
		var bad *models.RedirectURIError
		if !errors.As(err, &bad) {
			t.Errorf("CheckRedirectURI(%q) = %v, want a *RedirectURIError", tt.uri, err)
			continue
		}
		if bad.URI != tt.uri || bad.Reason != tt.wantReason {
			t.Errorf("CheckRedirectURI(%q): got %q, %q; want %q, %q", tt.uri, bad.URI, bad.Reason, tt.uri, tt.wantReason)
		}
	}
}

func TestCheckBackchannelLogoutURI(t *testing.T) {
	for _, tt := range []struct {
		uri string
		ok  bool
	}{
		{"https://rp.example/backchannel", true},
		{"http://127.0.0.1:8080/bc", true},
		{"http://10.0.0.7/logout?x=1", true},
		{"https://rp.example/bc#frag", false},
		{"https://rp.example/bc#", false},
		{"/relative", false},
		{"ftp://rp.example/bc", false},
		{"com.example.app:/bc", false},
		{"https://user:pw@rp.example/bc", false},
		{"https:///nohost", false},
		{"https://rp.example/" + strings.Repeat("a", 2000), false},
	} {
		err := models.CheckBackchannelLogoutURI(tt.uri)
		if (err == nil) != tt.ok {
			t.Errorf("CheckBackchannelLogoutURI(%.40q) = %v, want ok %v", tt.uri, err, tt.ok)
		}
	}
}
