package main

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"oidcd/handlers/jose"
	"oidcd/models"
	"oidcd/models/modelstest"
)

func b64Key(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// wantKeyFile checks path is a key file readable by its owner only that
// holds a 32-byte key, and returns the key.
func wantKeyFile(t *testing.T, path string) []byte {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file %s has mode %#o, want 0600", path, perm)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != models.SecretKeySize {
		t.Fatalf("key file holds %d bytes (%v), want %d in base64", len(key), err, models.SecretKeySize)
	}
	return key
}

// TestSecretKeyFileInDefaultDataDir runs the commands as a newcomer would,
// in an empty folder with no flags and no environment: the first command
// creates data/oidcd.db and beside it data/oidcd.key, mode 0600, and every
// later command and serve open the database with that file.
func TestSecretKeyFileInDefaultDataDir(t *testing.T) {
	t.Chdir(t.TempDir())
	mustRunCLI(t, nil, "createuser", "--username", "alice", "--password", "wonderland-42")
	key := wantKeyFile(t, filepath.Join("data", "oidcd.key"))
	kid := strings.TrimSpace(mustRunCLI(t, nil, "creatersakey").stdout)

	p := startServe(t, nil)
	if strings.Contains(p.logs.String(), "created the secret key file") {
		t.Errorf("serve created another key file:\n%s", p.logs)
	}
	// serve adds the ES256 and EdDSA keys; the RS256 key is creatersakey's.
	if kids := kidsAt(t, p.base); len(kids) != 3 || !slices.Contains(kids, kid) {
		t.Errorf("/jwks = %v, want the key creatersakey made (%s) and one ES256 and one EdDSA key", kids, kid)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if got := wantKeyFile(t, filepath.Join("data", "oidcd.key")); string(got) != string(key) {
		t.Errorf("the key file changed")
	}
	store, err := models.Open(filepath.Join("data", "oidcd.db"), models.Options{SecretKey: key})
	if err != nil {
		t.Fatalf("open with the key file's key: %v", err)
	}
	defer store.Close()
	if _, err := store.UserByUsername(context.Background(), "alice"); err != nil {
		t.Errorf("alice: %v", err)
	}
}

// TestSecretKeyFileCreatedByServe: serve on a fresh database says it made
// the key file and where, never what is in it.
func TestSecretKeyFileCreatedByServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServe(t, nil, "--db", filepath.Join(dir, "id.db"))
	path := filepath.Join(dir, "id.key")
	key := wantKeyFile(t, path)
	logs := p.logs.String()
	if !strings.Contains(logs, `msg="created the secret key file; back it up apart from the database" path=`+path) {
		t.Errorf("serve did not log the new key file:\n%s", logs)
	}
	if strings.Contains(logs, b64Key(key)) {
		t.Errorf("serve logged the secret key")
	}
}

// TestSecretKeyFileRefusedWhenReadable: a key file that others may read
// stops every command with a message saying how to fix it, and nothing is
// written.
func TestSecretKeyFileRefusedWhenReadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, keyFile := filepath.Join(dir, "oidcd.db"), filepath.Join(dir, "oidcd.key")
	mustRunCLI(t, nil, "createuser", "--db", db, "--username", "alice", "--password", "wonderland-42")
	wantKeyFile(t, keyFile)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(keyFile, mode); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"createuser", "--db", db, "--username", "bob", "--password", "wonderland-42"},
			{"serve", "--addr", "127.0.0.1:0", "--db", db},
		} {
			r := runCLI(t, nil, args...)
			if r.code != 1 || !strings.Contains(r.stderr, "secret key file "+keyFile+" has mode") ||
				!strings.Contains(r.stderr, "chmod 600 "+keyFile) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%s with the key file at %#o: exit %d, stderr %q; want 1 and one line asking for chmod 600", args[0], mode, r.code, r.stderr)
			}
		}
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openStore(t, db).UserByUsername(context.Background(), "bob"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("bob after the refused commands: %v, want ErrNotFound", err)
	}
}

// TestSecretKeyFileLost: with its key file gone, a database refuses to
// start instead of making new keys, and the key file the attempt made is
// removed again; putting the file back brings everything back.
func TestSecretKeyFileLost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, keyFile := filepath.Join(dir, "oidcd.db"), filepath.Join(dir, "oidcd.key")
	kid := strings.TrimSpace(mustRunCLI(t, nil, "creatersakey", "--db", db).stdout)
	saved, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", db)
	if r.code != 1 || !strings.Contains(r.stderr, "sealed under another secret key") || !strings.Contains(r.stderr, "OIDC_SECRET_KEY") {
		t.Errorf("serve without its key file: exit %d, stderr %q; want 1 and the database sealed under another key", r.code, r.stderr)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused start left a new key file: %v", err)
	}
	if err := os.WriteFile(keyFile, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := openStore(t, db).ActiveSigningKey(context.Background(), jose.RS256)
	if err != nil || k.KID != kid {
		t.Errorf("with the key file back: %v, want the key %s", err, kid)
	}
}

