package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"oidcd/models"
	"oidcd/models/modelstest"
)

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// rawRows reads the stored form of settings, signing keys and sessions,
// past the Store.
type rawRows struct {
	settings map[string]string // name -> value as stored
	keys     map[string]string // kid -> private_key_pem as stored
	sessions []string          // ids as stored
}

func readRaw(t *testing.T, s *models.Store) rawRows {
	t.Helper()
	r := rawRows{settings: map[string]string{}, keys: map[string]string{}}
	var settings []models.Setting
	if err := s.DB().Find(&settings).Error; err != nil {
		t.Fatalf("read settings: %v", err)
	}
	for _, st := range settings {
		r.settings[st.Name] = st.Value
	}
	var keys []models.SigningKey
	if err := s.DB().Find(&keys).Error; err != nil {
		t.Fatalf("read signing keys: %v", err)
	}
	for _, k := range keys {
		r.keys[k.KID] = k.PrivateKeyPEM
	}
	if err := s.DB().Model(&models.Session{}).Order("id").Pluck("id", &r.sessions).Error; err != nil {
		t.Fatalf("read sessions: %v", err)
	}
	return r
}

func mustExec(t *testing.T, s *models.Store, sql string, args ...any) {
	t.Helper()
	if err := s.DB().Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

const fakePEM = "-----BEGIN PRIVATE KEY-----\nnot really a key\n-----END PRIVATE KEY-----\n"

// TestStoreSealsSecrets: through the Store, settings, private keys and
// sessions read back as written; in the table they are sealed or hashed.
func TestStoreSealsSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	s := d.Open(t)
	now := time.Now()

	v, err := s.Setting(ctx, "session_hash_key", func() (string, error) { return "hash key value", nil })
	if err != nil || v != "hash key value" {
		t.Fatalf("Setting = %q, %v", v, err)
	}
	if err := s.PutSetting(ctx, "other", "other value"); err != nil {
		t.Fatalf("PutSetting: %v", err)
	}
	if v, err := s.LookupSetting(ctx, "other"); err != nil || v != "other value" {
		t.Errorf("LookupSetting = %q, %v", v, err)
	}
	k := &models.SigningKey{KID: "kid-1", Alg: "RS256", PrivateKeyPEM: fakePEM}
	if err := s.AddSigningKey(ctx, k); err != nil || k.ID == 0 || k.PrivateKeyPEM != fakePEM {
		t.Fatalf("AddSigningKey: id %d, pem changed %v, %v", k.ID, k.PrivateKeyPEM != fakePEM, err)
	}
	for name, get := range map[string]func() (*models.SigningKey, error){
		"ActiveSigningKey": func() (*models.SigningKey, error) { return s.ActiveSigningKey(ctx, "RS256") },
		"SigningKeyByID":   func() (*models.SigningKey, error) { return s.SigningKeyByID(ctx, k.ID) },
		"ListSigningKeys": func() (*models.SigningKey, error) {
			l, err := s.ListSigningKeys(ctx)
			if err != nil || len(l) != 1 {
				return nil, errors.Join(err, errors.New("not one key"))
			}
			return &l[0], nil
		},
		"PublishedSigningKeys": func() (*models.SigningKey, error) {
			l, err := s.PublishedSigningKeys(ctx, time.Time{})
			if err != nil || len(l) != 1 {
				return nil, errors.Join(err, errors.New("not one key"))
			}
			return &l[0], nil
		},
	} {
		if got, err := get(); err != nil || got.PrivateKeyPEM != fakePEM {
			t.Errorf("%s: %v; want the plaintext PEM", name, err)
		}
	}
	const sessionID = "RAWSESSIONIDFROMACOOKIE12"
	if err := s.SaveSession(ctx, &models.Session{ID: sessionID, Data: "d", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("SaveSession: %v", err)
	}
	got, err := s.SessionByID(ctx, sessionID, now)
	if err != nil || got.ID != sessionID || got.Data != "d" {
		t.Fatalf("SessionByID = %+v, %v", got, err)
	}

	raw := readRaw(t, s)
	for name, value := range raw.settings {
		if !strings.HasPrefix(value, "enc:v1:"+models.KeyID(d.Key)+":") {
			t.Errorf("setting %s stored as %.20q…, want sealed under the key", name, value)
		}
	}
	if _, ok := raw.settings["kek_check"]; !ok {
		t.Errorf("no kek_check setting: a database must remember which key sealed it")
	}
	if pem := raw.keys["kid-1"]; !strings.HasPrefix(pem, "enc:v1:") || strings.Contains(pem, "PRIVATE KEY") {
		t.Errorf("private key stored as %.40q…, want it sealed", pem)
	}
	if len(raw.sessions) != 1 || raw.sessions[0] != hashHex(sessionID) {
		t.Errorf("sessions table ids = %q, want only SHA-256(id) %s", raw.sessions, hashHex(sessionID))
	}

	if err := s.DeleteSession(ctx, sessionID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := s.SessionByID(ctx, sessionID, now); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("SessionByID after DeleteSession: %v, want ErrNotFound", err)
	}
	// The stored hash is not an id: looking it up finds nothing.
	_ = s.SaveSession(ctx, &models.Session{ID: sessionID, Data: "d", ExpiresAt: now.Add(time.Hour)})
	if _, err := s.SessionByID(ctx, hashHex(sessionID), now); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("SessionByID(stored hash): %v, want ErrNotFound", err)
	}
}

