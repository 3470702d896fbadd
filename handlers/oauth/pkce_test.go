package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestValidPKCEValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
		want  bool
	}{
		{"empty", "", false},
		{"42 characters, one short of RFC 7636 §4.1", strings.Repeat("a", 42), false},
		{"43 characters", strings.Repeat("a", 43), true},
		{"128 characters", strings.Repeat("a", 128), true},
		{"129 characters", strings.Repeat("a", 129), false},
		{"every unreserved character", "ABCXYZabcxyz0189-._~" + strings.Repeat("a", 23), true},
		{"an S256 challenge", s256Challenge("verifier-0123456789-abcdefghijklmnopqrstuvwxyz"), true},
		{"a space", strings.Repeat("a", 42) + " ", false},
		{"a plus (base64, not base64url)", strings.Repeat("a", 42) + "+", false},
		{"a slash", strings.Repeat("a", 42) + "/", false},
		{"padding", strings.Repeat("a", 42) + "=", false},
		{"a percent", strings.Repeat("a", 42) + "%", false},
		{"non-ASCII", strings.Repeat("a", 42) + "é", false},
		{"a NUL", strings.Repeat("a", 42) + "\x00", false},
	}
	for _, tt := range tests {
		if got := ValidPKCEValue(tt.value); got != tt.want {
			t.Errorf("%s: ValidPKCEValue(%q) = %v, want %v", tt.name, tt.value, got, tt.want)
		}
	}
}

// s256Challenge is the RFC 7636 §4.2 S256 challenge of verifier, computed here
// independently of VerifyPKCE.
func s256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestVerifyPKCE(t *testing.T) {
	t.Parallel()
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if got := s256Challenge(verifier); got != challenge {
		t.Fatalf("s256Challenge of the RFC 7636 Appendix B verifier = %q, want %q", got, challenge)
	}
	other := strings.Repeat("b", 43)
	tests := []struct {
		name                        string
		method, challenge, verifier string
		want                        bool
	}{
		{"RFC 7636 Appendix B", PKCES256, challenge, verifier, true},
		{"another verifier", PKCES256, challenge, other, false},
		{"the challenge sent as the verifier", PKCES256, challenge, challenge, false},
		{"plain is not served, even when it would match", "plain", verifier, verifier, false},
		{"no method", "", challenge, verifier, false},
		{"method case matters", "s256", challenge, verifier, false},
		{"no verifier", PKCES256, challenge, "", false},
		{"no stored challenge", PKCES256, "", verifier, false},
		{"a verifier too short, whose hash is stored", PKCES256, s256Challenge("short"), "short", false},
		{"a verifier with a bad character, whose hash is stored", PKCES256, s256Challenge(other[:42] + "+"), other[:42] + "+", false},
		{"the challenge with padding", PKCES256, challenge + "=", verifier, false},
	}
	for _, tt := range tests {
		if got := VerifyPKCE(tt.method, tt.challenge, tt.verifier); got != tt.want {
			t.Errorf("%s: VerifyPKCE(%q, %q, %q) = %v, want %v", tt.name, tt.method, tt.challenge, tt.verifier, got, tt.want)
		}
	}
}
