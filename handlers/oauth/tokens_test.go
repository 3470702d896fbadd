package oauth

import (
	"slices"
	"testing"
)

// TestHalfHash: at_hash and c_hash follow the ID token's alg (OpenID
// Connect Core §3.3.2.11). The code is Core Appendix A.4's, with its
// c_hash; the SHA-512 value was computed apart, with Python's hashlib.
func TestHalfHash(t *testing.T) {
	const code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
	tests := []struct{ alg, want string }{
		{"RS256", "LDktKdoQak3Pk0cnXxCltA"},
		{"ES256", "LDktKdoQak3Pk0cnXxCltA"},
		{"HS256", "LDktKdoQak3Pk0cnXxCltA"},
		{"EdDSA", "E9z1C-c0Az4eTEzE0Nm3OQ3BS2BhMgxuP7x5JAQj1_4"},
	}
	for _, tt := range tests {
		if got := HalfHash(tt.alg, code); got != tt.want {
			t.Errorf("HalfHash(%s) = %q, want %q", tt.alg, got, tt.want)
		}
	}
}

// TestCheckResponseTypes: the admin form's and the command line's rule.
func TestCheckResponseTypes(t *testing.T) {
	got, err := CheckResponseTypes([]string{"token id_token", "code", "id_token  code"})
	if want := []string{"id_token token", "code", "code id_token"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	for _, bad := range [][]string{nil, {"token"}, {"code", "code"}, {"code id_token", "id_token code"}, {"code code"}, {"none"}} {
		if got, err := CheckResponseTypes(bad); err == nil {
			t.Errorf("CheckResponseTypes(%q) = %q, want an error", bad, got)
		}
	}
}