// TestStoreMigratesPlaintext writes rows as oidcd kept them before
// sealing (plaintext settings and private keys, raw session ids, no check
// value) and opens the database again: everything is sealed or hashed,
// reads give the same values, the old session id still finds its session,
// and a third open changes nothing.
func TestStoreMigratesPlaintext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	now := time.Now()
	old := d.Open(t)
	u := &models.User{Username: "alice", Active: true}
	if err := old.CreateUser(ctx, u, "alice password 1"); err != nil {
		t.Fatalf("create user: %v", err)
	}
	mustExec(t, old, "DELETE FROM settings")
	mustExec(t, old, "INSERT INTO settings (name, value, created_at) VALUES (?, ?, ?), (?, ?, ?)",
		"session_hash_key", "aGFzaCBrZXk=", now, "secret_cookie_key", "YmxvY2sga2V5", now)
	mustExec(t, old, "INSERT INTO signing_keys (kid, alg, private_key_pem, created_at) VALUES (?, ?, ?, ?)",
		"old-kid", "RS256", fakePEM, now)
	oldIDs := []string{models.NewID(), models.NewID()}
	for _, id := range oldIDs {
		mustExec(t, old, "INSERT INTO sessions (id, user_id, data, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
			id, u.ID, "data of "+id, now.Add(time.Hour), now, now)
	}
	modelstest.AsOlderOidcd(t, old)
	_ = old.Close()

	s := d.Open(t)
	raw := readRaw(t, s)
	for name, value := range raw.settings {
		if !strings.HasPrefix(value, "enc:v1:") {
			t.Errorf("setting %s still stored as %q after migration", name, value)
		}
	}
	if strings.Contains(raw.keys["old-kid"], "PRIVATE KEY") {
		t.Errorf("private key still in plaintext after migration")
	}
	want := []string{hashHex(oldIDs[0]), hashHex(oldIDs[1])}
	if len(raw.sessions) != 2 || !(raw.sessions[0] == want[0] && raw.sessions[1] == want[1] ||
		raw.sessions[0] == want[1] && raw.sessions[1] == want[0]) {
		t.Errorf("session ids after migration = %q, want their hashes %q", raw.sessions, want)
	}
	for name, plain := range map[string]string{"session_hash_key": "aGFzaCBrZXk=", "secret_cookie_key": "YmxvY2sga2V5"} {
		if v, err := s.LookupSetting(ctx, name); err != nil || v != plain {
			t.Errorf("%s after migration = %q, %v; want %q", name, v, err, plain)
		}
	}
	if k, err := s.ActiveSigningKey(ctx, "RS256"); err != nil || k.PrivateKeyPEM != fakePEM || k.KID != "old-kid" {
		t.Errorf("signing key after migration: %v; want the old PEM", err)
	} else if !k.ActivatesAt.Equal(k.CreatedAt) {
		t.Errorf("old signing key activates at %v, want its creation %v (migration 6)", k.ActivatesAt, k.CreatedAt)
	}
	for _, id := range oldIDs {
		if sess, err := s.SessionByID(ctx, id, now); err != nil || sess.Data != "data of "+id {
			t.Errorf("old session %s after migration: %v; want it found", id[:4], err)
		}
	}

	// Idempotent: opening again rewrites nothing.
	again := readRaw(t, d.Open(t))
	for name, value := range raw.settings {
		if again.settings[name] != value {
			t.Errorf("setting %s changed on the third open", name)
		}
	}
	if again.keys["old-kid"] != raw.keys["old-kid"] || strings.Join(again.sessions, ",") != strings.Join(raw.sessions, ",") {
		t.Errorf("signing key or session ids changed on the third open")
	}
}

