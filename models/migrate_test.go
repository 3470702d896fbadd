package models_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm/logger"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// statementLog is a GORM logger that keeps every statement it is shown.
type statementLog struct {
	logger.Interface
	mu    sync.Mutex
	stmts []string
}

func newStatementLog() *statementLog { return &statementLog{Interface: logger.Discard} }

func (l *statementLog) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	l.mu.Lock()
	l.stmts = append(l.stmts, sql)
	l.mu.Unlock()
}

// matching returns the statements re matches.
func (l *statementLog) matching(re *regexp.Regexp) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.stmts {
		if re.MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

func (l *statementLog) all() []string { return l.matching(regexp.MustCompile(``)) }

// migrating matches what a migration runs: schema changes, writes, and
// the catalog reads of GORM's AutoMigrate.
var migrating = regexp.MustCompile(`(?i)^\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE)\b|sqlite_master|information_schema|pg_catalog|pg_advisory`)

// createUsers matches the statement that makes the users table.
var createUsers = regexp.MustCompile(`(?i)^\s*CREATE TABLE [^(]*\busers\b`)

func openLogged(t *testing.T, d modelstest.Database) (*models.Store, *statementLog) {
	t.Helper()
	log := newStatementLog()
	s, err := models.Open(d.DSN, models.Options{SecretKey: d.Key, PasswordCost: bcrypt.MinCost, SQLLogger: log})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, log
}

// TestSecondStartMigratesNothing: the first Open of a fresh database makes
// the schema; a later one finds every migration recorded and runs no
// schema or data migration statement at all, only a few reads.
func TestSecondStartMigratesNothing(t *testing.T) {
	t.Parallel()
	d := modelstest.New(t)
	first, log := openLogged(t, d)
	if len(log.matching(createUsers)) != 1 {
		t.Fatalf("the first open made the users table %d times, want once; the log would prove nothing",
			len(log.matching(createUsers)))
	}
	// A database that has served: rows in the tables a migration scans.
	ctx := context.Background()
	if err := first.CreateUser(ctx, &models.User{Username: "alice", Active: true}, "alice password 1"); err != nil {
		t.Fatal(err)
	}
	if err := first.RecordEvent(ctx, &models.Event{Kind: models.EventLoginSucceeded}); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Setting(ctx, "session_hash_key", func() (string, error) { return "v", nil }); err != nil {
		t.Fatal(err)
	}
	_ = first.Close()

	_, log = openLogged(t, d)
	if got := log.matching(migrating); len(got) != 0 {
		t.Errorf("a second open ran migration statements:\n%s", strings.Join(got, "\n"))
	}
	// The version check and the sealed values' check, and what the
	// drivers ask when connecting.
	if got := log.all(); len(got) > 6 {
		t.Errorf("a second open ran %d statements, want at most 6:\n%s", len(got), strings.Join(got, "\n"))
	}
}

// TestConcurrentStartsMigrateOnce: stores opening a fresh database at the
// same moment all come up, and the migrations ran once between them: the
// others waited on the lock and found them done.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	t.Parallel()
	d := modelstest.New(t)
	const n = 3
	logs := make([]*statementLog, n)
	errs := make([]error, n)
	stores := make([]*models.Store, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		logs[i] = newStatementLog()
		wg.Go(func() {
			<-start
			stores[i], errs[i] = models.Open(d.DSN, models.Options{SecretKey: d.Key, PasswordCost: bcrypt.MinCost, SQLLogger: logs[i]})
		})
	}
	close(start)
	wg.Wait()
	creates, recorded := 0, 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("store %d: %v", i, errs[i])
			continue
		}
		defer stores[i].Close()
		creates += len(logs[i].matching(createUsers))
		recorded += len(logs[i].matching(regexp.MustCompile(`(?i)^\s*INSERT INTO schema_migrations`)))
	}
	if creates != 1 {
		t.Errorf("the users table was made %d times, want once", creates)
	}
	if t.Failed() {
		return
	}
	var rows int64
	if err := stores[0].DB().Raw("SELECT COUNT(*) FROM schema_migrations").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if recorded != int(rows) || rows < 2 {
		t.Errorf("%d migrations recorded by the stores, %d rows in schema_migrations; want the same, at least 2", recorded, rows)
	}
	// Every store works on the one schema.
	for i, s := range stores {
		if s == nil {
			continue
		}
		if _, err := s.UserByUsername(context.Background(), "nobody"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("store %d: UserByUsername in an empty database: %v, want ErrNotFound", i, err)
		}
	}
}

