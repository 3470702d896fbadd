package jose

import (
	"testing"
	"time"
)

// BenchmarkSign measures signing an ID token with each algorithm oidcd
// can sign with; a new algorithm is a new row.
func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{RS256, ES256} {
		b.Run(alg, func(b *testing.B) {
			key, err := NewKey(alg)
			if err != nil {
				b.Fatal(err)
			}
			var ks Keys
			now := time.Now().Unix()
			claims := map[string]any{
				"iss": "https://id.example.com", "sub": "5MFD3BBXQVBYNG4BXO2PYKCYNE", "aud": "QX6HZJ4TN3D2CBSEXZLMGFRNQA",
				"exp": now + 600, "iat": now, "auth_time": now - 60, "nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
			}
			if _, err := ks.Sign(key, claims); err != nil { // parse the key outside the timer
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ks.Sign(key, claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
