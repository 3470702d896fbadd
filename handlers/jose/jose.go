// Package jose is the only place oidcd touches JOSE: it makes signing keys,
// signs ID tokens, and publishes the public JWK Set. It wraps
// github.com/lestrrat-go/jwx/v2 so that nothing else imports it.
package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Algorithms oidcd can sign ID tokens with (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
	HS256 = "HS256"
)

// Algorithms is every ID token signing algorithm served, RS256 first (the
// default, OpenID Connect Core §15.1). Discovery, the CLI and the admin form
// all offer this one list.
var Algorithms = []string{RS256, ES256, EdDSA, HS256}

// KeyAlgorithms are the algorithms signed with a server key, one key of
// each created on first start; HS256 signs with the client's secret.
var KeyAlgorithms = []string{RS256, ES256, EdDSA}

// CheckClientAlg is the one rule on a client's signing algorithm, used by
// the admin form and `oidcd createclient`: it must be served, and a public
// client cannot use HS256, whose key is the client secret it does not have
// (OpenID Connect Core §10.1).
func CheckClientAlg(alg string, public bool) error {
	if !slices.Contains(Algorithms, alg) {
		return fmt.Errorf("signing algorithm %q is not served; use one of %v", alg, Algorithms)
	}
	if alg == HS256 && public {
		return errors.New("a public client has no secret, so it cannot use HS256")
	}
	return nil
}

// KeyMaterial is a stored private key as the database holds it.
type KeyMaterial struct {
	KID string
	Alg string
	PEM string
	// ActivatesAt is when the key begins to sign; before, it is only
	// published. RetiredAt, when not zero, is when it stops signing.
	ActivatesAt time.Time
	RetiredAt   time.Time
}

// SignsAt reports whether m may sign at now.
func (m KeyMaterial) SignsAt(now time.Time) bool {
	return !now.Before(m.ActivatesAt) && (m.RetiredAt.IsZero() || now.Before(m.RetiredAt))
}

// NewKey makes a private key for alg: RSA-2048 for RS256, P-256 for ES256,
// Ed25519 for EdDSA. The kid is the key's RFC 7638 thumbprint, so it is
// stable and unique.
func NewKey(alg string) (KeyMaterial, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return KeyMaterial{}, fmt.Errorf("jose: unsupported key algorithm %q", alg)
	}
	if err != nil {
		return KeyMaterial{}, fmt.Errorf("jose: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyMaterial{}, fmt.Errorf("jose: encode key: %w", err)
	}
	k, err := jwk.FromRaw(priv.Public())
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

// Key is a parsed signing key: parsed once, then used for every signature.
type Key struct {
	KID string
	Alg string
	// priv is the raw Go key handed to jwx. Handing it a jwk.Key instead
	// makes jwx rebuild an rsa.PrivateKey, and redo its precomputation, on
	// every signature (see BenchmarkSignRS256JWKKey).
	priv crypto.Signer
	pub  jwk.Key // public half with kid, alg and use=sig
	sig  jwa.SignatureAlgorithm
	// signer is jwx's signer for sig, and header the protected header
	// already encoded: both the same for every token the key signs.
	signer jws.Signer
	header string
}

// Parse reads a stored key. An RSA key has its CRT values precomputed here,
// once.
func Parse(m KeyMaterial) (*Key, error) {
	block, _ := pem.Decode([]byte(m.PEM))
	if block == nil {
		return nil, fmt.Errorf("jose: key %s is not PEM", m.KID)
	}
	var raw any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		raw, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		raw, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		raw, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("jose: parse key %s: %w", m.KID, err)
	}
	var priv crypto.Signer
	var sig jwa.SignatureAlgorithm
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
		priv, sig = k, jwa.RS256
	case *ecdsa.PrivateKey:
		priv, sig = k, jwa.ES256
	case ed25519.PrivateKey:
		priv, sig = k, jwa.EdDSA
	default:
		return nil, fmt.Errorf("jose: key %s: unsupported key type %T", m.KID, raw)
	}
	if sig.String() != m.Alg {
		return nil, fmt.Errorf("jose: key %s is stored as %s but is a %s key", m.KID, m.Alg, sig)
	}
	pub, err := jwk.FromRaw(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("jose: public key of %s: %w", m.KID, err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: m.KID, jwk.AlgorithmKey: sig, jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(name, v); err != nil {
			return nil, fmt.Errorf("jose: set %s: %w", name, err)
		}
	}
	signer, err := jws.NewSigner(sig)
	if err != nil {
		return nil, fmt.Errorf("jose: signer for %s: %w", m.KID, err)
	}
	header, err := protectedHeader(sig, m.KID)
	if err != nil {
		return nil, err
	}
	return &Key{KID: m.KID, Alg: m.Alg, priv: priv, pub: pub, sig: sig, signer: signer, header: header}, nil
}

// PublicJWK is the public half of the key, with kid, alg and use.
func (k *Key) PublicJWK() jwk.Key { return k.pub }

// Sign serialises claims as a compact JWS signed by the key, with typ JWT
// and the key's kid in the protected header.
func (k *Key) Sign(claims map[string]any) (string, error) {
	return sign(claims, k.signer, k.header, k.priv)
}

// hs256 signs every HS256 token; its header has no kid.
var hs256 = sync.OnceValues(func() (hs256Signer, error) {
	signer, err := jws.NewSigner(jwa.HS256)
	if err != nil {
		return hs256Signer{}, fmt.Errorf("jose: HS256 signer: %w", err)
	}
	header, err := protectedHeader(jwa.HS256, "")
	return hs256Signer{signer, header}, err
})

