package handlers

import "testing"

// TestFormActionSource: the CSP source expression of a form_post page
// matches the redirect URI and no other place to post to.
func TestFormActionSource(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"https://rp.example/cb", "https://rp.example/cb"},
		{"http://127.0.0.1:8080/cb?x=1&y=2", "http://127.0.0.1:8080/cb"},
		{"https://rp.example", "https://rp.example"},
		{"https://rp.example/a;b", "https://rp.example"},
		{"https://rp.example/a,b", "https://rp.example"},
		{"https://rp.example/caf%C3%A9", "https://rp.example/caf%C3%A9"},
		{"com.example.app:/oauth2redirect", "com.example.app:"},
		{"not a uri", "'none'"},
	}
	for _, tt := range tests {
		if got := formActionSource(tt.uri); got != tt.want {
			t.Errorf("formActionSource(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}
