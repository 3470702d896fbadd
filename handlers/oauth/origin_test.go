package oauth

import "testing"

func TestOrigin(t *testing.T) {
	tests := []struct {
		uri, want string
		ok        bool
	}{
		{"http://127.0.0.1:5173/cb", "http://127.0.0.1:5173", true},
		{"https://App.Example.org/callback?x=1", "https://app.example.org", true},
		{"https://app.example.org:443/cb", "https://app.example.org", true},
		{"http://app.example.org:80/cb", "http://app.example.org", true},
		{"http://app.example.org:443/cb", "http://app.example.org:443", true},
		{"HTTP://[::1]:8080/cb", "http://[::1]:8080", true},
		{"com.example.app:/oauth2redirect", "", false},
		{"com.example.app://callback", "", false},
		{"urn:ietf:wg:oauth:2.0:oob", "", false},
		{"/relative", "", false},
		{"http://%zz/", "", false},
	}
	for _, tt := range tests {
		got, ok := Origin(tt.uri)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Origin(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHasOrigin(t *testing.T) {
	uris := []string{"http://127.0.0.1:5173/cb", "com.example.app:/cb"}
	tests := []struct {
		origin string
		want   bool
	}{
		{"http://127.0.0.1:5173", true},
		{"http://127.0.0.1:5174", false},
		{"http://127.0.0.1", false},
		{"https://127.0.0.1:5173", false},
		{"http://127.0.0.1:5173/", false},
		{"null", false},
		{"", false},
		{"com.example.app:", false},
	}
	for _, tt := range tests {
		if got := HasOrigin(uris, tt.origin); got != tt.want {
			t.Errorf("HasOrigin(%q) = %v, want %v", tt.origin, got, tt.want)
		}
	}
}
