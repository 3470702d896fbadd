package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"oidcd/models"
)

// The secret key (key-encryption key) seals the cookie keys and private
// signing keys in the database (README "Secrets at rest"). It is 32 random
// bytes in base64, as `openssl rand -base64 32` prints them, taken from
// OIDC_SECRET_KEY, else from the file OIDC_SECRET_KEY_FILE names, else
// from a key file beside the SQLite database, created on first start.
const (
	envSecretKey       = "OIDC_SECRET_KEY"
	envSecretKeyFile   = "OIDC_SECRET_KEY_FILE"
	envPreviousKey     = "OIDC_SECRET_KEY_PREVIOUS"
	envPreviousKeyFile = "OIDC_SECRET_KEY_PREVIOUS_FILE"
)

// openDatabase opens the store at dsn with the secret keys the environment
// gives. A key file this call created is removed again when the database
// turns out to be sealed under another key, so a wrong start leaves no
// stray key behind.
func openDatabase(dsn string, getenv func(string) string, log *slog.Logger) (*models.Store, error) {
	opts, created, err := secretKeys(dsn, getenv, log)
	if err != nil {
		return nil, err
	}
	if opts.PasswordSlots, err = passwordSlots(getenv); err != nil {
		return nil, err
	}
	store, err := models.Open(dsn, opts)
	if errors.Is(err, models.ErrWrongSecretKey) {
		if created != "" {
			_ = os.Remove(created)
		}
		return nil, fmt.Errorf("%w (set %s or %s to that key; during a rotation, give the old key as %s)",
			err, envSecretKey, envSecretKeyFile, envPreviousKey)
	}
	if err != nil {
		return nil, err
	}
	if created != "" {
		log.Info("created the secret key file; back it up apart from the database", "path", created)
	}
	return store, nil
}

// passwordSlots reads OIDC_PASSWORD_SLOTS, how many bcrypt evaluations
// may run at once (models.Options.PasswordSlots); unset is the store's
// default, half the cores and at least one.
func passwordSlots(getenv func(string) string) (int, error) {
	v := strings.TrimSpace(getenv("OIDC_PASSWORD_SLOTS"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 1024 {
		return 0, fmt.Errorf("setting OIDC_PASSWORD_SLOTS=%q: must be a whole number from 1 to 1024", v)
	}
	return n, nil
}

// secretKeys reads the current and previous secret keys. created names
// the key file made by this call, if any.
func secretKeys(dsn string, getenv func(string) string, log *slog.Logger) (opts models.Options, created string, err error) {
	value, file := getenv(envSecretKey), getenv(envSecretKeyFile)
	switch {
	case value != "" && file != "":
		return opts, "", fmt.Errorf("set %s or %s, not both", envSecretKey, envSecretKeyFile)
	case value != "":
		opts.SecretKey, err = parseSecretKey(value)
		if err != nil {
			return opts, "", fmt.Errorf("%s: %w", envSecretKey, err)
		}
	default:
		if file == "" {
			file = defaultKeyFile(dsn)
			if models.IsPostgres(dsn) {
				log.Warn("no "+envSecretKey+": using a key file of this host; every instance sharing the database needs the same key, so set "+envSecretKey+" on each",
					"path", file)
			}
		}
		opts.SecretKey, created, err = loadOrCreateKeyFile(file)
		if err != nil {
			return opts, "", err
		}
	}
	if v := getenv(envPreviousKey); v != "" {
		k, err := parseSecretKey(v)
		if err != nil {
			return opts, "", fmt.Errorf("%s: %w", envPreviousKey, err)
		}
		opts.PreviousSecretKeys = append(opts.PreviousSecretKeys, k)
	}
	if f := getenv(envPreviousKeyFile); f != "" {
		k, err := readKeyFile(f)
		if err != nil {
			return opts, "", err
		}
		opts.PreviousSecretKeys = append(opts.PreviousSecretKeys, k)
	}
	return opts, created, nil
}

// defaultKeyFile is the key file beside a SQLite database (data/oidcd.db:
// data/oidcd.key), or data/oidcd.key for PostgreSQL.
func defaultKeyFile(dsn string) string {
	if models.IsPostgres(dsn) {
		return filepath.Join("data", "oidcd.key")
	}
	path := strings.TrimSuffix(dsn, filepath.Ext(dsn)) + ".key"
	if path == dsn {
		path += ".key"
	}
	return path
}

// parseSecretKey decodes a base64 key (standard or URL alphabet, padded or
// not) and refuses anything but 32 bytes: a short or low-entropy value is
// an error, never stretched into a key.
func parseSecretKey(value string) ([]byte, error) {
	value = strings.TrimSpace(value)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(value); err == nil {
			if len(k) != models.SecretKeySize {
				return nil, fmt.Errorf("must be %d random bytes in base64 (openssl rand -base64 32), not %d bytes", models.SecretKeySize, len(k))
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("must be %d random bytes in base64 (openssl rand -base64 32)", models.SecretKeySize)
}

// loadOrCreateKeyFile reads the key file, or creates it with a new random
// key, readable by its owner only. O_EXCL makes two first starts agree on
// one key: the second reads what the first wrote.
func loadOrCreateKeyFile(path string) (key []byte, created string, err error) {
	if _, err := os.Stat(path); err == nil {
		key, err := readKeyFile(path)
		return key, "", err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("secret key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", fmt.Errorf("secret key file: %w", err)
	}
	key = make([]byte, models.SecretKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, "", fmt.Errorf("secret key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		key, err := readKeyFile(path)
		return key, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("secret key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, "", fmt.Errorf("secret key file: %w", err)
	}
	return key, path, nil
}

// readKeyFile reads a key file, refusing one that others may read: the
// key opens every secret in the database.
func readKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secret key file %s has mode %#o: it must be readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	key, err := parseSecretKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return key, nil
}
