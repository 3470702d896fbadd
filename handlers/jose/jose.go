// Package jose is the only place oidcd touches JOSE: it makes signing keys,
// signs ID tokens, and publishes the public JWK Set. It wraps
// github.com/lestrrat-go/jwx/v2 so that nothing else imports it.
package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sync"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Algorithms oidcd can sign with.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// KeyMaterial is a stored private key as the database holds it.
type KeyMaterial struct {
	KID string
	Alg string
	PEM string
}

// NewKey makes a private key for alg: RSA-2048 for RS256, P-256 for ES256.
// The kid is the key's RFC 7638 thumbprint, so it is stable and unique.
func NewKey(alg string) (KeyMaterial, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return KeyMaterial{}, fmt.Errorf("jose: unsupported algorithm %q", alg)
	}
	if err != nil {
		return KeyMaterial{}, fmt.Errorf("jose: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyMaterial{}, fmt.Errorf("jose: encode key: %w", err)
	}
	k, err := jwk.FromRaw(priv)
	if err != nil {
		return KeyMaterial{}, fmt.Errorf("jose: jwk from key: %w", err)
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return KeyMaterial{}, fmt.Errorf("jose: thumbprint: %w", err)
	}
	return KeyMaterial{
		KID: base64.RawURLEncoding.EncodeToString(tp),
		Alg: alg,
		PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}, nil
}

// Keys parses stored keys once and signs with them. The cache is keyed by
// kid; a kid's key material never changes, so instances sharing a database
// cannot disagree about it.
type Keys struct {
	parsed sync.Map // kid -> jwk.Key (private)
}

func (ks *Keys) private(m KeyMaterial) (jwk.Key, error) {
	if k, ok := ks.parsed.Load(m.KID); ok {
		return k.(jwk.Key), nil
	}
	k, err := jwk.ParseKey([]byte(m.PEM), jwk.WithPEM(true))
	if err != nil {
		return nil, fmt.Errorf("jose: parse key %s: %w", m.KID, err)
	}
	alg, err := signatureAlg(m.Alg)
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]any{jwk.KeyIDKey: m.KID, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: "sig"} {
		if err := k.Set(name, v); err != nil {
			return nil, fmt.Errorf("jose: set %s: %w", name, err)
		}
	}
	ks.parsed.Store(m.KID, k)
	return k, nil
}

func signatureAlg(alg string) (jwa.SignatureAlgorithm, error) {
	switch alg {
	case RS256:
		return jwa.RS256, nil
	case ES256:
		return jwa.ES256, nil
	}
	return "", fmt.Errorf("jose: unsupported algorithm %q", alg)
}

// Sign serialises claims as a compact JWS signed by key, with typ JWT and
// the key's kid in the protected header.
func (ks *Keys) Sign(key KeyMaterial, claims map[string]any) (string, error) {
	k, err := ks.private(key)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jose: encode claims: %w", err)
	}
	hdrs := jws.NewHeaders()
	if err := hdrs.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("jose: set typ: %w", err)
	}
	alg, _ := signatureAlg(key.Alg)
	signed, err := jws.Sign(payload, jws.WithKey(alg, k, jws.WithProtectedHeaders(hdrs)))
	if err != nil {
		return "", fmt.Errorf("jose: sign: %w", err)
	}
	return string(signed), nil
}

// PublicJWKS renders the public halves of keys as a JWK Set (RFC 7517 §5).
func (ks *Keys) PublicJWKS(keys []KeyMaterial) ([]byte, error) {
	set := jwk.NewSet()
	for _, m := range keys {
		pub, err := ks.PublicJWK(m)
		if err != nil {
			return nil, err
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("jose: add key: %w", err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jose: encode jwks: %w", err)
	}
	return b, nil
}

// PublicJWK returns the public half of a stored key, with kid, alg and use.
func (ks *Keys) PublicJWK(m KeyMaterial) (jwk.Key, error) {
	k, err := ks.private(m)
	if err != nil {
		return nil, err
	}
	pub, err := jwk.PublicKeyOf(k)
	if err != nil {
		return nil, fmt.Errorf("jose: public key of %s: %w", m.KID, err)
	}
	return pub, nil
}
