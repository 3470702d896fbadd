package main

import (
	"context"
	"testing"
	"time"

	"oidcd/handlers"
	"oidcd/handlers/jose"
	"oidcd/models"
)

// BenchmarkIDTokenSigning signs an ID token for a client of each
// algorithm as the token endpoint does: the key from the server's key
// cache over a real database (HS256: the client's kept secret, opened),
// then the signature.
func BenchmarkIDTokenSigning(b *testing.B) {
	env := newTestEnv(b)
	keys := handlers.NewKeyCache(env.store, env.cfg, time.Now)
	ctx := context.Background()
	claims := map[string]any{
		"iss": env.issuer, "sub": models.NewID(), "aud": models.NewID(), "iat": time.Now().Unix(),
		"exp": time.Now().Add(10 * time.Minute).Unix(), "auth_time": time.Now().Unix(), "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
	}
	for _, alg := range jose.Algorithms {
		b.Run(alg, func(b *testing.B) {
			client, _ := env.createClient(models.ClientConfidential, []string{"http://127.0.0.1/cb"}, func(c *models.Client) {
				c.JWTAlg = alg
				c.SecretSealed, _ = env.store.SealClientSecret(c.ClientID, "a client secret of 43 characters, as issued")
			})
			sign := func() (string, error) {
				if alg == jose.HS256 {
					secret, err := env.store.ClientSecret(client)
					if err != nil {
						return "", err
					}
					return jose.SignHS256(secret, claims)
				}
				k, err := keys.Signer(ctx, alg)
				if err != nil {
					return "", err
				}
				return k.Sign(claims)
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
