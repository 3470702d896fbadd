package models

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func testKey() []byte {
	k := make([]byte, SecretKeySize)
	_, _ = rand.Read(k)
	return k
}

func testBox(t *testing.T, current []byte, previous ...[]byte) *secretBox {
	t.Helper()
	b, err := newSecretBox(current, previous)
	if err != nil {
		t.Fatalf("newSecretBox: %v", err)
	}
	return b
}

var envelopeRE = regexp.MustCompile(`^enc:v1:([0-9a-f]{16}):([A-Za-z0-9+/]+)$`)

func TestSecretBoxRoundTrip(t *testing.T) {
	t.Parallel()
	key := testKey()
	b := testBox(t, key)
	const plain = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"
	sealed, err := b.seal(signingKeyAD("kid-1"), plain)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	m := envelopeRE.FindStringSubmatch(sealed)
	if m == nil {
		t.Fatalf("sealed value %q is not enc:v1:<16 hex>:<base64>", sealed)
	}
	if m[1] != KeyID(key) {
		t.Errorf("key id in the envelope = %s, want KeyID(key) = %s", m[1], KeyID(key))
	}
	if strings.Contains(sealed, "PRIVATE KEY") || strings.Contains(sealed, "MIIE") {
		t.Errorf("sealed value shows the plaintext: %q", sealed)
	}
	got, stale, err := b.open(signingKeyAD("kid-1"), sealed)
	if err != nil || got != plain || stale {
		t.Errorf("open = %q, stale %v, %v; want the plaintext, not stale", got, stale, err)
	}
	// A fresh nonce each time: the same plaintext never seals the same way.
	again, _ := b.seal(signingKeyAD("kid-1"), plain)
	if again == sealed {
		t.Errorf("two seals of one plaintext are equal; want a fresh nonce each time")
	}
	// Another box over the same key (another instance) opens it.
	if got, _, err := testBox(t, bytes.Clone(key)).open(signingKeyAD("kid-1"), sealed); err != nil || got != plain {
		t.Errorf("open with the same key in another box = %q, %v", got, err)
	}
	// The empty string is a value like any other.
	empty, _ := b.seal(settingAD("x"), "")
	if got, _, err := b.open(settingAD("x"), empty); err != nil || got != "" {
		t.Errorf("round trip of \"\" = %q, %v", got, err)
	}
}

func TestSecretBoxWrongKey(t *testing.T) {
	t.Parallel()
	sealed, _ := testBox(t, testKey()).seal(settingAD("session_hash_key"), "cookie key")
	_, _, err := testBox(t, testKey()).open(settingAD("session_hash_key"), sealed)
	if !errors.Is(err, ErrWrongSecretKey) {
		t.Errorf("open under another key: got %v, want ErrWrongSecretKey", err)
	}
	if err != nil && strings.Contains(err.Error(), "cookie key") {
		t.Errorf("the error shows the plaintext: %v", err)
	}
}

func TestSecretBoxWrongAdditionalData(t *testing.T) {
	t.Parallel()
	b := testBox(t, testKey())
	sealed, _ := b.seal(settingAD("session_hash_key"), "cookie key")
	for _, ad := range []string{settingAD("secret_cookie_key"), signingKeyAD("session_hash_key"), ""} {
		if got, _, err := b.open(ad, sealed); err == nil {
			t.Errorf("value of setting:session_hash_key opened as %q: %q; want an error", ad, got)
		}
	}
}

