package models

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"time"

	"gorm.io/gorm"
)

// Migrations run once per database, not on every start. Each one that
// has run is a row of schema_migrations; a start reads that table (one
// SELECT) and, when nothing is missing, migrates nothing. Otherwise it
// takes the database's write lock (SQLite: the writer's BEGIN IMMEDIATE;
// PostgreSQL: a transaction-scoped advisory lock), reads the table again
// and runs, in that one transaction, what is still missing: so instances
// starting together on one database run each migration once, and the
// others wait for it and then find it done. A database an older oidcd
// made has no schema_migrations table and gets every migration.
//
// Two kinds of rows:
//   - "schema <hash>": the tables, columns and indexes of the models, made
//     by GORM's AutoMigrate. The hash covers the models' fields, types and
//     tags (modelsHash), so changing a model makes the next start migrate
//     the schema without anyone numbering anything.
//   - the numbered data migrations below, in order, after the schema. A new
//     one is appended with the next number; a recorded one is never renamed
//     or changed.
type migration struct {
	id  string
	run func(s *Store, tx *gorm.DB) error
}

var migrations = []migration{
	// Times an older oidcd stored in the server's local zone, to UTC (SQLite).
	{"1 utc times", func(s *Store, tx *gorm.DB) error { return utcTimes(tx) }},
	// Day counts of the events recorded before the counts were kept.
	{"2 event day counts", func(s *Store, tx *gorm.DB) error { return backfillEventDays(tx) }},
	// Session ids stored as themselves, to their hashes (SessionKey).
	{"3 session ids hashed", func(s *Store, tx *gorm.DB) error { return hashSessionIDs(tx) }},
	// Clients made before clients had grant types keep what they could
	// use: DefaultGrantTypes.
	{"4 client grant types", func(s *Store, tx *gorm.DB) error { return defaultGrantTypes(tx) }},
	// Users made before profile_updated_at was kept: their updated_at
	// (which a login or a password change also moved), else created_at,
	// is the best guess there is.
	{"5 profile updated at", func(s *Store, tx *gorm.DB) error { return profileUpdatedAt(tx) }},
	// Signing keys made before keys had an activation time signed from
	// their creation.
	{"6 signing key activation", func(s *Store, tx *gorm.DB) error {
		return tx.Exec("UPDATE signing_keys SET activates_at = created_at WHERE activates_at IS NULL").Error
	}},
	// The tokens' index on client_id alone, which (client_id, id) covers.
	{"7 tokens client index", func(s *Store, tx *gorm.DB) error {
		return tx.Exec("DROP INDEX IF EXISTS idx_tokens_client_id").Error
	}},
}

// profileUpdatedAt fills users.profile_updated_at where it is unset.
func profileUpdatedAt(tx *gorm.DB) error {
	return tx.Exec("UPDATE users SET profile_updated_at = COALESCE(updated_at, created_at) WHERE profile_updated_at IS NULL").Error
}

// defaultGrantTypes gives DefaultGrantTypes to every client without grant
// types, as the json serializer writes them.
func defaultGrantTypes(tx *gorm.DB) error {
	return tx.Exec("UPDATE clients SET grant_types = ? WHERE grant_types IS NULL OR grant_types = '' OR grant_types = 'null'", defaultGrantTypesJSON).Error
}

// migrationsTable records the migrations that have run.
const migrationsTable = "schema_migrations"

// migrationLockKey is the PostgreSQL advisory lock migrations run under;
// any constant would do, as long as every oidcd uses the same one.
const migrationLockKey = 0x6f69646364 // "oidcd"

// pendingMigrations returns the ids of what this database still lacks,
// the schema's first.
func (s *Store) pendingMigrations(db *gorm.DB) ([]string, error) {
	var done []string
	if err := db.Raw("SELECT id FROM " + migrationsTable).Scan(&done).Error; err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(done))
	for _, id := range done {
		have[id] = true
	}
	var missing []string
	if schema := schemaMigrationID(); !have[schema] {
		missing = append(missing, schema)
	}
	for _, m := range migrations {
		if !have[m.id] {
			missing = append(missing, m.id)
		}
	}
	return missing, nil
}

// migrate brings the database up to date: a version check, and when
// something is missing, the migrations under the write lock.
func (s *Store) migrate() error {
	// The check reads without the lock; a database without the table
	// (fresh, or made by an older oidcd) fails it and takes the lock.
	if missing, err := s.pendingMigrations(s.rd); err == nil && len(missing) == 0 {
		return nil
	}
	err := s.db.Transaction(func(tx *gorm.DB) error {
		if s.db.Dialector.Name() == "postgres" {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec("CREATE TABLE IF NOT EXISTS " + migrationsTable +
			" (id VARCHAR(200) PRIMARY KEY, applied_at TIMESTAMP NOT NULL)").Error; err != nil {
			return err
		}
		missing, err := s.pendingMigrations(tx)
		if err != nil {
			return err
		}
		for _, id := range missing {
			if err := s.runMigration(tx, id); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			if err := tx.Exec("INSERT INTO "+migrationsTable+" (id, applied_at) VALUES (?, ?)", id, time.Now().UTC()).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("models: migrate: %w", err)
	}
	return nil
}

func (s *Store) runMigration(tx *gorm.DB, id string) error {
	if id == schemaMigrationID() {
		return tx.AutoMigrate(allModels()...)
	}
	for _, m := range migrations {
		if m.id == id {
			return m.run(s, tx)
		}
	}
	return fmt.Errorf("unknown migration")
}

// schemaMigrationID names the schema of the models this oidcd has.
func schemaMigrationID() string { return "schema " + modelsHash(allModels()) }

// modelsHash is a hash of the models' Go definitions: every field's name,
// type and tag, which is all AutoMigrate reads.
func modelsHash(models []any) string {
	h := sha256.New()
	for _, m := range models {
		t := reflect.TypeOf(m).Elem()
		fmt.Fprintf(h, "%s{", t.String())
		for i := range t.NumField() {
			f := t.Field(i)
			fmt.Fprintf(h, "%s %s %q;", f.Name, f.Type.String(), f.Tag)
		}
		fmt.Fprint(h, "}")
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
