package jose

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// TestSignMatchesJWS: a token verifies with jwx, and its protected header
// is byte for byte the one jws.Sign writes for the same key, so relying
// parties see the same tokens as before Sign stopped calling jws.Sign.
func TestSignMatchesJWS(t *testing.T) {
	t.Parallel()
	const secret = "a client secret of 43 characters, as issued"
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			var token, kid string
			var err error
			var verifyKey, signKey any
			if alg == HS256 {
				token, err = SignHS256(secret, benchClaims)
				verifyKey, signKey = []byte(secret), []byte(secret)
			} else {
				m, kerr := NewKey(alg)
				if kerr != nil {
					t.Fatal(kerr)
				}
				k, kerr := Parse(m)
				if kerr != nil {
					t.Fatal(kerr)
				}
				token, err = k.Sign(benchClaims)
				verifyKey, signKey, kid = k.PublicJWK(), k.priv, k.KID
			}
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.SignatureAlgorithm(alg), verifyKey))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			want := jsonOf(t, benchClaims)
			if string(payload) != want {
				t.Errorf("payload = %s, want %s", payload, want)
			}
			hdrs := jws.NewHeaders()
			_ = hdrs.Set(jws.TypeKey, "JWT")
			if kid != "" {
				_ = hdrs.Set(jws.KeyIDKey, kid)
			}
			ref, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), signKey, jws.WithProtectedHeaders(hdrs)))
			if err != nil {
				t.Fatalf("jws.Sign: %v", err)
			}
			got, wantHdr := strings.Split(token, ".")[0], strings.Split(string(ref), ".")[0]
			if got != wantHdr {
				t.Errorf("protected header = %s, want %s", got, wantHdr)
			}
			if alg == HS256 && token != string(ref) {
				t.Errorf("HS256 token = %s, want %s", token, ref)
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
