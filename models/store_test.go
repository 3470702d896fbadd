package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"oidcd/models"
)

// fixture is a store with one user and one client.
type fixture struct {
	store  *models.Store
	user   *models.User
	client *models.Client
	now    time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	store := openStore(t)
	u := &models.User{Username: "alice", Active: true}
	if err := store.CreateUser(ctx, u, "alice password 1"); err != nil {
		t.Fatalf("create user: %v", err)
	}
	c := &models.Client{
		ClientID: models.NewID(), Name: "RP", ClientType: models.ClientConfidential, SecretHash: "x",
		ResponseTypes: []string{"code"}, RedirectURIs: []string{"https://rp.example/cb"},
		PostLogoutRedirectURIs: []string{}, Scopes: []string{"openid", "email"}, JWTAlg: "RS256",
		RequireConsent: true, ReuseConsent: true,
	}
	if err := store.CreateClient(ctx, c); err != nil {
		t.Fatalf("create client: %v", err)
	}
	return &fixture{store: store, user: u, client: c, now: time.Now()}
}

// newCode stores an unused, unexpired code and returns it.
func (f *fixture) newCode(t testing.TB) *models.Code {
	t.Helper()
	c := &models.Code{
		CodeHash: models.NewID(), ClientID: f.client.ID, UserID: f.user.ID,
		RedirectURI: "https://rp.example/cb", Scope: "openid email",
		AuthTime: f.now, ExpiresAt: f.now.Add(10 * time.Minute),
	}
	if err := f.store.CreateCode(context.Background(), c); err != nil {
		t.Fatalf("create code: %v", err)
	}
	return c
}

// newToken builds a token pair for the fixture's user and client, with
// fresh hashes; the family is set by the caller or the store.
func (f *fixture) newToken() *models.Token {
	refresh := models.NewID()
	refreshExpires := f.now.Add(24 * time.Hour)
	return &models.Token{
		AccessTokenHash: models.NewID(), RefreshTokenHash: &refresh,
		ClientID: f.client.ID, UserID: &f.user.ID, Scope: "openid email",
		AuthTime: f.now, ExpiresAt: f.now.Add(time.Hour), RefreshExpiresAt: &refreshExpires,
	}
}

func accept(*models.Code) error { return nil }

// mintFamily mints a first token with a new family, as the code grant does.
func (f *fixture) mintFamily(*models.Code) (*models.Token, error) {
	t := f.newToken()
	t.FamilyID = models.NewID()
	return t, nil
}

func acceptToken(*models.Token) error { return nil }

func (f *fixture) mintNext(*models.Token) (*models.Token, error) { return f.newToken(), nil }

// redeem exchanges code and fails the test if that does not work.
func (f *fixture) redeem(t *testing.T, code *models.Code) *models.Token {
	t.Helper()
	tok, err := f.store.RedeemCode(context.Background(), code.CodeHash, f.now, accept, f.mintFamily)
	if err != nil {
		t.Fatalf("redeem code: %v", err)
	}
	return tok
}

// rotate exchanges a refresh token and fails the test if that does not work.
func (f *fixture) rotate(t *testing.T, old *models.Token) *models.Token {
	t.Helper()
	next, err := f.store.RotateRefreshToken(context.Background(), *old.RefreshTokenHash, f.now, acceptToken, f.mintNext)
	if err != nil {
		t.Fatalf("rotate refresh token: %v", err)
	}
	return next
}

// wantActive checks whether a token's access token is still accepted.
func (f *fixture) wantActive(t *testing.T, name string, tok *models.Token, active bool) {
	t.Helper()
	_, err := f.store.ActiveAccessToken(context.Background(), tok.AccessTokenHash, f.now)
	switch {
	case active && err != nil:
		t.Errorf("%s: ActiveAccessToken: got %v, want the token", name, err)
	case !active && !errors.Is(err, models.ErrNotFound):
		t.Errorf("%s: ActiveAccessToken: got %v, want models.ErrNotFound", name, err)
	}
}

