package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE methods (RFC 7636 §4.2).
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// ValidPKCEValue reports whether s is 43 to 128 characters of the unreserved
// set, as RFC 7636 §4.1 requires of a verifier (and so of a plain challenge;
// an S256 challenge is 43 base64url characters).
func ValidPKCEValue(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// VerifyPKCE checks a code_verifier against the stored challenge in
// constant time (RFC 7636 §4.6).
func VerifyPKCE(method, challenge, verifier string) bool {
	if !ValidPKCEValue(verifier) {
		return false
	}
	var derived string
	switch method {
	case PKCES256:
		sum := sha256.Sum256([]byte(verifier))
		derived = base64.RawURLEncoding.EncodeToString(sum[:])
	case PKCEPlain:
		derived = verifier
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(derived), []byte(challenge)) == 1
}
