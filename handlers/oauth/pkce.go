package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCES256 is the one PKCE method served (RFC 7636 §4.2). "plain" is not:
// it protects nothing once the authorization request leaks, and RFC 9700
// §2.1.1 says to use S256.
const PKCES256 = "S256"

// ValidPKCEValue reports whether s is 43 to 128 characters of the unreserved
// set, as RFC 7636 §4.1 requires of a verifier (an S256 challenge is 43
// base64url characters, so it passes too).
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
// constant time (RFC 7636 §4.6). Any method but S256 fails, also for a
// code stored before plain was refused.
func VerifyPKCE(method, challenge, verifier string) bool {
	if method != PKCES256 || !ValidPKCEValue(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	derived := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(derived), []byte(challenge)) == 1
}