func (f *fixture) tokensOf(t *testing.T, code *models.Code) []models.Token {
	t.Helper()
	toks, err := f.store.TokensByCode(context.Background(), code.ID)
	if err != nil {
		t.Fatalf("tokens by code: %v", err)
	}
	return toks
}

// together runs fn in n goroutines that all start once every one of them
// is ready, and waits for them.
func together(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			fn(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

func TestRedeemCodeConcurrentlyHasOneWinner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code := f.newCode(t)
	const n = 20
	var mints atomic.Int32
	toks := make([]*models.Token, n)
	errs := make([]error, n)
	together(n, func(i int) {
		toks[i], errs[i] = f.store.RedeemCode(context.Background(), code.CodeHash, f.now, accept,
			func(c *models.Code) (*models.Token, error) {
				mints.Add(1)
				return f.mintFamily(c)
			})
	})
	var winner *models.Token
	reused := 0
	for i := range n {
		switch {
		case errs[i] == nil && toks[i] != nil:
			if winner != nil {
				t.Errorf("goroutine %d also redeemed the code", i)
			}
			winner = toks[i]
		case errors.Is(errs[i], models.ErrCodeReused) && toks[i] == nil:
			reused++
		default:
			t.Errorf("goroutine %d: got %v, %v; want a token or models.ErrCodeReused", i, toks[i], errs[i])
		}
	}
	if winner == nil || reused != n-1 {
		t.Fatalf("got winner %v and %d ErrCodeReused, want one winner and %d", winner != nil, reused, n-1)
	}
	if got := mints.Load(); got != 1 {
		t.Errorf("mint called %d times, want 1", got)
	}
	toksOfCode := f.tokensOf(t, code)
	if len(toksOfCode) != 1 || toksOfCode[0].ID != winner.ID {
		t.Fatalf("tokens of the code = %d rows, want exactly the winner's one", len(toksOfCode))
	}
	if *winner.CodeID != code.ID {
		t.Errorf("winner's CodeID = %d, want %d", *winner.CodeID, code.ID)
	}
	// The 19 losers were reuse: the winner's token is revoked.
	f.wantActive(t, "winner after reuse", winner, false)
	// The code is used: one more try is reuse too and mints nothing.
	if _, err := f.store.RedeemCode(context.Background(), code.CodeHash, f.now, accept, f.mintFamily); !errors.Is(err, models.ErrCodeReused) {
		t.Errorf("redeem after the race: got %v, want models.ErrCodeReused", err)
	}
}

func TestRedeemCodeRefusedLeavesCodeUnused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code := f.newCode(t)
	ctx := context.Background()
	errRefused := errors.New("refused by check")
	errMint := errors.New("mint failed")

	var sawClient, sawUser string
	var mints int
	_, err := f.store.RedeemCode(ctx, code.CodeHash, f.now,
		func(c *models.Code) error {
			sawClient, sawUser = c.Client.ClientID, c.User.Username
			return errRefused
		},
		func(c *models.Code) (*models.Token, error) { mints++; return f.mintFamily(c) })
	if !errors.Is(err, errRefused) {
		t.Fatalf("redeem with a refusing check: got %v, want the check's error", err)
	}
	if mints != 0 {
		t.Errorf("mint called %d times after check refused, want 0", mints)
	}
	if sawClient != f.client.ClientID || sawUser != "alice" {
		t.Errorf("check saw client %q, user %q; want %q, alice (preloaded)", sawClient, sawUser, f.client.ClientID)
	}

	// A failing mint rolls back the mark as well.
	if _, err := f.store.RedeemCode(ctx, code.CodeHash, f.now, accept,
		func(*models.Code) (*models.Token, error) { return nil, errMint }); !errors.Is(err, errMint) {
		t.Fatalf("redeem with a failing mint: got %v, want the mint's error", err)
	}
	if got := len(f.tokensOf(t, code)); got != 0 {
		t.Fatalf("tokens of the code after two failed redemptions = %d, want 0", got)
	}

	// The code is still unused: a good redemption works, once.
	tok := f.redeem(t, code)
	f.wantActive(t, "token of the good redemption", tok, true)
	if got := len(f.tokensOf(t, code)); got != 1 {
		t.Errorf("tokens of the code = %d, want 1", got)
	}
}

func TestRedeemCodeUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.store.RedeemCode(context.Background(), "no-such-code", f.now, accept, f.mintFamily)
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("redeem an unknown code: got %v, want models.ErrNotFound", err)
	}
}

func TestRedeemCodeReuseRevokes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code := f.newCode(t)
	other := f.redeem(t, f.newCode(t)) // another authorization, untouched by the reuse
	tok := f.redeem(t, code)
	f.wantActive(t, "token before reuse", tok, true)

	var checks int
	_, err := f.store.RedeemCode(context.Background(), code.CodeHash, f.now,
		func(*models.Code) error { checks++; return nil }, f.mintFamily)
	if !errors.Is(err, models.ErrCodeReused) {
		t.Fatalf("second redemption: got %v, want models.ErrCodeReused", err)
	}
	if checks != 0 {
		t.Errorf("check called %d times on a used code, want 0", checks)
	}
	f.wantActive(t, "token after reuse", tok, false)
	f.wantActive(t, "another code's token", other, true)
	if got := len(f.tokensOf(t, code)); got != 1 {
		t.Errorf("tokens of the code = %d, want 1 (reuse mints nothing)", got)
	}
}

// TestRedeemCodeReuseRevokesRefreshedTokens: the tokens a code issued
// include those refreshed from its first token (RFC 6749 §4.1.2).
func TestRedeemCodeReuseRevokesRefreshedTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code := f.newCode(t)
	first := f.redeem(t, code)
	second := f.rotate(t, first)
	f.wantActive(t, "refreshed token before reuse", second, true)

	if _, err := f.store.RedeemCode(context.Background(), code.CodeHash, f.now, accept, f.mintFamily); !errors.Is(err, models.ErrCodeReused) {
		t.Fatalf("second redemption: got %v, want models.ErrCodeReused", err)
	}
	f.wantActive(t, "refreshed token after the code was reused", second, false)
	_, err := f.store.RotateRefreshToken(context.Background(), *second.RefreshTokenHash, f.now, acceptToken, f.mintNext)
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("refresh with the refreshed token after code reuse: got %v, want models.ErrNotFound", err)
	}
}

func TestRotateRefreshToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	first := f.redeem(t, f.newCode(t))
	other := f.redeem(t, f.newCode(t))

	// A refusing check leaves the refresh token usable.
	errRefused := errors.New("refused by check")
	var mints int
	_, err := f.store.RotateRefreshToken(ctx, *first.RefreshTokenHash, f.now,
		func(*models.Token) error { return errRefused },
		func(old *models.Token) (*models.Token, error) { mints++; return f.mintNext(old) })
	if !errors.Is(err, errRefused) || mints != 0 {
		t.Fatalf("rotate with a refusing check: got %v and %d mints, want the check's error and 0", err, mints)
	}
	f.wantActive(t, "first after a refused rotation", first, true)

	second := f.rotate(t, first)
	if second.FamilyID != first.FamilyID {
		t.Errorf("successor family = %q, want %q", second.FamilyID, first.FamilyID)
	}
	f.wantActive(t, "first after rotation", first, false)
	f.wantActive(t, "second", second, true)
	third := f.rotate(t, second)
	f.wantActive(t, "third", third, true)

	// Presenting the rotated-out first token again is reuse: the family
	// goes, another family stays.
	_, err = f.store.RotateRefreshToken(ctx, *first.RefreshTokenHash, f.now, acceptToken, f.mintNext)
	if !errors.Is(err, models.ErrRefreshReused) {
		t.Fatalf("reuse of the first refresh token: got %v, want models.ErrRefreshReused", err)
	}
	f.wantActive(t, "third after reuse", third, false)
	f.wantActive(t, "another family", other, true)
	_, err = f.store.RotateRefreshToken(ctx, *third.RefreshTokenHash, f.now, acceptToken, f.mintNext)
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("rotate the revoked third token: got %v, want models.ErrNotFound", err)
	}
	_, err = f.store.RotateRefreshToken(ctx, "no-such-token", f.now, acceptToken, f.mintNext)
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("rotate an unknown token: got %v, want models.ErrNotFound", err)
	}
}