// TestSecretKeyFromEnvironment: OIDC_SECRET_KEY replaces the key file;
// another key is refused; a rotation with OIDC_SECRET_KEY_PREVIOUS (or
// _PREVIOUS_FILE) moves the database to the new key, after which the old
// key alone is refused. It runs on the suite's database.
func TestSecretKeyFromEnvironment(t *testing.T) {
	t.Chdir(t.TempDir()) // where a PostgreSQL key file would go, data/
	dsn := modelstest.New(t).DSN
	a, b, c := modelstest.NewKey(), modelstest.NewKey(), modelstest.NewKey()
	env := func(kv ...string) map[string]string {
		m := map[string]string{"OIDC_DATABASE": dsn}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	mustRunCLI(t, env("OIDC_SECRET_KEY", b64Key(a)), "createuser", "--username", "alice", "--password", "wonderland-42")
	entries, _ := os.ReadDir(".")
	if filepath.Ext(dsn) == ".db" {
		entries, _ = os.ReadDir(filepath.Dir(dsn))
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".key") || e.Name() == "data" {
			t.Errorf("with OIDC_SECRET_KEY set a key file was made: %s", e.Name())
		}
	}

	r := runCLI(t, env("OIDC_SECRET_KEY", b64Key(b)), "creatersakey")
	if r.code != 1 || !strings.Contains(r.stderr, "sealed under another secret key") ||
		!strings.Contains(r.stderr, models.KeyID(a)) || !strings.Contains(r.stderr, models.KeyID(b)) {
		t.Errorf("another key: exit %d, stderr %q; want 1 naming both key ids", r.code, r.stderr)
	}

	// Rotate a -> b, with the previous key in the environment.
	mustRunCLI(t, env("OIDC_SECRET_KEY", b64Key(b), "OIDC_SECRET_KEY_PREVIOUS", b64Key(a)), "creatersakey", "--now")
	mustRunCLI(t, env("OIDC_SECRET_KEY", b64Key(b)), "creatersakey", "--now")
	if r := runCLI(t, env("OIDC_SECRET_KEY", b64Key(a)), "creatersakey"); r.code != 1 {
		t.Errorf("the old key after the rotation: exit %d, want 1", r.code)
	}

	// Rotate b -> c, with the previous key in a file.
	prev := filepath.Join(t.TempDir(), "previous.key")
	if err := os.WriteFile(prev, []byte(b64Key(b)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRunCLI(t, env("OIDC_SECRET_KEY", b64Key(c), "OIDC_SECRET_KEY_PREVIOUS_FILE", prev), "creatersakey", "--now")
	store, err := models.Open(dsn, models.Options{SecretKey: c})
	if err != nil {
		t.Fatalf("open with the key rotated to: %v", err)
	}
	defer store.Close()
	keys, err := store.ListSigningKeys(context.Background())
	if err != nil || len(keys) != 3 {
		t.Fatalf("signing keys: %d, %v; want the 3 made under each key", len(keys), err)
	}
	for _, k := range keys {
		if !strings.Contains(k.PrivateKeyPEM, "PRIVATE KEY") {
			t.Errorf("key %s does not open to a PEM private key", k.KID)
		}
	}
}

// TestSecretKeyFileNamed: OIDC_SECRET_KEY_FILE names where the key file
// lives; it is made there on first start, 0600, and none beside the
// database.
func TestSecretKeyFileNamed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, keyFile := filepath.Join(dir, "oidcd.db"), filepath.Join(dir, "secrets", "kek")
	vars := map[string]string{"OIDC_SECRET_KEY_FILE": keyFile}
	mustRunCLI(t, vars, "createuser", "--db", db, "--username", "alice", "--password", "wonderland-42")
	key := wantKeyFile(t, keyFile)
	if _, err := os.Stat(filepath.Join(dir, "oidcd.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file beside the database too: %v", err)
	}
	mustRunCLI(t, vars, "creatersakey", "--db", db)
	if got := wantKeyFile(t, keyFile); string(got) != string(key) {
		t.Errorf("the named key file changed")
	}
}

// TestSecretKeyMalformed: a key that is not 32 bytes of base64 is refused
// before the database is touched, with a message naming the variable.
func TestSecretKeyMalformed(t *testing.T) {
	t.Parallel()
	short := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(short, []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))), 0o600); err != nil {
		t.Fatal(err)
	}
	good := b64Key(modelstest.NewKey())
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"a password", map[string]string{"OIDC_SECRET_KEY": "correct horse battery staple"}, "OIDC_SECRET_KEY: must be 32 random bytes in base64"},
		{"16 bytes", map[string]string{"OIDC_SECRET_KEY": base64.StdEncoding.EncodeToString(make([]byte, 16))}, "OIDC_SECRET_KEY: must be 32 random bytes in base64 (openssl rand -base64 32), not 16 bytes"},
		{"64 bytes", map[string]string{"OIDC_SECRET_KEY": base64.StdEncoding.EncodeToString(make([]byte, 64))}, "not 64 bytes"},
		{"short key file", map[string]string{"OIDC_SECRET_KEY_FILE": short}, "secret key file " + short + ": must be 32 random bytes"},
		{"missing previous file", map[string]string{"OIDC_SECRET_KEY": good, "OIDC_SECRET_KEY_PREVIOUS_FILE": short + ".missing"}, "secret key file:"},
		{"bad previous", map[string]string{"OIDC_SECRET_KEY": good, "OIDC_SECRET_KEY_PREVIOUS": "abc"}, "OIDC_SECRET_KEY_PREVIOUS: must be 32 random bytes"},
		{"both key and file", map[string]string{"OIDC_SECRET_KEY": good, "OIDC_SECRET_KEY_FILE": short}, "set OIDC_SECRET_KEY or OIDC_SECRET_KEY_FILE, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "oidcd.db")
			r := runCLI(t, tt.vars, "createuser", "--db", db, "--username", "alice", "--password", "wonderland-42")
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tt.want)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused key left a database behind: %v", err)
			}
		})
	}
}

