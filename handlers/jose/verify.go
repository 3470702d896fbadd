package jose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// VerifyOwn checks that token is a compact JWS signed by one of the keys
// this server publishes (its kid names the key; a retired key still
// published verifies) or, when it says HS256 and secret is not empty, by
// secret (OpenID Connect Core §10.1), and returns its claims. It checks
// the signature only: the caller checks iss, aud and the rest.
func (c *Cache) VerifyOwn(ctx context.Context, token, secret string) (map[string]any, error) {
	msg, err := jws.Parse([]byte(token))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, errors.New("jose: not a compact JWS")
	}
	var payload []byte
	if msg.Signatures()[0].ProtectedHeaders().Algorithm() == jwa.HS256 {
		if secret == "" {
			return nil, errors.New("jose: HS256 token with no secret to check it")
		}
		payload, err = jws.Verify([]byte(token), jws.WithKey(jwa.HS256, []byte(secret)))
	} else {
		raw, jerr := c.JWKS(ctx)
		if jerr != nil {
			return nil, jerr
		}
		set, perr := jwk.Parse(raw)
		if perr != nil {
			return nil, fmt.Errorf("jose: parse own JWK set: %w", perr)
		}
		payload, err = jws.Verify([]byte(token), jws.WithKeySet(set))
	}
	if err != nil {
		return nil, fmt.Errorf("jose: verify: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("jose: claims: %w", err)
	}
	return claims, nil
}
