package oauth

import (
	"crypto/rand"
	"crypto/sha256"
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

// HalfHash is the at_hash / c_hash value for a SHA-256 based algorithm:
// the base64url of the left half of the hash (OpenID Connect Core §3.1.3.6).
func HalfHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