// TestChangedModelsMigrateSchema: a database whose recorded schema is not
// the models' (as after an upgrade that changed a model) gets GORM's
// AutoMigrate on the next start: a dropped index comes back.
func TestChangedModelsMigrateSchema(t *testing.T) {
	t.Parallel()
	d := modelstest.New(t)
	s := d.Open(t)
	mustExec(t, s, "DROP INDEX idx_event_kind_time")
	mustExec(t, s, "DELETE FROM schema_migrations WHERE id LIKE 'schema %'")
	_ = s.Close()
	_, log := openLogged(t, d)
	if got := log.matching(regexp.MustCompile(`(?i)^\s*CREATE INDEX[^(]*idx_event_kind_time`)); len(got) != 1 {
		t.Errorf("the start after a models change made idx_event_kind_time %d times, want once", len(got))
	}
}

// TestClientGrantTypesMigration: a database made before clients had grant
// types gets the column, and its clients get DefaultGrantTypes (migration
// 4), so they use /token as before; a client created without grant types
// gets them too.
func TestClientGrantTypesMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	s := d.Open(t)
	c := &models.Client{ClientID: models.NewID(), Name: "Old RP", ClientType: models.ClientPublic,
		ResponseTypes: []string{"code"}, RedirectURIs: []string{"https://rp.example/cb"},
		PostLogoutRedirectURIs: []string{}, Scopes: []string{"openid"}, JWTAlg: "RS256"}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.GrantTypes, models.DefaultGrantTypes) {
		t.Errorf("created without grant types: %v, want %v", c.GrantTypes, models.DefaultGrantTypes)
	}
	mustExec(t, s, "ALTER TABLE clients DROP COLUMN grant_types")
	mustExec(t, s, "DELETE FROM schema_migrations WHERE id LIKE 'schema %' OR id = '4 client grant types'")
	_ = s.Close()
	s = d.Open(t)
	got, err := s.ClientByClientID(ctx, c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.GrantTypes, models.DefaultGrantTypes) {
		t.Errorf("after the migration: grant types %v, want %v", got.GrantTypes, models.DefaultGrantTypes)
	}
	for _, g := range []string{"authorization_code", "refresh_token"} {
		if !got.AllowsGrantType(g) {
			t.Errorf("a migrated client may not use %s", g)
		}
	}
	if got.AllowsGrantType("client_credentials") {
		t.Errorf("a migrated client may use client_credentials")
	}
}

// TestProfileUpdatedAtMigration: users made before profile_updated_at
// was kept get the column (NULL), and migration 5 fills it with their
// updated_at, which the updated_at claim then reports.
func TestProfileUpdatedAtMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := modelstest.New(t)
	s := d.Open(t)
	u := &models.User{Username: "old", Active: true}
	if err := s.CreateUser(ctx, u, "old password"); err != nil {
		t.Fatal(err)
	}
	was := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
	mustExec(t, s, "ALTER TABLE users DROP COLUMN profile_updated_at")
	mustExec(t, s, "ALTER TABLE users DROP COLUMN attributes")
	mustExec(t, s, "DELETE FROM schema_migrations WHERE id LIKE 'schema %' OR id = '5 profile updated at'")
	mustExec(t, s, "UPDATE users SET updated_at = ? WHERE id = ?", was, u.ID)
	_ = s.Close()
	s = d.Open(t)
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ProfileUpdatedAt.Equal(was) {
		t.Errorf("after the migration: profile_updated_at %v, want %v", got.ProfileUpdatedAt, was)
	}
	if got.Attributes != nil {
		t.Errorf("after the migration: attributes %v, want none", got.Attributes)
	}
	if c := models.StandardClaims(got); c["updated_at"] != was.Unix() {
		t.Errorf("updated_at claim %v, want %v", c["updated_at"], was.Unix())
	}
}

// TestTokensClientIndexMigration: a database an older oidcd made has an
// index on tokens.client_id alone; the start that makes (client_id, id)
// drops it (migration 7), and a new database never has it.
func TestTokensClientIndexMigration(t *testing.T) {
	t.Parallel()
	d := modelstest.New(t)
	s := d.Open(t)
	if s.DB().Migrator().HasIndex(&models.Token{}, "idx_tokens_client_id") {
		t.Fatal("a new database has idx_tokens_client_id beside idx_tokens_client_newest")
	}
	mustExec(t, s, "DROP INDEX idx_tokens_client_newest")
	mustExec(t, s, "CREATE INDEX idx_tokens_client_id ON tokens (client_id)")
	mustExec(t, s, "DELETE FROM schema_migrations WHERE id LIKE 'schema %' OR id = '7 tokens client index'")
	_ = s.Close()
	s = d.Open(t)
	m := s.DB().Migrator()
	if m.HasIndex(&models.Token{}, "idx_tokens_client_id") {
		t.Error("migration 7 left idx_tokens_client_id")
	}
	if !m.HasIndex(&models.Token{}, "idx_tokens_client_newest") {
		t.Error("the schema migration did not make idx_tokens_client_newest")
	}
}