func TestRotateRefreshTokenConcurrentlyHasOneWinner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.redeem(t, f.newCode(t))
	const n = 20
	toks := make([]*models.Token, n)
	errs := make([]error, n)
	together(n, func(i int) {
		toks[i], errs[i] = f.store.RotateRefreshToken(context.Background(), *first.RefreshTokenHash, f.now, acceptToken, f.mintNext)
	})
	var winners, reused int
	for i := range n {
		switch {
		case errs[i] == nil && toks[i] != nil:
			winners++
		case errors.Is(errs[i], models.ErrRefreshReused):
			reused++
		default:
			t.Errorf("goroutine %d: got %v, %v; want a token or models.ErrRefreshReused", i, toks[i], errs[i])
		}
	}
	if winners != 1 || reused != n-1 {
		t.Errorf("got %d winners and %d ErrRefreshReused, want 1 and %d", winners, reused, n-1)
	}
}

func TestGrantConsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	uid, cid := f.user.ID, f.client.ID
	now := f.now
	consent := func() *models.UserConsent {
		t.Helper()
		c, err := f.store.ConsentFor(ctx, uid, cid)
		if err != nil {
			t.Fatalf("consent: %v", err)
		}
		return c
	}

	if _, err := f.store.ConsentFor(ctx, uid, cid); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("consent before any grant: got %v, want models.ErrNotFound", err)
	}
	if err := f.store.GrantConsent(ctx, uid, cid, []string{"openid", "profile"}, now, now.Add(time.Hour)); err != nil {
		t.Fatalf("grant: %v", err)
	}
	if got := consent().Scope; got != "openid profile" {
		t.Errorf("first grant scope = %q, want %q", got, "openid profile")
	}

	// Unexpired: the new scopes are added to the old ones.
	later := now.Add(30 * time.Minute)
	if err := f.store.GrantConsent(ctx, uid, cid, []string{"openid", "email"}, later, later.Add(time.Hour)); err != nil {
		t.Fatalf("second grant: %v", err)
	}
	c := consent()
	if c.Scope != "openid email profile" {
		t.Errorf("merged scope = %q, want %q", c.Scope, "openid email profile")
	}
	// PostgreSQL keeps microseconds, Go nanoseconds.
	if !sameInstant(c.ExpiresAt, later.Add(time.Hour)) || !sameInstant(c.GivenAt, later) {
		t.Errorf("given, expires = %v, %v; want %v, %v", c.GivenAt, c.ExpiresAt, later, later.Add(time.Hour))
	}
	if !c.Covers([]string{"profile", "email"}, later) {
		t.Errorf("merged consent does not cover profile and email")
	}

	// Expired: the old scopes are gone, not merged.
	muchLater := later.Add(2 * time.Hour)
	if err := f.store.GrantConsent(ctx, uid, cid, []string{"openid", "phone"}, muchLater, muchLater.Add(time.Hour)); err != nil {
		t.Fatalf("third grant: %v", err)
	}
	if got := consent().Scope; got != "openid phone" {
		t.Errorf("scope after an expired consent = %q, want %q", got, "openid phone")
	}
}