func TestSecretBoxTampered(t *testing.T) {
	t.Parallel()
	b := testBox(t, testKey())
	const ad = "setting:k"
	sealed, _ := b.seal(ad, "a value worth keeping")
	m := envelopeRE.FindStringSubmatch(sealed)
	raw, err := base64.RawStdEncoding.DecodeString(m[2])
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	// Every byte, nonce, ciphertext and tag alike, is covered.
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		value := "enc:v1:" + m[1] + ":" + base64.RawStdEncoding.EncodeToString(bad)
		if got, _, err := b.open(ad, value); err == nil {
			t.Fatalf("byte %d flipped: opened as %q, want an error", i, got)
		}
	}
	for name, value := range map[string]string{
		"truncated":     sealed[:len(sealed)-4],
		"no key id":     "enc:v1:" + m[2],
		"not base64":    "enc:v1:" + m[1] + ":!!!",
		"shorter nonce": "enc:v1:" + m[1] + ":" + base64.RawStdEncoding.EncodeToString(raw[:8]),
		"plaintext":     "a value worth keeping",
		"other version": "enc:v2:" + m[1] + ":" + m[2],
	} {
		if got, _, err := b.open(ad, value); err == nil {
			t.Errorf("%s: opened as %q, want an error", name, got)
		}
	}
}

func TestSecretBoxRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := testKey(), testKey()
	const ad = "signing_key:kid-7"
	old, _ := testBox(t, oldKey).seal(ad, "private key")

	// After the rotation the old key is only a previous one: it still
	// opens what it sealed, marked stale.
	rotated := testBox(t, newKey, oldKey)
	got, stale, err := rotated.open(ad, old)
	if err != nil || got != "private key" || !stale {
		t.Fatalf("open of a value under the previous key = %q, stale %v, %v; want it, stale", got, stale, err)
	}
	// upgrade seals it again under the new key...
	resealed, changed, err := rotated.upgrade(ad, old)
	if err != nil || !changed || !strings.HasPrefix(resealed, "enc:v1:"+KeyID(newKey)+":") {
		t.Fatalf("upgrade = %q, changed %v, %v; want it sealed under %s", resealed, changed, err, KeyID(newKey))
	}
	// ...which the new key alone opens, and the old key alone does not.
	if got, stale, err := testBox(t, newKey).open(ad, resealed); err != nil || got != "private key" || stale {
		t.Errorf("new key alone: %q, stale %v, %v; want the plaintext", got, stale, err)
	}
	if _, _, err := testBox(t, oldKey).open(ad, resealed); !errors.Is(err, ErrWrongSecretKey) {
		t.Errorf("old key alone on the re-sealed value: %v, want ErrWrongSecretKey", err)
	}
	// A value already under the current key is left as it is.
	if v, changed, err := rotated.upgrade(ad, resealed); err != nil || changed || v != resealed {
		t.Errorf("upgrade of a current value: changed %v, %v; want it untouched", changed, err)
	}
	// A plaintext value (a database from before sealing) gets sealed.
	v, changed, err := rotated.upgrade(ad, "legacy plaintext")
	if err != nil || !changed || !isSealed(v) {
		t.Fatalf("upgrade of plaintext = %q, changed %v, %v; want it sealed", v, changed, err)
	}
	if got, _, _ := rotated.open(ad, v); got != "legacy plaintext" {
		t.Errorf("sealed plaintext opens as %q", got)
	}
}

func TestSecretBoxKeys(t *testing.T) {
	t.Parallel()
	if _, err := newSecretBox(nil, nil); err == nil {
		t.Errorf("newSecretBox without a key: want an error")
	}
	for _, n := range []int{1, 16, 31, 33, 64} {
		if _, err := newSecretBox(make([]byte, n), nil); err == nil {
			t.Errorf("a %d-byte key: want an error", n)
		}
	}
	if _, err := newSecretBox(testKey(), [][]byte{make([]byte, 16)}); err == nil {
		t.Errorf("a 16-byte previous key: want an error")
	}
	a, b := testKey(), testKey()
	if KeyID(a) == KeyID(b) || len(KeyID(a)) != 16 || KeyID(a) != KeyID(bytes.Clone(a)) {
		t.Errorf("KeyID: %s, %s; want 16 hex characters, stable per key, distinct between keys", KeyID(a), KeyID(b))
	}
	if strings.Contains(KeyID(a), base64.StdEncoding.EncodeToString(a)[:8]) {
		t.Errorf("KeyID shows the key")
	}
}
