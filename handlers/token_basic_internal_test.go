package handlers

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// TestParseBasic: client_secret_basic carries the client_id and secret
// form-urlencoded inside HTTP Basic (RFC 6749 §2.3.1), so ':' '+' '%' and
// spaces survive only when the client encodes them. The token endpoint's
// tests (TestTokenClientCredentialEncoding in the root package) check the
// wiring; this table checks the parsing.
func TestParseBasic(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	basic := func(id, secret string) string {
		return "Basic " + b64(url.QueryEscape(id)+":"+url.QueryEscape(secret))
	}
	const id, secret = "rp:1+x%y&z=", "se:cr+et/%2B=&? x"
	tests := []struct {
		name       string
		header     string
		wantID     string
		wantSecret string
		wantOK     bool
	}{
		{"plain id and secret", "Basic " + b64("rp1:s3cret"), "rp1", "s3cret", true},
		{"form-urlencoded id and secret", basic(id, secret), id, secret, true},
		{"scheme is case-insensitive (RFC 7617 §2)", "bAsIc " + b64("rp1:s3cret"), "rp1", "s3cret", true},
		{"spaces around the credentials", "Basic   " + b64("rp1:s3cret") + "  ", "rp1", "s3cret", true},
		{"empty secret", "Basic " + b64("rp1:"), "rp1", "", true},
		{"a colon in the secret splits at the first one", "Basic " + b64("rp1:a:b"), "rp1", "a:b", true},
		{"percent-encoded characters", "Basic " + b64("rp%201:se%3Acr%2Bet"), "rp 1", "se:cr+et", true},
		{"a raw '+' decodes to a space", "Basic " + b64("rp1:a+b"), "rp1", "a b", true},
		{"a raw form-urlencoded id with ':' splits early and fails to decode", "Basic " + b64(id+":"+secret), "", "", false},
		{"empty header", "", "", "", false},
		{"scheme only", "Basic", "", "", false},
		{"scheme and space only", "Basic ", "", "", false},
		{"another scheme", "Bearer " + b64("rp1:s3cret"), "", "", false},
		{"no space after the scheme", "Basic" + b64("rp1:s3cret"), "", "", false},
		{"malformed base64", "Basic not*base64!", "", "", false},
		{"base64url instead of base64", "Basic " + strings.NewReplacer("+", "-", "/", "_").Replace(b64("rp?>:s3cret??")), "", "", false},
		{"base64 without padding", "Basic " + strings.TrimRight(b64("rp1:s3cret"), "="), "", "", false},
		{"missing colon", "Basic " + b64("rp1s3cret"), "", "", false},
		{"empty id", "Basic " + b64(":s3cret"), "", "", false},
		{"bad percent escape in the id", "Basic " + b64("rp%zz:s3cret"), "", "", false},
		{"bad percent escape in the secret", "Basic " + b64("rp1:s3%"), "", "", false},
		{"an encoded NUL", "Basic " + b64("rp1:s%00cret"), "", "", false},
		{"an encoded control character in the id", "Basic " + b64("rp%0B1:s3cret"), "", "", false},
		{"invalid UTF-8 in the secret", "Basic " + b64("rp1:%FF"), "", "", false},
		{"invalid UTF-8 in the id", "Basic " + b64("rp\xff:s3cret"), "", "", false},
	}
	for _, tt := range tests {
		id, secret, ok := parseBasic(tt.header)
		// On failure the values are not used, so only ok is checked.
		if ok != tt.wantOK || ok && (id != tt.wantID || secret != tt.wantSecret) {
			t.Errorf("%s: parseBasic(%q) = %q, %q, %v; want %q, %q, %v", tt.name, tt.header, id, secret, ok, tt.wantID, tt.wantSecret, tt.wantOK)
		}
	}
}