// TestGrantConsentConcurrent: first consents racing for one user and
// client (two tabs, two instances) all succeed into one row; on
// PostgreSQL a read-then-insert let one of them fail on the unique index.
func TestGrantConsentConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	scopes := []string{"openid", "profile", "email", "phone", "address"}
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.store.GrantConsent(ctx, f.user.ID, f.client.ID, []string{"openid", scopes[i%len(scopes)]}, f.now, f.now.Add(time.Hour))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent grant: %v", err)
		}
	}
	var rows int64
	if err := f.store.DB().Model(&models.UserConsent{}).Where("user_id = ? AND client_id = ?", f.user.ID, f.client.ID).Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("consent rows = %d, want 1", rows)
	}
	c, err := f.store.ConsentFor(ctx, f.user.ID, f.client.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Every grant was unexpired for the next, so all scopes are kept.
	if !c.Covers(scopes, f.now) {
		t.Errorf("scope after concurrent grants = %q, want all of %v", c.Scope, scopes)
	}
}

func TestSettingIsGeneratedOnce(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	ctx := context.Background()
	var calls int
	gen := func(v string) func() (string, error) {
		return func() (string, error) { calls++; return v, nil }
	}
	first, err := store.Setting(ctx, "k", gen("first value"))
	if err != nil || first != "first value" {
		t.Fatalf("first Setting = %q, %v; want %q", first, err, "first value")
	}
	second, err := store.Setting(ctx, "k", gen("second value"))
	if err != nil || second != "first value" {
		t.Errorf("second Setting = %q, %v; want the stored %q", second, err, "first value")
	}
	if calls != 1 {
		t.Errorf("generate called %d times, want 1", calls)
	}

	// A failing generate stores nothing; the next call generates.
	errGen := errors.New("no entropy")
	if _, err := store.Setting(ctx, "other", func() (string, error) { return "", errGen }); !errors.Is(err, errGen) {
		t.Fatalf("Setting with failing generate: got %v, want its error", err)
	}
	if v, err := store.Setting(ctx, "other", gen("now")); err != nil || v != "now" {
		t.Errorf("Setting after a failed generate = %q, %v; want %q", v, err, "now")
	}
}

func TestSettingConcurrentCallersAgree(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	const n = 10
	got := make([]string, n)
	errs := make([]error, n)
	together(n, func(i int) {
		got[i], errs[i] = store.Setting(context.Background(), "shared", func() (string, error) {
			return fmt.Sprintf("value-%d", i), nil
		})
	})
	for i := range n {
		if errs[i] != nil || got[i] != got[0] {
			t.Errorf("caller %d got %q, %v; want %q like caller 0", i, got[i], errs[i], got[0])
		}
	}
}

// TestCreateStoresFalseFlags: false is stored as false for flags whose
// usual value is true (an inactive user, a client without consent).
func TestCreateStoresFalseFlags(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	ctx := context.Background()
	u := &models.User{Username: "inactive", Active: false}
	if err := store.CreateUser(ctx, u, "inactive password"); err != nil {
		t.Fatalf("create user: %v", err)
	}
	loaded, err := store.UserByUsername(ctx, "inactive")
	if err != nil {
		t.Fatalf("load user: %v", err)
	}
	if u.Active || loaded.Active {
		t.Errorf("Active after create = %v, loaded %v; want false, false", u.Active, loaded.Active)
	}
	if err := store.CreateUser(ctx, &models.User{Username: "inactive"}, "another password"); !errors.Is(err, models.ErrConflict) {
		t.Errorf("duplicate username: got %v, want models.ErrConflict", err)
	}

	c := &models.Client{
		ClientID: models.NewID(), Name: "No consent", ClientType: models.ClientPublic,
		ResponseTypes: []string{"code"}, RedirectURIs: []string{"https://rp.example/cb"},
		PostLogoutRedirectURIs: []string{}, Scopes: []string{"openid"}, JWTAlg: "RS256",
	}
	if err := store.CreateClient(ctx, c); err != nil {
		t.Fatalf("create client: %v", err)
	}
	lc, err := store.ClientByClientID(ctx, c.ClientID)
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	if lc.RequireConsent || lc.ReuseConsent {
		t.Errorf("RequireConsent, ReuseConsent = %v, %v; want false, false", lc.RequireConsent, lc.ReuseConsent)
	}
}

// sameInstant compares times to the microsecond, the finest both databases
// store.
func sameInstant(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Microsecond && d < time.Microsecond
}