// TestStoreRefusesWrongKey: a database opened with another key, or none,
// fails at once with ErrWrongSecretKey and writes nothing; it never makes
// new cookie or signing keys.
func TestStoreRefusesWrongKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	s := d.Open(t)
	if _, err := s.Setting(ctx, "session_hash_key", func() (string, error) { return "v", nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSigningKey(ctx, &models.SigningKey{KID: "k", Alg: "RS256", PrivateKeyPEM: fakePEM}); err != nil {
		t.Fatal(err)
	}
	before := readRaw(t, s)

	other, err := models.Open(d.DSN, models.Options{SecretKey: modelstest.NewKey()})
	if err == nil {
		_ = other.Close()
		t.Fatalf("Open with another key succeeded; want ErrWrongSecretKey")
	}
	if !errors.Is(err, models.ErrWrongSecretKey) || !strings.Contains(err.Error(), models.KeyID(d.Key)) {
		t.Errorf("Open with another key: %v; want ErrWrongSecretKey naming the key id %s", err, models.KeyID(d.Key))
	}
	if _, err := models.Open(d.DSN, models.Options{}); err == nil {
		t.Errorf("Open without a key succeeded; want an error")
	}
	// The same database with a previous key that is not the one: refused.
	if _, err := models.Open(d.DSN, models.Options{SecretKey: modelstest.NewKey(), PreviousSecretKeys: [][]byte{modelstest.NewKey()}}); !errors.Is(err, models.ErrWrongSecretKey) {
		t.Errorf("Open with two wrong keys: %v; want ErrWrongSecretKey", err)
	}
	after := readRaw(t, s)
	if len(after.settings) != len(before.settings) || after.settings["session_hash_key"] != before.settings["session_hash_key"] ||
		after.keys["k"] != before.keys["k"] || len(after.keys) != 1 {
		t.Errorf("a refused open changed the stored secrets")
	}
}

// TestStoreMovedCiphertext: a sealed value copied into another row does
// not open there, so rows cannot be swapped to confuse the server.
func TestStoreMovedCiphertext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	s := d.Open(t)
	_ = s.PutSetting(ctx, "a", "value of a")
	_ = s.PutSetting(ctx, "b", "value of b")
	raw := readRaw(t, s)
	mustExec(t, s, "UPDATE settings SET value = ? WHERE name = ?", raw.settings["a"], "b")
	if v, err := s.LookupSetting(ctx, "b"); err == nil {
		t.Errorf("LookupSetting(b) holding a's ciphertext = %q; want an error", v)
	}
	if _, err := models.Open(d.DSN, models.Options{SecretKey: d.Key}); err == nil {
		t.Errorf("Open with a moved ciphertext succeeded; want an error")
	}
}

// TestStoreRotatesKey: opened with a new key and the old one as previous,
// every sealed value moves to the new key; afterwards the new key alone
// opens the database and the old one alone does not.
func TestStoreRotatesKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	s := d.Open(t)
	_ = s.PutSetting(ctx, "session_hash_key", "cookie key")
	if err := s.AddSigningKey(ctx, &models.SigningKey{KID: "k", Alg: "RS256", PrivateKeyPEM: fakePEM}); err != nil {
		t.Fatal(err)
	}
	client := &models.Client{ClientID: "hs-client", Name: "HS", ClientType: models.ClientConfidential, JWTAlg: "HS256",
		ResponseTypes: []string{"code"}, RedirectURIs: []string{"https://rp.example/cb"}, PostLogoutRedirectURIs: []string{}, Scopes: []string{"openid"}}
	sealed, err := s.SealClientSecret(client.ClientID, "the client secret")
	if err != nil {
		t.Fatal(err)
	}
	client.SecretSealed = sealed
	if err := s.CreateClient(ctx, client); err != nil {
		t.Fatal(err)
	}
	// Sealed for one client_id, the value does not open as another's.
	if _, err := s.ClientSecret(&models.Client{ClientID: "other", SecretSealed: sealed}); err == nil {
		t.Errorf("a client secret moved to another client opened")
	}
	_ = s.Close()

	newKey := modelstest.NewKey()
	if _, err := models.Open(d.DSN, models.Options{SecretKey: newKey}); !errors.Is(err, models.ErrWrongSecretKey) {
		t.Fatalf("Open with only the new key before rotating: %v; want ErrWrongSecretKey", err)
	}
	rotated := modelstest.Database{DSN: d.DSN, Key: newKey}
	s2, err := models.Open(d.DSN, models.Options{SecretKey: newKey, PreviousSecretKeys: [][]byte{d.Key}})
	if err != nil {
		t.Fatalf("Open with the new key and the old one as previous: %v", err)
	}
	raw := readRaw(t, s2)
	_ = s2.Close()
	prefix := "enc:v1:" + models.KeyID(newKey) + ":"
	for name, value := range raw.settings {
		if !strings.HasPrefix(value, prefix) {
			t.Errorf("setting %s not re-sealed under the new key", name)
		}
	}
	if !strings.HasPrefix(raw.keys["k"], prefix) {
		t.Errorf("signing key not re-sealed under the new key")
	}

	s3 := rotated.Open(t)
	if v, err := s3.LookupSetting(ctx, "session_hash_key"); err != nil || v != "cookie key" {
		t.Errorf("after rotation, new key alone: %q, %v", v, err)
	}
	if k, err := s3.ActiveSigningKey(ctx, "RS256"); err != nil || k.PrivateKeyPEM != fakePEM {
		t.Errorf("after rotation, signing key: %v", err)
	}
	c, err := s3.ClientByClientID(ctx, "hs-client")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.SecretSealed, prefix) {
		t.Errorf("client secret not re-sealed under the new key")
	}
	if secret, err := s3.ClientSecret(c); err != nil || secret != "the client secret" {
		t.Errorf("after rotation, client secret: %q, %v", secret, err)
	}
	if _, err := models.Open(d.DSN, models.Options{SecretKey: d.Key}); !errors.Is(err, models.ErrWrongSecretKey) {
		t.Errorf("Open with the old key after rotation: %v; want ErrWrongSecretKey", err)
	}
}
