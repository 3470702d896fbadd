package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SecretKeySize is the length of a key-encryption key: AES-256.
const SecretKeySize = 32

// sealedPrefix starts every value sealed at rest. The whole envelope is
// "enc:v1:<key id>:<base64(nonce || ciphertext || tag)>".
const sealedPrefix = "enc:v1:"

// ErrWrongSecretKey is returned when a sealed value names a key that is
// neither the current secret key nor a previous one: the database was
// sealed under another key.
var ErrWrongSecretKey = errors.New("models: the database's secrets were sealed under another secret key")

// secretBox seals the secrets the database keeps (cookie keys, private
// signing keys) with AES-256-GCM under a key-encryption key that is never
// stored in the database, so a copy of the database alone opens nothing.
// Each value is bound to its row by the additional data ("setting:NAME",
// "signing_key:KID"): a ciphertext moved to another row does not open.
type secretBox struct {
	current  kek
	previous []kek // still open values, which Open re-seals under current
}

type kek struct {
	id   string // a fingerprint of the key, safe to store and to show
	aead cipher.AEAD
}

func newKEK(key []byte) (kek, error) {
	if len(key) != SecretKeySize {
		return kek{}, fmt.Errorf("models: a secret key must be %d bytes, not %d", SecretKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return kek{}, fmt.Errorf("models: secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return kek{}, fmt.Errorf("models: secret key: %w", err)
	}
	return kek{id: KeyID(key), aead: aead}, nil
}

// KeyID is the short fingerprint of a secret key that sealed values carry:
// the first 8 bytes of HMAC-SHA256(key, "oidcd key id"), in hex. It tells
// which key sealed a value without saying anything about the key.
func KeyID(key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("oidcd key id"))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}

func newSecretBox(current []byte, previous [][]byte) (*secretBox, error) {
	if len(current) == 0 {
		return nil, errors.New("models: no secret key: the database's secrets cannot be sealed without one")
	}
	cur, err := newKEK(current)
	if err != nil {
		return nil, err
	}
	b := &secretBox{current: cur}
	for _, p := range previous {
		k, err := newKEK(p)
		if err != nil {
			return nil, fmt.Errorf("previous key: %w", err)
		}
		if k.id != cur.id {
			b.previous = append(b.previous, k)
		}
	}
	return b, nil
}

func isSealed(value string) bool { return strings.HasPrefix(value, sealedPrefix) }

// seal encrypts plaintext under the current key, bound to ad. GCM's
// 96-bit nonce is random: safe for far more values than a store ever seals
// under one key (NIST SP 800-38D §8.3).
func (b *secretBox) seal(ad, plaintext string) (string, error) {
	nonce := make([]byte, b.current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("models: seal: %w", err)
	}
	out := b.current.aead.Seal(nonce, nonce, []byte(plaintext), []byte(ad))
	return sealedPrefix + b.current.id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// open decrypts a sealed value bound to ad. stale reports that a previous
// key sealed it, so it should be sealed again under the current one.
func (b *secretBox) open(ad, value string) (plaintext string, stale bool, err error) {
	rest, ok := strings.CutPrefix(value, sealedPrefix)
	if !ok {
		return "", false, fmt.Errorf("models: %s is not sealed", ad)
	}
	id, encoded, ok := strings.Cut(rest, ":")
	if !ok {
		return "", false, fmt.Errorf("models: %s: malformed sealed value", ad)
	}
	k, ok := b.key(id)
	if !ok {
		return "", false, fmt.Errorf("%w: %s was sealed under key %s; the key given is %s", ErrWrongSecretKey, ad, id, b.current.id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return "", false, fmt.Errorf("models: %s: malformed sealed value", ad)
	}
	nonce, ct := raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():]
	pt, err := k.aead.Open(nil, nonce, ct, []byte(ad))
	if err != nil {
		// The key is right (its id matched), so the value was altered or
		// copied from another row.
		return "", false, fmt.Errorf("models: %s: the sealed value does not open (altered, or moved from another row)", ad)
	}
	return string(pt), k.id != b.current.id, nil
}

func (b *secretBox) key(id string) (kek, bool) {
	if id == b.current.id {
		return b.current, true
	}
	for _, k := range b.previous {
		if k.id == id {
			return k, true
		}
	}
	return kek{}, false
}

// upgrade returns value as it should be stored now: a plaintext value (a
// database from before sealing) or one sealed under a previous key comes
// back sealed under the current key, with changed true.
func (b *secretBox) upgrade(ad, value string) (string, bool, error) {
	if !isSealed(value) {
		sealed, err := b.seal(ad, value)
		return sealed, true, err
	}
	plain, stale, err := b.open(ad, value)
	if err != nil || !stale {
		return value, false, err
	}
	sealed, err := b.seal(ad, plain)
	return sealed, true, err
}

// The additional data that binds each sealed value to its row.
func settingAD(name string) string          { return "setting:" + name }
func signingKeyAD(kid string) string        { return "signing_key:" + kid }
func clientSecretAD(clientID string) string { return "client_secret:" + clientID }
