package jose

import (
	"encoding/json"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// benchClaims is a typical ID token's claims.
var benchClaims = map[string]any{
	"iss": "https://op.example", "sub": "01HZY3K6V4Q7R8S9T0U1V2W3X4", "aud": "01HZY3K6V4Q7R8S9T0U1V2W3X5",
	"azp": "01HZY3K6V4Q7R8S9T0U1V2W3X5", "iat": 1764600000, "exp": 1764600600, "auth_time": 1764599990,
	"at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q", "nonce": "n-0S6_WzA2Mj",
}

// BenchmarkSign signs an ID token with each algorithm, with keys parsed
// once as the key cache holds them.
func BenchmarkSign(b *testing.B) {
	for _, alg := range Algorithms {
		b.Run(alg, func(b *testing.B) {
			sign := func() (string, error) { return SignHS256("a client secret of 43 characters, as issued", benchClaims) }
			if alg != HS256 {
				m, err := NewKey(alg)
				if err != nil {
					b.Fatal(err)
				}
				k, err := Parse(m)
				if err != nil {
					b.Fatal(err)
				}
				sign = func() (string, error) { return k.Sign(benchClaims) }
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sign(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignRS256JWKKey is how RS256 was signed before: the parsed key
// handed to jwx as a jwk.Key, which jwx turns back into an rsa.PrivateKey,
// precomputing its CRT values again, on every signature.
func BenchmarkSignRS256JWKKey(b *testing.B) {
	m, err := NewKey(RS256)
	if err != nil {
		b.Fatal(err)
	}
	k, err := jwk.ParseKey([]byte(m.PEM), jwk.WithPEM(true))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		payload, _ := json.Marshal(benchClaims)
		hdrs := jws.NewHeaders()
		_ = hdrs.Set(jws.TypeKey, "JWT")
		_ = hdrs.Set(jws.KeyIDKey, m.KID)
		if _, err := jws.Sign(payload, jws.WithKey(jwa.RS256, k, jws.WithProtectedHeaders(hdrs))); err != nil {
			b.Fatal(err)
		}
	}
}
