package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"oidcd/models"
	"oidcd/models/modelstest"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// pemBody is the base64 lines of a PEM block, without its armour.
func pemBody(pem string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(pem), "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

// TestDatabaseCopyOpensNothing is finding 5: an admin signs in and a user
// gets a signed ID token, then a copy of the database is searched for what
// would let its holder in. It holds no session id (only their SHA-256),
// no private key, no cookie key; and the copy without the secret key does
// not start. With the key, the same copy is a working backup.
func TestDatabaseCopyOpensNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newTestEnv(t)
	admin := env.signInAdmin()
	if p := admin.get("/admin"); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="dashboard-page"`) {
		t.Fatalf("GET /admin: %d, want the dashboard", p.status)
	}
	cookie := jarCookie(admin, sessionCookieName)
	sessionID := sessionIDOf(t, env, cookie)
	tokens := codeFlowTokens(t, env, "alice")
	if idToken, _ := tokens["id_token"].(string); kidOf(t, idToken) != activeKID(t, env) {
		t.Fatalf("no ID token signed by the active key in %v", tokens)
	}
	hashKey, err1 := env.store.LookupSetting(ctx, "session_hash_key")
	blockKey, err2 := env.store.LookupSetting(ctx, "secret_cookie_key")
	key, err3 := env.store.ActiveSigningKey(ctx, "RS256")
	csrfKey, err4 := env.store.LookupSetting(ctx, "csrf_key")
	deviceKey, err5 := env.store.LookupSetting(ctx, "device_cookie_key")
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		t.Fatalf("the server's secrets: %v", err)
	}

	// An HS256 client: its secret is kept, sealed, to sign its ID tokens.
	env.createUser("hugo", "hugo password 123")
	hsClient, hsSecret := clientWithAlg(t, env, models.ClientConfidential, "HS256", "http://127.0.0.1/hs/cb")
	if idToken, _ := codeAndRefreshIDTokens(t, env, hsClient, hsSecret, "hugo", "hugo password 123"); jwsHeader(t, idToken)["alg"] != "HS256" {
		t.Fatalf("no HS256 ID token for the HS256 client")
	}

	d := modelstest.DatabaseOf(t, env.store)
	dump := dumpTables(t, env.store.DB())
	copyDSN, copyText := d.DSN, dump
	if !modelstest.Postgres() {
		// A real copy of the file, WAL included.
		copyDSN = filepath.Join(t.TempDir(), "copy.db")
		if err := env.store.DB().Exec("VACUUM INTO ?", copyDSN).Error; err != nil {
			t.Fatalf("copy the database: %v", err)
		}
		raw, err := os.ReadFile(copyDSN)
		if err != nil {
			t.Fatalf("read the copy: %v", err)
		}
		copyText = string(raw) + "\n" + dump
	}
	// On PostgreSQL the database itself stands for its copy: the refused
	// opens below write nothing (TestStoreRefusesWrongKey).

	if !strings.Contains(dump, sha256Hex(sessionID)) {
		t.Errorf("the sessions table lacks SHA-256 of the admin's session id; the search below would prove nothing")
	}
	secrets := map[string]string{
		"the admin's session id":           sessionID,
		"the session cookie key":           hashKey,
		"the secret cookie key":            blockKey,
		"the CSRF key":                     csrfKey,
		"the device cookie key":            deviceKey,
		"a PEM private key":                "PRIVATE KEY",
		"the signing key's first PEM line": pemBody(key.PrivateKeyPEM)[0],
		"the signing key's PEM line 10":    pemBody(key.PrivateKeyPEM)[10],
		"the signing key's last PEM line":  pemBody(key.PrivateKeyPEM)[len(pemBody(key.PrivateKeyPEM))-1],
		"an HS256 client's secret":         hsSecret,
	}
	if !strings.Contains(dump, hsClient.SecretSealed) {
		t.Errorf("the clients table lacks the HS256 client's sealed secret; the search below would prove nothing")
	}
	for what, s := range secrets {
		if strings.Contains(copyText, s) {
			t.Errorf("the database copy holds %s", what)
		}
	}

	// The copy alone does not start: no key, another key, or the key file
	// a command would create beside it.
	if s, err := models.Open(copyDSN, models.Options{SecretKey: modelstest.NewKey()}); !errors.Is(err, models.ErrWrongSecretKey) {
		if s != nil {
			_ = s.Close()
		}
		t.Errorf("copy opened with another key: %v; want ErrWrongSecretKey", err)
	}
	if _, err := models.Open(copyDSN, models.Options{}); err == nil {
		t.Errorf("copy opened without a key; want an error")
	}
	vars := map[string]string{"OIDC_DATABASE": copyDSN, "OIDC_SECRET_KEY": base64.StdEncoding.EncodeToString(modelstest.NewKey())}
	if !modelstest.Postgres() {
		delete(vars, "OIDC_SECRET_KEY") // the default: a new key file beside the copy
	}
	r := runCLI(t, vars, "creatersakey")
	if r.code != 1 || !strings.Contains(r.stderr, "sealed under another secret key") {
		t.Errorf("creatersakey on the copy: exit %d, stderr %q; want 1 and the database sealed under another key", r.code, r.stderr)
	}
	if !modelstest.Postgres() {
		if _, err := os.Stat(strings.TrimSuffix(copyDSN, ".db") + ".key"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused start left a key file beside the copy: %v", err)
		}
	}

	// With the key, the copy is a backup that works.
	s, err := models.Open(copyDSN, models.Options{SecretKey: d.Key})
	if err != nil {
		t.Fatalf("copy opened with its key: %v", err)
	}
	defer s.Close()
	if sess, err := s.SessionByID(ctx, sessionID, env.clock.Now()); err != nil || sess.UserID == nil {
		t.Errorf("the admin's session in the copy opened with its key: %v", err)
	}
	if k, err := s.ActiveSigningKey(ctx, "RS256"); err != nil || k.PrivateKeyPEM != key.PrivateKeyPEM {
		t.Errorf("the signing key in the copy opened with its key: %v", err)
	}
	if c, err := s.ClientByClientID(ctx, hsClient.ClientID); err != nil {
		t.Errorf("the HS256 client in the copy: %v", err)
	} else if secret, err := s.ClientSecret(c); err != nil || secret != hsSecret {
		t.Errorf("the HS256 client's secret in the copy opened with its key: %v", err)
	}
}

// TestOldDatabaseMigratedOnStart turns a live database back into the form
// oidcd kept before sealing (plaintext settings and private keys, raw
// session ids, no check value), then starts `oidcd serve` on it: the start
// seals and hashes everything, the old session cookie still signs its user
// in, the old signing key is still published, and a second start changes
// nothing that matters.
func TestOldDatabaseMigratedOnStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newTestEnv(t)
	env.createUser("alice", "alice password 1")
	b := env.browser()
	signIn(t, b, "alice", "alice password 1")
	cookie := jarCookie(b, sessionCookieName)
	sessionID := sessionIDOf(t, env, cookie)
	kid := activeKID(t, env)

	db := env.store.DB()
	var names []string
	if err := db.Model(&models.Setting{}).Pluck("name", &names).Error; err != nil {
		t.Fatalf("setting names: %v", err)
	}
	for _, name := range names {
		if name == "kek_check" {
			continue
		}
		v, err := env.store.LookupSetting(ctx, name)
		if err != nil {
			t.Fatalf("setting %s: %v", name, err)
		}
		execSQL(t, db, "UPDATE settings SET value = ? WHERE name = ?", v, name)
	}
	execSQL(t, db, "DELETE FROM settings WHERE name = ?", "kek_check")
	keys, err := env.store.ListSigningKeys(ctx)
	if err != nil {
		t.Fatalf("signing keys: %v", err)
	}
	for _, k := range keys {
		execSQL(t, db, "UPDATE signing_keys SET private_key_pem = ? WHERE id = ?", k.PrivateKeyPEM, k.ID)
	}
	execSQL(t, db, "UPDATE sessions SET id = ? WHERE id = ?", sessionID, sha256Hex(sessionID))
	modelstest.AsOlderOidcd(t, env.store)
	if old := dumpTables(t, db); !strings.Contains(old, "PRIVATE KEY") || !strings.Contains(old, "sessions.id="+sessionID) {
		t.Fatalf("the database is not in the old plaintext form; the test would prove nothing")
	}

	d := modelstest.DatabaseOf(t, env.store)
	vars := map[string]string{"OIDC_DATABASE": d.DSN, "OIDC_SECRET_KEY": base64.StdEncoding.EncodeToString(d.Key)}
	p := startServe(t, vars)
	if !strings.Contains(homeWithCookie(t, p.base, cookie), signedInMarker+"alice<") {
		t.Errorf("the old session cookie after the migrating start: alice not signed in")
	}
	if kids := kidsAt(t, p.base); !slices.Contains(kids, kid) {
		t.Errorf("/jwks after the migrating start = %v, want the old key %s", kids, kid)
	}
	dump := dumpTables(t, db)
	if strings.Contains(dump, "PRIVATE KEY") || strings.Contains(dump, sessionID) || !strings.Contains(dump, sha256Hex(sessionID)) {
		t.Errorf("after the migrating start the database still holds a private key or the raw session id")
	}
	var values []string
	if err := db.Model(&models.Setting{}).Pluck("value", &values).Error; err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if !strings.HasPrefix(v, "enc:v1:"+models.KeyID(d.Key)+":") {
			t.Errorf("a setting is stored as %.12q… after the migrating start, want it sealed", v)
		}
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("serve: %v", err)
	}

	p2 := startServe(t, vars)
	if !strings.Contains(homeWithCookie(t, p2.base, cookie), signedInMarker+"alice<") {
		t.Errorf("the old session cookie after a second start: alice not signed in")
	}
	if got := kidsAt(t, p2.base); !slices.Contains(got, kid) {
		t.Errorf("/jwks after a second start = %v, want %s still there", got, kid)
	}
}

func execSQL(t *testing.T, db *gorm.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