type hs256Signer struct {
	signer jws.Signer
	header string
}

// SignHS256 signs claims with HMAC SHA-256 keyed by a client secret: the
// octets of its UTF-8 form (OpenID Connect Core §10.1). No kid: the
// client knows its own secret.
func SignHS256(secret string, claims map[string]any) (string, error) {
	if secret == "" {
		return "", errors.New("jose: HS256 needs the client secret")
	}
	hs, err := hs256()
	if err != nil {
		return "", err
	}
	return sign(claims, hs.signer, hs.header, []byte(secret))
}

// protectedHeader is the base64url protected header of every token signed
// with alg and kid, as jws.Sign writes it: alg, kid (when there is one)
// and typ JWT, in that order.
func protectedHeader(alg jwa.SignatureAlgorithm, kid string) (string, error) {
	hdrs := jws.NewHeaders()
	for name, v := range map[string]any{jws.AlgorithmKey: alg, jws.TypeKey: "JWT"} {
		if err := hdrs.Set(name, v); err != nil {
			return "", fmt.Errorf("jose: set %s: %w", name, err)
		}
	}
	if kid != "" {
		if err := hdrs.Set(jws.KeyIDKey, kid); err != nil {
			return "", fmt.Errorf("jose: set kid: %w", err)
		}
	}
	b, err := json.Marshal(hdrs)
	if err != nil {
		return "", fmt.Errorf("jose: encode header: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sign makes the compact serialisation (RFC 7515 §7.1) with jwx's signer
// for the key's algorithm. It is what jws.Sign does for one signature,
// without building, merging and encoding the same header again for every
// token.
func sign(claims map[string]any, signer jws.Signer, header string, key any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jose: encode claims: %w", err)
	}
	enc := base64.RawURLEncoding
	// Room for the largest signature served: RSA-2048's 256 bytes.
	buf := make([]byte, 0, len(header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(512))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := signer.Sign(buf, key)
	if err != nil {
		return "", fmt.Errorf("jose: sign: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// publicJWKS renders the public halves of keys as a JWK Set (RFC 7517 §5).
func publicJWKS(keys []*Key) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		if err := set.AddKey(k.pub); err != nil {
			return nil, fmt.Errorf("jose: add key: %w", err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jose: encode jwks: %w", err)
	}
	return b, nil
}

// LogoutType is the typ of a Logout Token (Back-Channel Logout 1.0 §2.4,
// explicit typing per RFC 8725 §3.11), so it cannot pass for an ID token.
const LogoutType = "logout+jwt"

// SignLogout signs a Logout Token's claims with k: as Sign, with typ
// logout+jwt. Rare enough to build its header each time.
func (k *Key) SignLogout(claims map[string]any) (string, error) {
	header, err := typedHeader(k.sig, k.KID, LogoutType)
	if err != nil {
		return "", err
	}
	return sign(claims, k.signer, header, k.priv)
}

// SignHS256Logout signs a Logout Token for an HS256 client with its
// secret, typ logout+jwt.
func SignHS256Logout(secret string, claims map[string]any) (string, error) {
	if secret == "" {
		return "", errors.New("jose: HS256 needs the client secret")
	}
	hs, err := hs256()
	if err != nil {
		return "", err
	}
	header, err := typedHeader(jwa.HS256, "", LogoutType)
	if err != nil {
		return "", err
	}
	return sign(claims, hs.signer, header, []byte(secret))
}

// typedHeader is protectedHeader with another typ.
func typedHeader(alg jwa.SignatureAlgorithm, kid, typ string) (string, error) {
	h := map[string]any{"alg": alg.String(), "typ": typ}
	if kid != "" {
		h["kid"] = kid
	}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("jose: encode header: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// PeekHeader returns the alg and kid of a compact JWS without verifying
// anything: only to choose the key to verify it with.
func PeekHeader(token string) (alg, kid string, err error) {
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		return "", "", fmt.Errorf("jose: parse token: %w", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return "", "", errors.New("jose: token has not exactly one signature")
	}
	h := sigs[0].ProtectedHeaders()
	return h.Algorithm().String(), h.KeyID(), nil
}

// Verify checks that token is a compact JWS signed by k, with k's
// algorithm, and returns its claims. Time claims are the caller's.
func (k *Key) Verify(token string) (map[string]any, error) {
	payload, err := jws.Verify([]byte(token), jws.WithKey(k.sig, k.pub))
	if err != nil {
		return nil, fmt.Errorf("jose: verify: %w", err)
	}
	return decodeClaims(payload)
}

// VerifyHS256 checks that token is an HS256 JWS keyed by secret and
// returns its claims.
func VerifyHS256(secret, token string) (map[string]any, error) {
	if secret == "" {
		return nil, errors.New("jose: HS256 needs the client secret")
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.HS256, []byte(secret)))
	if err != nil {
		return nil, fmt.Errorf("jose: verify: %w", err)
	}
	return decodeClaims(payload)
}

func decodeClaims(payload []byte) (map[string]any, error) {
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("jose: decode claims: %w", err)
	}
	return claims, nil
}

// UnverifiedClaims decodes a compact JWS's claims without verifying it:
// only to find the key (an HS256 client's secret) to verify it with.
func UnverifiedClaims(token string) (map[string]any, error) {
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		return nil, fmt.Errorf("jose: parse token: %w", err)
	}
	return decodeClaims(msg.Payload())
}