// TestSecretKeyPostgresDefault: on PostgreSQL without OIDC_SECRET_KEY the
// key file is data/oidcd.key of this host, with a warning that instances
// sharing the database need one key; with OIDC_SECRET_KEY, neither.
func TestSecretKeyPostgresDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	const dsn = "postgres://oidcd@127.0.0.1:1/oidcd"
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	opts, created, err := secretKeys(dsn, func(string) string { return "" }, log)
	if err != nil || created != filepath.Join("data", "oidcd.key") || len(opts.SecretKey) != models.SecretKeySize {
		t.Fatalf("secretKeys = %d-byte key, created %q, %v; want data/oidcd.key", len(opts.SecretKey), created, err)
	}
	wantKeyFile(t, created)
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "every instance sharing the database needs the same key") {
		t.Errorf("no warning about several instances:\n%s", logs.String())
	}

	var quiet syncBuffer
	key := modelstest.NewKey()
	getenv := func(k string) string { return map[string]string{"OIDC_SECRET_KEY": b64Key(key)}[k] }
	opts, created, err = secretKeys(dsn, getenv, slog.New(slog.NewTextHandler(&quiet, nil)))
	if err != nil || created != "" || string(opts.SecretKey) != string(key) || quiet.String() != "" {
		t.Errorf("with OIDC_SECRET_KEY: created %q, same key %v, log %q, %v; want the variable's key and nothing else",
			created, string(opts.SecretKey) == string(key), quiet.String(), err)
	}
}

// TestPasswordSlotsSetting: OIDC_PASSWORD_SLOTS sets how many bcrypt
// evaluations run at once; unset is half the cores (at least one); a value
// that is not a positive whole number stops the command with a message
// naming the setting.
func TestPasswordSlotsSetting(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oidcd.db")
	open := func(v string) (*models.Store, error) {
		return openDatabase(db, func(k string) string {
			if k == "OIDC_PASSWORD_SLOTS" {
				return v
			}
			return ""
		}, slog.New(slog.DiscardHandler))
	}
	for _, tt := range []struct {
		value string
		want  int
	}{{"", max(1, runtime.GOMAXPROCS(0)/2)}, {"3", 3}, {" 1 ", 1}} {
		s, err := open(tt.value)
		if err != nil {
			t.Fatalf("OIDC_PASSWORD_SLOTS=%q: %v", tt.value, err)
		}
		if got := s.PasswordStats().Slots; got != tt.want {
			t.Errorf("OIDC_PASSWORD_SLOTS=%q: %d slots, want %d", tt.value, got, tt.want)
		}
		_ = s.Close()
	}
	for _, bad := range []string{"0", "-1", "two", "1.5", "5000"} {
		r := runCLI(t, map[string]string{"OIDC_PASSWORD_SLOTS": bad}, "createuser", "--db", db, "--username", "u"+bad, "--password", "a password 1")
		if r.code != 1 || !strings.Contains(r.stderr, "OIDC_PASSWORD_SLOTS") {
			t.Errorf("OIDC_PASSWORD_SLOTS=%q: exit %d, stderr %q; want 1 naming the setting", bad, r.code, r.stderr)
		}
	}
}
