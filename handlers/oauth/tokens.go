package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
)

// NewToken returns a random 256-bit value, base64url-encoded, for codes,
// access and refresh tokens and client secrets (RFC 6749 §10.10).
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how codes, tokens and secrets are stored: hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// HalfHash is the at_hash or c_hash of value in an ID token signed with
// alg: the base64url of the left half of the hash that alg's signature
// uses (OpenID Connect Core §3.1.3.6, §3.3.2.11). SHA-256 for RS256,
// ES256 and HS256; EdDSA, which names no hash, uses SHA-512 for Ed25519,
// as the OpenID Foundation's clarification and go-oidc have it.
func HalfHash(alg, value string) string {
	switch alg {
	case "RS384", "ES384", "PS384", "HS384":
		sum := sha512.Sum384([]byte(value))
		return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	case "RS512", "ES512", "PS512", "HS512", "EdDSA":
		sum := sha512.Sum512([]byte(value))
		return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	}
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
